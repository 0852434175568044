//! OpenID discovery: the issuer's configuration document, then the JWKS it points to.

use serde_json::Value;

use super::error::KeyRetrievalError;
use super::fetch::Fetcher;
use super::served_by::ServedBy;
use super::settings::IssuerFieldCheck;
use crate::issuer::JwkSet;

/// Fields OpenID Connect Discovery requires that STS does not need: missing ones are
/// warnings. `issuer` and `jwks_uri` are needed to find the keys, so their absence fails.
const ADVISORY_FIELDS: [&str; 3] = [
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
];

/// An issuer's keys as just fetched, with what looked wrong but did not fail.
#[derive(Debug, Clone)]
pub(crate) struct Discovered {
    pub keys: JwkSet,
    pub warnings: Vec<String>,
    /// How the JWKS host proved itself: AWS's thumbprint check concerns the host that
    /// serves `jwks_uri`.
    pub served_by: ServedBy,
}

/// `<iss>/.well-known/openid-configuration`. One trailing slash of `iss` is dropped
/// first (OpenID Connect Discovery §4), so `https://x/o7k/` does not become `//.well-known`;
/// the provider lookup has already matched `iss` exactly, slash included.
pub(crate) fn discovery_url(iss: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        iss.strip_suffix('/').unwrap_or(iss)
    )
}

/// Fetches and checks the discovery document of `iss`, then the JWKS it names.
pub(crate) async fn discover(
    fetcher: &Fetcher,
    iss: &str,
    check: IssuerFieldCheck,
) -> Result<Discovered, KeyRetrievalError> {
    if !iss.starts_with("https://") {
        return Err(KeyRetrievalError::InvalidIssuer {
            iss: iss.to_owned(),
            reason: "issuers must be https URLs".to_owned(),
        });
    }
    let url = discovery_url(iss);
    let fetched = fetcher
        .get(&url)
        .await
        .map_err(|source| KeyRetrievalError::Discovery {
            url: url.clone(),
            source,
        })?;
    let document: Value =
        serde_json::from_slice(&fetched.body).map_err(|e| KeyRetrievalError::DiscoveryNotJson {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    let Value::Object(document) = document else {
        return Err(KeyRetrievalError::DiscoveryNotJson {
            url,
            reason: "the top-level value is not an object".to_owned(),
        });
    };
    let string_field = |field: &'static str| match document.get(field) {
        None | Some(Value::Null) => Err(KeyRetrievalError::DiscoveryMissingField {
            url: url.clone(),
            field,
        }),
        Some(Value::String(value)) => Ok(value.clone()),
        Some(other) => Err(KeyRetrievalError::DiscoveryInvalidField {
            url: url.clone(),
            field,
            reason: format!("expected a string, found {other}"),
        }),
    };
    let issuer = string_field("issuer")?;
    let jwks_uri = string_field("jwks_uri")?;

    let mut warnings = Vec::new();
    if issuer != iss {
        match check {
            IssuerFieldCheck::Strict => {
                return Err(KeyRetrievalError::IssuerMismatch {
                    url,
                    expected: iss.to_owned(),
                    found: issuer,
                });
            }
            IssuerFieldCheck::Lenient => warnings.push(format!(
                "the discovery document {url} declares issuer {issuer:?} but the token's iss is \
                 {iss:?}; accepted (lenient issuer check), a strict verifier would reject it"
            )),
        }
    }
    for field in ADVISORY_FIELDS {
        if !document.contains_key(field) {
            warnings.push(format!(
                "the discovery document {url} lacks {field:?}, which OpenID Connect Discovery \
                 requires; accepted (STS only needs issuer and jwks_uri)"
            ));
        }
    }

    let fetched = fetcher
        .get(&jwks_uri)
        .await
        .map_err(|source| KeyRetrievalError::Jwks {
            url: jwks_uri.clone(),
            source,
        })?;
    let keys: JwkSet =
        serde_json::from_slice(&fetched.body).map_err(|e| KeyRetrievalError::InvalidJwks {
            url: jwks_uri.clone(),
            reason: e.to_string(),
        })?;
    for warning in &warnings {
        tracing::warn!(iss, "{}", crate::log_text::one_line(warning));
    }
    Ok(Discovered {
        keys,
        warnings,
        served_by: fetched.served_by,
    })
}
