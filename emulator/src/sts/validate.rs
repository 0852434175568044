//! The web-identity validation pipeline, in AWS's order:
//!
//! 1. parameters (ValidationError) and the role ARN's syntax ("Request ARN is invalid");
//! 2. the token parses as a JWT ("not a valid JWT");
//! 3. an OIDC provider whose URL equals `iss` exactly ("No OpenIDConnect provider found");
//! 4. `aud` present, and `azp` (if present) or one of `aud` in the provider's client ids;
//!    `sub` present ("Missing a required claim", "Incorrect token audience");
//! 5. the signing key, found through discovery + JWKS by `kid` ("" when absent)
//!    ("Couldn't retrieve verification key ...");
//! 6. the thumbprint, only for issuers served through a CA AWS does not already trust;
//! 7. the signature;
//! 8. `exp` with 5 minutes of tolerance (ExpiredTokenException), integer timestamps;
//! 9. the optional `https://aws.amazon.com/roles` claim, the role, DurationSeconds vs the
//!    role's MaxSessionDuration, and the trust policy (AccessDenied).
//!
//! Steps 2-8 follow the order the spec and users' reports show AWS answering in (e.g. an
//! audience mismatch is reported even when the keys are unreachable).

use serde_json::Value;

use super::errors::StsError;
use super::params::AssumeRoleWithWebIdentityInput;
use crate::iam::{Iam, OidcProvider, Role, WebIdentityContext, parse_role_arn};
use crate::jwt::{self, UnverifiedToken};
use crate::oidc::{JwksCache, ServedBy};

/// Clock skew AWS tolerates on `exp`.
pub const EXP_TOLERANCE_SECONDS: i64 = 300;
const ROLES_CLAIM: &str = "https://aws.amazon.com/roles";
const TAGS_CLAIM: &str = "https://aws.amazon.com/tags";

/// A token that passed every check, and what the response needs from it.
#[derive(Debug, Clone)]
pub struct ValidatedWebIdentity {
    pub provider: OidcProvider,
    pub role: Role,
    /// The client id that matched (`azp` or one of `aud`): the response's `Audience`.
    pub audience: String,
    pub subject: String,
    pub duration_seconds: u32,
    pub warnings: Vec<String>,
}

fn claim_error(e: jwt::ClaimError) -> StsError {
    StsError::NotAJwt {
        detail: e.to_string(),
    }
}

/// Runs the pipeline for already-validated parameters at time `now` (Unix seconds).
pub async fn validate(
    input: &AssumeRoleWithWebIdentityInput,
    iam: &Iam,
    keys: &JwksCache,
    now: i64,
) -> Result<ValidatedWebIdentity, StsError> {
    if parse_role_arn(&input.role_arn).is_none() {
        return Err(StsError::ValidationMessage("Request ARN is invalid".into()));
    }
    let token = jwt::parse(&input.web_identity_token).map_err(|e| StsError::NotAJwt {
        detail: e.to_string(),
    })?;

    let iss = token
        .string_claim("iss")
        .map_err(claim_error)?
        .ok_or(StsError::MissingClaim("iss"))?
        .to_owned();
    let provider = iam
        .provider_for_issuer(&iss)
        .ok_or_else(|| StsError::NoProvider { iss: iss.clone() })?;

    let audiences = token.audiences().map_err(claim_error)?;
    if audiences.is_empty() {
        return Err(StsError::MissingClaim("aud"));
    }
    let azp = token.string_claim("azp").map_err(claim_error)?;
    let audience = match azp {
        Some(azp) => provider.client_ids.iter().find(|c| c.as_str() == azp),
        None => provider
            .client_ids
            .iter()
            .find(|c| audiences.contains(&c.as_str())),
    }
    .cloned()
    .ok_or_else(|| StsError::IncorrectAudience {
        detail: format!(
            "token {} {:?}, provider {} accepts client ids {:?}",
            if azp.is_some() { "azp" } else { "aud" },
            azp.map(|a| vec![a]).unwrap_or(audiences.clone()),
            provider.arn,
            provider.client_ids
        ),
    })?;
    let subject = token
        .string_claim("sub")
        .map_err(claim_error)?
        .ok_or(StsError::MissingClaim("sub"))?
        .to_owned();

    let kid = token.header.kid.clone().unwrap_or_default();
    let found = keys
        .key_for(&iss, &kid)
        .await
        .map_err(|e| StsError::KeyRetrieval {
            detail: e.to_string(),
        })?;
    if let ServedBy::CustomCa { sha1_thumbprint } = &found.served_by
        && !provider.thumbprints.is_empty()
        && !provider
            .thumbprints
            .iter()
            .any(|t| t.eq_ignore_ascii_case(sha1_thumbprint))
    {
        return Err(StsError::Thumbprint {
            detail: format!(
                "issuer CA thumbprint {sha1_thumbprint}, provider lists {:?}",
                provider.thumbprints
            ),
        });
    }
    jwt::verify_signature(&token, &found.jwk).map_err(|e| StsError::Unverifiable {
        detail: e.to_string(),
    })?;

    check_times(&token, now)?;
    let role = authorize(input, iam, &provider, &token, &audiences, &subject)?;
    let duration_seconds = input.duration_seconds.unwrap_or(3600);
    if duration_seconds > role.max_session_duration {
        return Err(StsError::ValidationMessage(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .into(),
        ));
    }
    Ok(ValidatedWebIdentity {
        provider,
        role,
        audience,
        subject,
        duration_seconds,
        warnings: found.warnings,
    })
}

