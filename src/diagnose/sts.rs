//! STS's checks of AssumeRoleWithWebIdentity, in AWS's order (see
//! `irsa_emulator::sts` for the pipeline they mirror), made with the emulator's own
//! parsing, key lookup, signature verification and trust-policy evaluation.

use irsa_emulator::iam::parse_role_arn;
use irsa_emulator::issuer::Jwk;
use irsa_emulator::jwt::{JwsAlgorithm, verify_signature};
use irsa_emulator::sts::{EXP_TOLERANCE_SECONDS, NOT_A_JWT_MESSAGE, trust_context};
use serde_json::Value;

use super::check::{Check, Checks, Group};
use super::context::{Context, host_of, is_cdn_host, is_s3_host, looks_like_apiserver};
use super::inputs::string_list;
use crate::scenario::expect::glob_matches;

const G: Group = Group::Sts;
const ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// Appends STS's checks to `checks`.
pub fn check(cx: &Context, checks: &mut Checks) {
    checks.push(role_arn(cx));
    checks.push(parses(cx));
    checks.push(issuer(cx));
    checks.push(provider_url_form(cx));
    checks.push(provider_matches(cx));
    checks.push(audience(cx));
    checks.push(subject(cx));
    checks.push(discovery(cx));
    checks.push(discovery_issuer(cx));
    checks.push(jwks_uri(cx));
    let (kid_check, jwk) = kid_lookup(cx);
    checks.push(kid_check);
    checks.push(public_read(cx));
    checks.push(thumbprint(cx));
    checks.push(signature(cx, jwk.as_ref()));
    checks.push(expiry(cx));
    checks.push(not_before(cx));
    checks.push(trust_principal(cx));
    checks.push(trust_action(cx));
    checks.push(trust_conditions(cx));
    checks.push(max_session(cx));
    checks.push(propagation(cx));
}

fn role_arn(cx: &Context) -> Check {
    let c = Check::named("sts.role-arn", G, "RoleArn is a role ARN");
    let Some((arn, from)) = &cx.role_arn else {
        return c.unknown("no role ARN given (--role-arn, the pod's AWS_ROLE_ARN, the ServiceAccount's role-arn annotation or --role)");
    };
    if parse_role_arn(arn).is_none() {
        return c.fail(
            format!("{arn:?} (from {from}) is not a role ARN: STS answers ValidationError \"Request ARN is invalid\""),
            "use the role's ARN, arn:aws:iam::<account>:role/<name> (not the OIDC provider's ARN)",
        );
    }
    if let Some(role) = &cx.inputs.role
        && &role.arn != arn
    {
        return c.fail(
            format!(
                "the SDK asks for {arn} (from {from}) but the role you pasted is {}",
                role.arn
            ),
            "annotate the ServiceAccount with the ARN of the role whose trust policy you set up",
        );
    }
    c.pass(format!("{arn} (from {from})"))
}

fn parses(cx: &Context) -> Check {
    let c = Check::named("sts.jwt", G, "the token is a JWT");
    let token = &cx.inputs.token;
    match &token.token {
        Ok(t) if token.signed => c.pass(format!("alg {}, kid {}", t.header.alg, kid_text(token.kid()))),
        Ok(t) => c.pass(format!(
            "decoded header and claims given (alg {}, kid {}); the signature cannot be checked",
            t.header.alg,
            kid_text(token.kid())
        )),
        Err(why) => c.fail(
            format!("STS answers InvalidIdentityToken \"{NOT_A_JWT_MESSAGE}\": {why}"),
            "send the projected token file's content unchanged (three base64url parts, no padding, no newline inside)",
        ),
    }
}

fn kid_text(kid: Option<&str>) -> String {
    match kid {
        None => "absent (an apiserver before 1.16)".to_owned(),
        Some("") => "\"\"".to_owned(),
        Some(k) => format!("{k:?}"),
    }
}

