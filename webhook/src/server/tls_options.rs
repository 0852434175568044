//! `--tls-min-version` and `--tls-cipher-suites` mapped onto rustls.
//!
//! The flags take Go's spellings (`VersionTLS12`, `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
//! As in Go's `crypto/tls`, the suite list only restricts TLS 1.2: TLS 1.3 suites are not
//! configurable there, so they are always kept here too (a TLS 1.3 suite name in the flag is
//! accepted and ignored, as Go ignores it).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::crypto::ring::{self, cipher_suite};
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

/// An unusable `--tls-min-version` or `--tls-cipher-suites` value (fatal at start-up, like the reference).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TlsOptionError {
    /// The minimum version is neither 1.2 nor 1.3 (rustls supports nothing older).
    #[error("unsupported --tls-min-version {0:?}: expected 1.2, 1.3, VersionTLS12 or VersionTLS13")]
    MinVersion(String),
    /// A cipher suite name rustls does not implement.
    #[error("unsupported --tls-cipher-suites entry {0:?}")]
    CipherSuite(String),
}

/// Parsed TLS policy: protocol versions and the crypto provider restricted to the suites.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Protocol versions offered, oldest first.
    pub versions: Vec<&'static SupportedProtocolVersion>,
    /// ring provider, possibly with a restricted TLS 1.2 suite list.
    pub provider: Arc<CryptoProvider>,
}

impl TlsOptions {
    /// Parses the two flags (empty strings mean the defaults: TLS 1.2+ and rustls' suites).
    pub fn parse(min_version: &str, cipher_suites: &str) -> Result<Self, TlsOptionError> {
        let versions = parse_min_version(min_version)?;
        let mut provider = ring::default_provider();
        let names: Vec<&str> = cipher_suites
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if !names.is_empty() {
            let mut tls12 = Vec::new();
            for name in names {
                match suite_by_go_name(name) {
                    Some(Some(suite)) => {
                        if !tls12.contains(&suite) {
                            tls12.push(suite)
                        }
                    }
                    Some(None) => {} // a TLS 1.3 suite: always on, as in Go
                    None => return Err(TlsOptionError::CipherSuite(name.to_owned())),
                }
            }
            provider
                .cipher_suites
                .retain(|s| s.version() == &rustls::version::TLS13);
            provider.cipher_suites.extend(tls12);
        }
        Ok(Self {
            versions,
            provider: Arc::new(provider),
        })
    }
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            versions: vec![&rustls::version::TLS12, &rustls::version::TLS13],
            provider: Arc::new(ring::default_provider()),
        }
    }
}

fn parse_min_version(
    value: &str,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsOptionError> {
    match value.trim() {
        "" | "1.2" | "VersionTLS12" => Ok(vec![&rustls::version::TLS12, &rustls::version::TLS13]),
        "1.3" | "VersionTLS13" => Ok(vec![&rustls::version::TLS13]),
        other => Err(TlsOptionError::MinVersion(other.to_owned())),
    }
}

/// `Some(Some(suite))` for a TLS 1.2 suite, `Some(None)` for a TLS 1.3 one, `None` if unknown.
fn suite_by_go_name(name: &str) -> Option<Option<SupportedCipherSuite>> {
    let suite = match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        }
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        }
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => {
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => {
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        }
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            return Some(None);
        }
        _ => return None,
    };
    Some(Some(suite))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_offer_tls12_and_13() {
        let o = TlsOptions::parse("", "").unwrap();
        assert_eq!(o.versions.len(), 2);
        assert_eq!(
            o.provider.cipher_suites.len(),
            ring::default_provider().cipher_suites.len()
        );
    }

    #[test]
    fn min_version_13_drops_12() {
        for v in ["1.3", "VersionTLS13"] {
            let o = TlsOptions::parse(v, "").unwrap();
            assert_eq!(o.versions, vec![&rustls::version::TLS13]);
        }
    }

    #[test]
    fn unknown_min_version_is_an_error() {
        assert_eq!(
            TlsOptions::parse("1.0", "").unwrap_err(),
            TlsOptionError::MinVersion("1.0".into())
        );
    }

    #[test]
    fn suites_restrict_tls12_only() {
        let o = TlsOptions::parse(
            "",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256",
        )
        .unwrap();
        let tls12: Vec<_> = o
            .provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .collect();
        assert_eq!(tls12.len(), 1);
        assert_eq!(
            *tls12[0],
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        );
        assert!(
            o.provider
                .cipher_suites
                .iter()
                .any(|s| s.version() == &rustls::version::TLS13)
        );
    }

    #[test]
    fn unknown_suite_is_an_error() {
        assert_eq!(
            TlsOptions::parse("", "TLS_RSA_WITH_RC4_128_SHA").unwrap_err(),
            TlsOptionError::CipherSuite("TLS_RSA_WITH_RC4_128_SHA".into())
        );
    }
}
