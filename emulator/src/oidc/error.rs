//! Why STS could not obtain a verification key. STS answers every variant with the same
//! AWS message; the `Display` of each says precisely what went wrong, for diagnosis.

use super::fetch::FetchError;

/// A failed key lookup for `(iss, kid)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRetrievalError {
    #[error("the issuer {iss:?} is not a URL discovery can start from: {reason}")]
    InvalidIssuer { iss: String, reason: String },
    #[error("fetching the discovery document {url} failed: {source}")]
    Discovery {
        url: String,
        #[source]
        source: FetchError,
    },
    #[error("the discovery document {url} is not a JSON object: {reason}")]
    DiscoveryNotJson { url: String, reason: String },
    #[error("the discovery document {url} lacks the required field {field:?}")]
    DiscoveryMissingField { url: String, field: &'static str },
    #[error("the discovery document {url} has an invalid {field:?}: {reason}")]
    DiscoveryInvalidField {
        url: String,
        field: &'static str,
        reason: String,
    },
    #[error(
        "the discovery document {url} declares issuer {found:?} but the token's iss is {expected:?} \
         (strict issuer check)"
    )]
    IssuerMismatch {
        url: String,
        expected: String,
        found: String,
    },
    #[error("fetching the JWKS {url} failed: {source}")]
    Jwks {
        url: String,
        #[source]
        source: FetchError,
    },
    #[error("the JWKS {url} is not a valid JWK set: {reason}")]
    InvalidJwks { url: String, reason: String },
    #[error(
        "no JWK with kid {kid:?} in the JWKS of {iss} (published kids: {}); {detail}",
        published_list(.published)
    )]
    NoMatchingKey {
        iss: String,
        kid: String,
        /// The `kid` of every published key; `None` for a key without a `kid` field,
        /// which can never match.
        published: Vec<Option<String>>,
        /// Why no (further) refetch happened.
        detail: String,
    },
}

fn published_list(published: &[Option<String>]) -> String {
    if published.is_empty() {
        return "none".to_owned();
    }
    published
        .iter()
        .map(|kid| match kid {
            Some(kid) => format!("{kid:?}"),
            None => "<key without kid>".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