fn issuer(cx: &Context) -> Check {
    let c = Check::named("sts.iss", G, "the token names its issuer (iss)");
    match cx.inputs.token.claims.get("iss") {
        Some(Value::String(iss)) => c.pass(iss.clone()),
        Some(other) => c.fail(
            format!("iss is {other}, not a string"),
            "the apiserver's --service-account-issuer must be an https URL",
        ),
        None => c.fail(
            "no iss claim: STS answers \"Missing a required claim: iss\" (a legacy Secret token?)",
            "use a projected token (serviceAccountToken volume), not a legacy Secret token",
        ),
    }
}

fn provider_url_form(cx: &Context) -> Check {
    let c = Check::named("sts.provider-url", G, "the provider URL is one IAM accepts");
    let Some(url) = cx.provider_url() else {
        return c.unknown("no provider given (aws iam get-open-id-connect-provider)");
    };
    let host = url
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or("");
    if host.contains(':') {
        return c.fail(
            format!("{url} has a port: IAM refuses it and STS never fetches from a port"),
            "serve the issuer on 443 and use the URL without a port everywhere",
        );
    }
    if url.ends_with('/') {
        return c.warn(
            format!("{url} ends with a slash: it only matches tokens whose iss ends with one"),
            "prefer the issuer without a trailing slash (apiserver flag, provider, discovery document)",
        );
    }
    c.pass(url)
}

fn provider_matches(cx: &Context) -> Check {
    let c = Check::named(
        "sts.provider",
        G,
        "an IAM OIDC provider's URL equals iss, byte for byte",
    );
    let Some(iss) = cx.iss() else {
        return c.unknown("no iss to look up");
    };
    let Some(provider) = &cx.inputs.provider else {
        return c.unknown(format!(
            "no provider given: STS looks for one whose URL is exactly {iss} (aws iam get-open-id-connect-provider --open-id-connect-provider-arn {})",
            cx.provider_arn_for(iss).unwrap_or_else(|| "arn:aws:iam::<account>:oidc-provider/<issuer without https://>".into())
        ));
    };
    let fix = format!(
        "aws iam create-open-id-connect-provider --url {iss} --client-id-list {}",
        cx.inputs
            .token
            .audiences()
            .first()
            .map_or("sts.amazonaws.com", String::as_str)
    );
    let Some(found) = &provider.found else {
        return c.fail(
            format!(
                "IAM has no such provider (NoSuchEntity): STS answers \"No OpenIDConnect provider found in your account for {iss}\""
            ),
            fix,
        );
    };
    let url = format!("https://{}", found.url);
    if url == iss {
        return c.pass(format!(
            "{url}{}",
            cx.provider_arn()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default()
        ));
    }
    if url.trim_end_matches('/') == iss.trim_end_matches('/') {
        return c.fail(
            format!(
                "the provider is {url} but the token's iss is {iss}: they differ by a trailing slash, a different provider for STS"
            ),
            "the issuer without a trailing slash everywhere: --service-account-issuer, the provider URL, the discovery document's issuer",
        );
    }
    c.fail(
        format!("the provider you pasted is for {url}, the token's iss is {iss}"),
        fix,
    )
}

fn audience(cx: &Context) -> Check {
    let c = Check::named(
        "sts.audience",
        G,
        "aud (or azp) is one of the provider's client ids",
    );
    let token = &cx.inputs.token;
    let audiences = token.audiences();
    if audiences.is_empty() {
        return c.fail(
            "no aud claim: STS answers \"Missing a required claim: aud\"",
            "project the token with an audience (the webhook's --token-audience, default sts.amazonaws.com)",
        );
    }
    let Some(provider) = cx.provider() else {
        return c.unknown(format!(
            "aud {audiences:?}; no provider given to compare with its client ids"
        ));
    };
    let azp = token.claim_str("azp");
    let matched = match azp {
        Some(azp) => provider.client_ids.iter().any(|c| c == azp),
        None => provider.client_ids.iter().any(|c| audiences.contains(c)),
    };
    if matched {
        return c.pass(format!(
            "aud {audiences:?} in client ids {:?}",
            provider.client_ids
        ));
    }
    let typo = provider.client_ids.iter().any(|c| c == "sts.amazon.com");
    c.fail(
        format!(
            "STS answers \"Incorrect token audience\": token {} {:?}, the provider's client ids {:?}{}",
            if azp.is_some() { "azp" } else { "aud" },
            azp.map(|a| vec![a.to_owned()]).unwrap_or(audiences.clone()),
            provider.client_ids,
            if typo { " (sts.amazon.com is a typo of sts.amazonaws.com)" } else { "" }
        ),
        format!(
            "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {} --client-id {}",
            cx.provider_arn().unwrap_or_else(|| "<provider ARN>".into()),
            audiences[0]
        ),
    )
}

