//! Limits and policies of the emulated STS key retrieval, with documented defaults.

use std::time::Duration;

/// What to do when a discovery document's own `issuer` differs from the token's `iss`.
///
/// Whether AWS STS compares them is undocumented, and the upstream self-hosted guide
/// publishes `issuer` with a trailing slash, so the default only warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssuerFieldCheck {
    /// A mismatch is reported in [`super::KeyLookup::warnings`] and the keys are used.
    #[default]
    Lenient,
    /// A mismatch is a [`super::KeyRetrievalError::IssuerMismatch`].
    Strict,
}

/// Settings of discovery/JWKS retrieval and of the JWKS cache.
///
/// AWS documents only the 5 s fetch limit; every other value is an emulator choice that
/// scenarios can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// Whole retrieval of one document (every redirect hop, connect, headers and body).
    /// Default 5 s: AWS fails issuers slower than that.
    pub fetch_timeout: Duration,
    /// Largest accepted body. Default 64 KiB: a JWKS with a dozen RSA-4096 keys is about
    /// 20 KiB, so only a wrong or hostile document reaches it.
    pub max_body_bytes: usize,
    /// Redirect hops followed per document. Default 5: a CDN in front of a bucket needs at
    /// most one or two, and every hop is routed again so none leaves the machine.
    pub max_redirects: usize,
    /// How long fetched keys are trusted without refetching. Default 1 h, an emulator
    /// choice (AWS's cache is undocumented) long enough for stale-JWKS bugs to show.
    pub jwks_ttl: Duration,
    /// Minimum time between two fetches for the same issuer caused by an unknown `kid`.
    /// Default 5 min: a freshly rotated signer fails until the interval passes even once
    /// the JWKS is republished, as with a throttled real cache.
    pub refetch_interval: Duration,
    /// Whether the discovery document's `issuer` must equal the token's `iss`.
    pub issuer_field_check: IssuerFieldCheck,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            fetch_timeout: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
            max_redirects: 5,
            jwks_ttl: Duration::from_secs(3600),
            refetch_interval: Duration::from_secs(300),
            issuer_field_check: IssuerFieldCheck::Lenient,
        }
    }
}
