use super::AnonymousGetError;

/// Why one URL could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error(
        "no route for {url}: it is not an S3 URL and no --map-issuer prefix covers it (irsa-lab never contacts the internet)"
    )]
    Unroutable { url: String },
    #[error("{url} is not an https URL (AWS fetches issuers over https only)")]
    NotHttps { url: String },
    #[error("{url} is not a valid URL")]
    BadUrl { url: String },
    #[error("{url}: fake S3 answered: {source}")]
    S3 {
        url: String,
        source: AnonymousGetError,
    },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: no complete answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("{url}: body larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: more than {limit} redirects")]
    TooManyRedirects { url: String, limit: usize },
    #[error("{url}: {detail}")]
    Transport { url: String, detail: String },
}

/// Why STS could not get a verification key. AWS answers every one of these with the
/// same message ("Couldn't retrieve verification key from your identity provider, ...");
/// the variants say precisely what went wrong, for logs and diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRetrievalError {
    #[error("discovery document: {0}")]
    DiscoveryFetch(FetchError),
    #[error("discovery document at {url} is unusable: {problem}")]
    BadDiscovery { url: String, problem: String },
    #[error("discovery document says issuer {document:?} but the token's iss is {token:?}")]
    IssuerMismatch { token: String, document: String },
    #[error("JWKS: {0}")]
    JwksFetch(FetchError),
    #[error("JWKS at {url} is unusable: {problem}")]
    BadJwks { url: String, problem: String },
    #[error("no JWK with kid {kid:?} in {url} (published: {}){}", describe_kids(.published), if *.throttled { "; not refetched: the cached copy is newer than the refetch interval" } else { "" })]
    NoMatchingKey {
        kid: String,
        url: String,
        published: Vec<Option<String>>,
        throttled: bool,
    },
}

/// `"a", "", <no kid>` — a JWK without a kid field can never match, so say so.
fn describe_kids(kids: &[Option<String>]) -> String {
    if kids.is_empty() {
        return "no keys".into();
    }
    kids.iter()
        .map(|k| {
            k.as_ref()
                .map_or_else(|| "<JWK without kid>".to_owned(), |k| format!("{k:?}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