fn subject(cx: &Context) -> Check {
    let c = Check::named("sts.sub", G, "the token has a subject (sub)");
    match cx.inputs.token.claim_str("sub") {
        Some(sub) => c.pass(sub),
        None => c.fail(
            "no sub claim: STS answers \"Missing a required claim: sub\"",
            "use a service-account token from the apiserver",
        ),
    }
}

fn discovery(cx: &Context) -> Check {
    let c = Check::named(
        "sts.discovery",
        G,
        "the discovery document has issuer and jwks_uri",
    );
    let where_ = cx
        .iss()
        .map(|i| {
            format!(
                "{}/.well-known/openid-configuration",
                i.trim_end_matches('/')
            )
        })
        .unwrap_or_default();
    let Some((path, doc)) = &cx.inputs.discovery else {
        return c.unknown(format!(
            "not given: STS fetches {where_} (curl it, anonymously)"
        ));
    };
    for field in ["issuer", "jwks_uri"] {
        match doc.get(field) {
            Some(Value::String(_)) => {}
            _ => {
                return c.fail(
                    format!("{} has no string {field:?}: STS cannot find the keys (\"Couldn't retrieve verification key...\")", path.display()),
                    "publish the document the apiserver serves at /.well-known/openid-configuration",
                );
            }
        }
    }
    c.pass(format!("{} (STS reads it at {where_})", path.display()))
}

fn discovery_issuer(cx: &Context) -> Check {
    let c = Check::named(
        "sts.discovery-issuer",
        G,
        "the discovery document's issuer equals iss",
    );
    let (Some(iss), Some(field)) = (cx.iss(), cx.discovery_str("issuer")) else {
        return c.unknown("needs the token's iss and the discovery document");
    };
    if field == iss {
        return c.pass(field);
    }
    let slash = field.trim_end_matches('/') == iss.trim_end_matches('/');
    c.warn(
        format!(
            "the document says {field:?}, the token {iss:?}{}: AWS does not document comparing them (irsa-lab accepts it, a strict verifier refuses)",
            if slash { " (a trailing slash, as the old upstream guide wrote it)" } else { "" }
        ),
        "write the issuer exactly as --service-account-issuer says it",
    )
}

fn jwks_uri(cx: &Context) -> Check {
    let c = Check::named("sts.jwks-uri", G, "jwks_uri is an https URL STS can reach");
    let Some(uri) = cx.discovery_str("jwks_uri") else {
        return c.unknown("needs the discovery document");
    };
    if !uri.starts_with("https://") {
        return c.fail(
            format!("jwks_uri {uri} is not https: STS fetches only https"),
            "publish the JWKS at an https URL (the bucket: <issuer>/keys.json)",
        );
    }
    let host = host_of(&uri).unwrap_or_default();
    let iss_host = cx.iss().and_then(host_of).unwrap_or_default();
    if looks_like_apiserver(&uri) {
        return c.fail(
            format!(
                "jwks_uri {uri} is an apiserver address (the apiserver's own discovery document, without --service-account-jwks-uri): STS cannot reach it from the internet"
            ),
            format!(
                "restart the apiserver with --service-account-jwks-uri={}/openid/v1/jwks (or <issuer>/keys.json) and publish the discovery document again",
                cx.iss().unwrap_or("<issuer>").trim_end_matches('/')
            ),
        );
    }
    if host != iss_host {
        return c.warn(
            format!(
                "jwks_uri is on {host}, the issuer on {iss_host}: STS must reach both anonymously"
            ),
            "keep the JWKS beside the discovery document",
        );
    }
    c.pass(uri)
}