fn check_times(token: &UnverifiedToken, now: i64) -> Result<(), StsError> {
    let exp = token
        .numeric_date("exp")
        .map_err(claim_error)?
        .ok_or(StsError::MissingClaim("exp"))?;
    // Saturating: `exp` comes from the token and may be anything up to i64::MAX (far
    // future, not expired) or down to i64::MIN (expired).
    if now >= exp.saturating_add(EXP_TOLERANCE_SECONDS) {
        return Err(StsError::ExpiredWebIdentity { now, exp });
    }
    // Not-before and issued-at must be integers too; a token from the future (beyond the
    // same tolerance) cannot be validated yet.
    for claim in ["nbf", "iat"] {
        if let Some(t) = token.numeric_date(claim).map_err(claim_error)?
            && t > now.saturating_add(EXP_TOLERANCE_SECONDS)
        {
            return Err(StsError::Unverifiable {
                detail: format!("{claim} {t} is in the future (now {now})"),
            });
        }
    }
    Ok(())
}

fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => Some(Vec::new()),
    }
}

/// What the role's trust policy is evaluated against for `token`: the actions asked
/// for and the claim values of the condition keys `<provider_url>:aud|sub|oaud|azp|amr`.
/// `provider_url` is the provider's URL without `https://`; `audiences` and `subject` are
/// the token's `aud` (as a list) and `sub`. Public so that offline diagnosis evaluates
/// a customer's trust policy exactly as STS does.
pub fn trust_context(
    provider_arn: &str,
    provider_url: &str,
    token: &UnverifiedToken,
    audiences: &[&str],
    subject: &str,
) -> WebIdentityContext {
    let mut actions = vec!["sts:AssumeRoleWithWebIdentity".to_owned()];
    if token.claims.contains_key(TAGS_CLAIM) {
        actions.push("sts:TagSession".to_owned());
    }
    let azp = token.claims.get("azp").and_then(Value::as_str);
    let aud: Vec<String> = audiences.iter().map(|a| a.to_string()).collect();
    let mut claims = vec![
        // IAM's `:aud` key carries `azp` when the token has one, else `aud`.
        (
            "aud".to_owned(),
            azp.map(|a| vec![a.to_owned()])
                .unwrap_or_else(|| aud.clone()),
        ),
        ("sub".to_owned(), vec![subject.to_owned()]),
        ("oaud".to_owned(), aud),
    ];
    if let Some(azp) = azp {
        claims.push(("azp".to_owned(), vec![azp.to_owned()]));
    }
    if let Some(amr) = string_list(token.claims.get("amr")) {
        claims.push(("amr".to_owned(), amr));
    }
    WebIdentityContext {
        provider_arn: provider_arn.to_owned(),
        provider_key: provider_url.to_owned(),
        actions,
        claims,
    }
}

fn authorize(
    input: &AssumeRoleWithWebIdentityInput,
    iam: &Iam,
    provider: &OidcProvider,
    token: &UnverifiedToken,
    audiences: &[&str],
    subject: &str,
) -> Result<Role, StsError> {
    let denied = |detail: String| StsError::AccessDenied { detail };
    if let Some(allowed) = string_list(token.claims.get(ROLES_CLAIM))
        && !allowed.iter().any(|r| r == &input.role_arn)
    {
        return Err(denied(format!(
            "the token's {ROLES_CLAIM} claim {allowed:?} does not list {}",
            input.role_arn
        )));
    }
    let role = iam.role_by_arn(&input.role_arn).ok_or_else(|| {
        denied(format!(
            "no role {} in account {}",
            input.role_arn,
            iam.account_id()
        ))
    })?;
    let ctx = trust_context(&provider.arn, &provider.url, token, audiences, subject);
    let decision = role.trust_policy.evaluate(&ctx);
    if decision.allowed {
        Ok(role)
    } else {
        Err(denied(format!(
            "trust policy of {}: {}",
            role.arn, decision.reason
        )))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn times(claims: Value, now: i64) -> Result<(), StsError> {
        let token = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        check_times(&jwt::parse(&token).unwrap(), now)
    }

    #[test]
    fn exp_saturates_at_both_ends() {
        assert_eq!(times(json!({"exp": i64::MAX}), NOW), Ok(()));
        assert_eq!(
            times(json!({"exp": i64::MAX}), i64::MAX),
            Err(StsError::ExpiredWebIdentity {
                now: i64::MAX,
                exp: i64::MAX
            })
        );
        assert_eq!(
            times(json!({"exp": i64::MIN}), NOW),
            Err(StsError::ExpiredWebIdentity {
                now: NOW,
                exp: i64::MIN
            })
        );
        assert_eq!(
            times(json!({"exp": -1}), NOW),
            Err(StsError::ExpiredWebIdentity { now: NOW, exp: -1 })
        );
    }

    #[test]
    fn nbf_and_iat_at_the_extremes_never_overflow() {
        for claim in ["nbf", "iat"] {
            let far = json!({"exp": i64::MAX, claim: i64::MAX});
            assert!(
                matches!(times(far.clone(), NOW), Err(StsError::Unverifiable { .. })),
                "{claim}"
            );
            // Near the end of time the tolerance saturates instead of wrapping.
            assert_eq!(times(far, i64::MAX - 100), Ok(()), "{claim}");
            assert_eq!(
                times(json!({"exp": i64::MAX, claim: i64::MIN}), NOW),
                Ok(()),
                "{claim}"
            );
        }
    }

    #[test]
    fn timestamps_that_are_no_64_bit_integer_are_not_a_jwt() {
        for exp in [
            json!(1.5),
            json!(1e10),
            json!(u64::MAX),
            json!(1e300),
            json!("1700000000"),
        ] {
            assert!(
                matches!(
                    times(json!({"exp": exp}), NOW),
                    Err(StsError::NotAJwt { .. })
                ),
                "{exp}"
            );
        }
    }
}
