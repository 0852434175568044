use std::time::Duration;

/// What STS does when the discovery document's `issuer` differs from the token's `iss`.
/// AWS does not document whether it compares them (the upstream self-hosted guide even
/// writes a trailing slash there), so the default is to accept and warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssuerFieldCheck {
    #[default]
    Lenient,
    Strict,
}

/// Limits and cache behaviour of issuer fetching. The defaults are documented choices
/// where AWS documents nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// Whole-fetch limit (connect, headers, body, redirects). AWS: 5 seconds.
    pub fetch_timeout: Duration,
    /// Larger discovery documents or JWKS are refused (a JWKS of a few keys is ~2 KiB).
    pub max_body_bytes: usize,
    /// Redirect hops followed, each routed like the original URL (never off the machine).
    pub max_redirects: usize,
    /// How long a fetched JWKS is used before it is fetched again.
    pub jwks_ttl: Duration,
    /// A token whose `kid` is not in the cached JWKS triggers a refetch only when the
    /// cached copy is at least this old: "rotated before republishing" then keeps failing
    /// for a while even after the JWKS is fixed, as users see on AWS.
    pub refetch_interval: Duration,
    pub issuer_field_check: IssuerFieldCheck,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            fetch_timeout: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
            max_redirects: 3,
            jwks_ttl: Duration::from_secs(3600),
            refetch_interval: Duration::from_secs(300),
            issuer_field_check: IssuerFieldCheck::Lenient,
        }
    }
}