fn kid_lookup(cx: &Context) -> (Check, Option<Jwk>) {
    let c = Check::named("sts.kid", G, "the JWKS has a key with the token's kid");
    let token = &cx.inputs.token;
    let Some((path, set)) = &cx.inputs.jwks else {
        return (
            c.unknown("no JWKS given: STS looks the key up by kid in the document jwks_uri names"),
            None,
        );
    };
    // AWS's rule: a token without kid is looked up as kid "", which only a JWK whose kid
    // is "" matches (JwkSet::find).
    let kid = token.kid().unwrap_or_default();
    if let Some(jwk) = set.find(kid).next() {
        return (
            c.pass(format!(
                "kid {} in {}",
                kid_text(token.kid()),
                path.display()
            )),
            Some(jwk.clone()),
        );
    }
    let published: Vec<String> = set
        .keys
        .iter()
        .map(|k| match &k.kid {
            Some(k) => format!("{k:?}"),
            None => "<no kid member>".to_owned(),
        })
        .collect();
    let without_kid = set.keys.iter().any(|k| k.kid.is_none());
    let check = if token.kid().is_none_or(str::is_empty) {
        c.fail(
            format!(
                "the token has no kid (an apiserver before 1.16); STS looks it up as kid \"\" and the JWKS lists {}",
                published.join(", ")
            ),
            "publish the key a second time with \"kid\": \"\" (irsa-lab keys jwks --with-empty-kid), or upgrade the apiserver to 1.16+",
        )
    } else if without_kid && set.keys.iter().all(|k| k.kid.is_none()) {
        c.fail(
            format!("no key in the JWKS has a kid member, so none can match kid {kid:?} (the old Go helper dropped it)"),
            "regenerate keys.json with the kid (irsa-lab keys jwks sa-signer-pkcs8.pub)",
        )
    } else {
        c.fail(
            format!(
                "kid {kid:?} is not in the JWKS (it lists {}): the signing key changed before the JWKS was republished, or its key was removed while its tokens live{}",
                published.join(", "),
                if cx.cdn { "; or the CDN in front of the bucket still serves an old copy" } else { "" }
            ),
            if cx.cdn {
                "publish a JWKS listing every key that signs or signed live tokens, then invalidate the CDN (aws cloudfront create-invalidation --paths \"/*\")"
            } else {
                "publish a JWKS listing every key that signs or signed live tokens (old and new), before switching --service-account-signing-key-file"
            },
        )
    };
    (check, None)
}

fn public_read(cx: &Context) -> Check {
    let c = Check::named(
        "sts.public-read",
        G,
        "both documents are publicly readable, fast",
    );
    let Some(iss) = cx.iss() else {
        return c.unknown("no iss");
    };
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        iss.trim_end_matches('/')
    );
    let jwks = cx
        .discovery_str("jwks_uri")
        .unwrap_or_else(|| "<jwks_uri>".into());
    let hint = if cx.s3 {
        " (S3: the objects need --acl public-read, or, on buckets with ACLs disabled, a bucket policy granting s3:GetObject to \"*\")"
    } else if cx.cdn {
        " (CDN: its origin must let it read the bucket, and the cached copies must be current)"
    } else {
        ""
    };
    if cx.error_mentions("does not allow ACLs")
        || cx.error_mentions("AccessControlListNotSupported")
    {
        return c.fail(
            format!("S3 refused the --acl public-read upload (AccessControlListNotSupported): the documents at {discovery} and {jwks} are not public"),
            "a bucket policy granting s3:GetObject to \"*\" on both objects (the bucket's Block Public Access must allow public policies)",
        );
    }
    c.unknown(format!(
        "cannot be checked offline: STS reads {discovery} and {jwks} anonymously over HTTPS and gives up after 5 s{hint}; check with curl -sf from outside your network"
    ))
}

fn thumbprint(cx: &Context) -> Check {
    let c = Check::named(
        "sts.thumbprint",
        G,
        "the provider's thumbprints, where AWS checks them",
    );
    let Some(host) = cx
        .discovery_str("jwks_uri")
        .and_then(|u| host_of(&u))
        .or_else(|| cx.iss().and_then(host_of))
    else {
        return c.unknown("no issuer host");
    };
    let trusted_ca = is_s3_host(&host) || is_cdn_host(&host);
    if !trusted_ca && cx.error_mentions("doesn't match configured thumbprint") {
        return c.fail(
            format!(
                "STS says the CA of {host} is not among the provider's thumbprints {:?}",
                cx.provider().map(|p| p.thumbprints.clone()).unwrap_or_default()
            ),
            format!(
                "aws iam update-open-id-connect-provider-thumbprint with the SHA-1 of the CA: openssl s_client -connect {host}:443 -showcerts </dev/null | openssl x509 -fingerprint -sha1 -noout"
            ),
        );
    }
    if trusted_ca {
        return c.pass(format!(
            "{host} has a certificate from a CA AWS trusts: thumbprints are ignored (since July 2023)"
        ));
    }
    let Some(provider) = cx.provider() else {
        return c.unknown(format!(
            "{host} may chain to a CA AWS does not trust; no provider given"
        ));
    };
    if provider.thumbprints.is_empty() {
        return c.warn(
            format!("{host} may chain to a CA AWS does not trust, and the provider lists no thumbprint"),
            format!("aws iam update-open-id-connect-provider-thumbprint with the SHA-1 of the CA: openssl s_client -connect {host}:443 -showcerts </dev/null | openssl x509 -fingerprint -sha1 -noout"),
        );
    }
    c.unknown(format!(
        "{host}: if its CA is not one AWS trusts, STS compares the CA's SHA-1 with {:?}, which cannot be computed offline",
        provider.thumbprints
    ))
}

fn signature(cx: &Context, jwk: Option<&Jwk>) -> Check {
    let c = Check::named("sts.signature", G, "the signature verifies with that key");
    let token = &cx.inputs.token;
    let Ok(parsed) = &token.token else {
        return c.unknown("the token does not parse");
    };
    if parsed.header.alg.parse::<JwsAlgorithm>().is_err() {
        return c.fail(
            format!(
                "alg {:?} is not one STS accepts (RS256/384/512, ES256/384/512)",
                parsed.header.alg
            ),
            "sign with an RSA or ECDSA key (kube-apiserver does)",
        );
    }
    if !token.signed {
        return c.unknown("only the decoded header and claims were given");
    }
    let Some(jwk) = jwk else {
        return c.unknown("no key to verify with (see the kid lookup)");
    };
    match verify_signature(parsed, jwk) {
        Ok(()) => c.pass("verified with the published key"),
        Err(e) => c.fail(
            format!("{e}: the published key with this kid is not the one that signed (STS: \"could not be validated\")"),
            "publish the public half of --service-account-signing-key-file under this kid",
        ),
    }
}

fn expiry(cx: &Context) -> Check {
    let c = Check::named("sts.exp", G, "not expired (exp, 5 minutes of tolerance)");
    let token = &cx.inputs.token;
    let Some(exp) = token.claims.get("exp") else {
        return c.fail(
            "no exp claim",
            "use a projected token (legacy Secret tokens have no exp)",
        );
    };
    let Some(exp) = exp.as_i64() else {
        return c.fail(
            format!("exp {exp} is not an integer: \"not a valid JWT\""),
            "timestamps must be integer seconds",
        );
    };
    let at = cx.at;
    if at >= exp.saturating_add(EXP_TOLERANCE_SECONDS) && cx.at_is_now {
        // Nothing said when the failure happened: a token pasted a day later has expired
        // since, which proves nothing about the failure.
        return c.warn(
            format!("the token has expired by now ({} s ago); whether it had when the error happened is unknown", at - exp),
            "say when the error happened (--at, at.txt), or paste the error text",
        );
    }
    if at >= exp.saturating_add(EXP_TOLERANCE_SECONDS) {
        return c.fail(
            format!(
                "at {} the token had expired for {} s: STS answers ExpiredTokenException \"Token expired: current date/time {at} must be before the expiration date/time {exp}\"",
                cx.at_source,
                at - exp
            ),
            "read the token file again on every refresh (the kubelet rewrites it at 80 % of its lifetime); never cache the token",
        );
    }
    if at >= exp {
        return c.warn(
            format!(
                "expired {} s before {}, within STS's 5-minute tolerance",
                at - exp,
                cx.at_source
            ),
            "read the token file again on every refresh",
        );
    }
    c.pass(format!("expires {} s after {}", exp - at, cx.at_source))
}

fn not_before(cx: &Context) -> Check {
    let c = Check::named(
        "sts.iat-nbf",
        G,
        "iat and nbf are not in the future (5 minutes of tolerance)",
    );
    let token = &cx.inputs.token;
    let at = cx.at;
    for claim in ["nbf", "iat"] {
        if let Some(t) = token.claim_i64(claim)
            && t > at.saturating_add(EXP_TOLERANCE_SECONDS)
        {
            return c.fail(
                format!(
                    "{claim} {t} is {} s after {}: the apiserver's clock runs ahead (STS: \"could not be validated\")",
                    t - at,
                    cx.at_source
                ),
                "synchronise the control plane's clock (NTP)",
            );
        }
    }
    match token.claim_i64("iat") {
        Some(iat) if iat > at => c.warn(
            format!(
                "iat is {} s after {}, within the tolerance",
                iat - at,
                cx.at_source
            ),
            "synchronise the control plane's clock (NTP)",
        ),
        Some(iat) => c.pass(format!("issued {} s before {}", at - iat, cx.at_source)),
        None => c.pass("no iat"),
    }
}

/// The statements of the trust policy, as JSON objects.
fn statements(policy: &Value) -> Vec<&serde_json::Map<String, Value>> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => vec![o],
        _ => Vec::new(),
    }
}

/// The values of one member (`pick`) of every Allow statement, strings or lists of them.
fn allowed(
    policy: &Value,
    pick: impl Fn(&serde_json::Map<String, Value>) -> Option<&Value>,
) -> Vec<String> {
    statements(policy)
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .flat_map(|s| string_list(pick(s)))
        .collect()
}

fn trust_principal(cx: &Context) -> Check {
    let c = Check::named(
        "sts.trust-principal",
        G,
        "the trust policy's Principal.Federated is the provider's ARN",
    );
    let Some(role) = &cx.inputs.role else {
        return c.unknown("no role given (aws iam get-role)");
    };
    let Some(arn) = cx.provider_arn() else {
        return c.unknown("the provider's ARN is unknown (needs the token's iss and the account)");
    };
    let federated = allowed(&role.trust_policy, |s| {
        s.get("Principal").and_then(|p| p.get("Federated"))
    });
    if federated.iter().any(|f| f == &arn) {
        return c.pass(arn);
    }
    let bare = federated.iter().find(|f| !f.starts_with("arn:"));
    c.fail(
        match bare {
            Some(f) => format!("Principal.Federated is {f:?}, without the arn:aws:iam::<account>:oidc-provider/ prefix; STS matched {arn}"),
            None => format!("Principal.Federated {federated:?} does not name {arn}"),
        },
        format!("aws iam update-assume-role-policy with \"Principal\": {{\"Federated\": \"{arn}\"}}"),
    )
}

fn trust_action(cx: &Context) -> Check {
    let c = Check::named(
        "sts.trust-action",
        G,
        "the trust policy allows sts:AssumeRoleWithWebIdentity",
    );
    let Some(role) = &cx.inputs.role else {
        return c.unknown("no role given");
    };
    let actions = allowed(&role.trust_policy, |s| s.get("Action"));
    // IAM matches actions case-insensitively, with `*` and `?` wildcards.
    let listed = actions
        .iter()
        .any(|a| glob_matches(&a.to_ascii_lowercase(), &ACTION.to_ascii_lowercase()));
    if listed {
        c.pass(format!("Action {actions:?}"))
    } else {
        c.fail(
            format!(
                "Action {actions:?} does not include {ACTION} (sts:AssumeRole is another action)"
            ),
            format!("\"Action\": \"{ACTION}\""),
        )
    }
}

fn trust_conditions(cx: &Context) -> Check {
    let c = Check::named(
        "sts.trust-conditions",
        G,
        "the trust policy admits this token (conditions on :sub, :aud, :amr)",
    );
    let Some(role) = &cx.inputs.role else {
        return c.unknown("no role given");
    };
    let policy = match &role.policy {
        Ok(p) => p,
        Err(e) => {
            return c.fail(
                format!("IAM would refuse the trust policy: {e}"),
                "fix the policy document",
            );
        }
    };
    let (Some(arn), Some(iss), Ok(token)) = (cx.provider_arn(), cx.iss(), &cx.inputs.token.token)
    else {
        return c.unknown("needs the token's iss, the account and a parsable token");
    };
    let audiences = cx.inputs.token.audiences();
    let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
    let subject = cx.inputs.token.claim_str("sub").unwrap_or_default();
    let key = iss.trim_start_matches("https://");
    let context = trust_context(&arn, key, token, &audiences, subject);
    let decision = policy.evaluate(&context);
    if decision.allowed {
        return c.pass(format!("allowed for sub {subject:?}, aud {audiences:?}"));
    }
    // Condition keys of another provider (two clusters' keys in one block) never exist in
    // this request: say so, it is the classic mix-up.
    let foreign: Vec<String> = statements(&role.trust_policy)
        .iter()
        .filter_map(|s| s.get("Condition").and_then(Value::as_object))
        .flat_map(|block| {
            block
                .values()
                .filter_map(Value::as_object)
                .flat_map(|m| m.keys().cloned())
        })
        .filter(|k| {
            k.rsplit_once(':').is_some_and(|(prefix, _)| {
                !prefix.eq_ignore_ascii_case(key) && prefix.contains('.')
            })
        })
        .collect();
    let extra = if foreign.is_empty() {
        String::new()
    } else {
        format!(
            "; condition keys of another issuer {foreign:?} can never be in this request (one block ANDs them all: use one statement per cluster)"
        )
    };
    c.fail(
        format!("STS answers AccessDenied: {}{extra}", decision.reason),
        format!(
            "the condition must admit sub {subject:?}: \"StringEquals\": {{\"{key}:sub\": \"{subject}\", \"{key}:aud\": \"{}\"}}",
            audiences.first().copied().unwrap_or("sts.amazonaws.com")
        ),
    )
}

fn max_session(cx: &Context) -> Check {
    let c = Check::named(
        "sts.max-session",
        G,
        "DurationSeconds within the role's MaxSessionDuration",
    );
    let Some(role) = &cx.inputs.role else {
        return c.unknown("no role given");
    };
    let max = role.max_session_duration;
    if cx.error_mentions("exceeds the MaxSessionDuration") {
        return c.fail(
            format!("the SDK asked for more than the role's MaxSessionDuration of {max} s"),
            format!("aws iam update-role --role-name {} --max-session-duration 43200, or ask for at most {max} s", role.name),
        );
    }
    c.pass(format!(
        "MaxSessionDuration {max} s (a longer DurationSeconds is refused with ValidationError)"
    ))
}

fn propagation(cx: &Context) -> Check {
    let c = Check::named("sts.propagation", G, "IAM changes had time to reach STS");
    let Some(created) = cx.inputs.role.as_ref().and_then(|r| r.created) else {
        return c.unknown("no role creation time (aws iam get-role shows CreateDate)");
    };
    let age = cx.at - created;
    if age < 120 {
        return c.warn(
            format!("the role was created {age} s before {}: IAM takes a while to reach STS, which refuses with AccessDenied meanwhile", cx.at_source),
            "retry AccessDenied for up to 2 minutes after creating or editing a role",
        );
    }
    let age = humantime::format_duration(std::time::Duration::from_secs(age.unsigned_abs()));
    c.pass(format!(
        "the role was created {age} before {} (trust-policy edits are not dated by get-role)",
        cx.at_source
    ))
}
