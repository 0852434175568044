use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The JWS algorithms AWS STS accepts for web-identity tokens: RSA PKCS#1 v1.5 and ECDSA
/// with SHA-2. Everything else (`none`, `HS*`, `PS*`, `EdDSA`, ...) is refused by design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JwsAlgorithm {
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    ES512,
}

/// Which SHA-2 digest an algorithm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl JwsAlgorithm {
    /// All six, in the order above.
    pub const ALL: [JwsAlgorithm; 6] = [
        JwsAlgorithm::RS256,
        JwsAlgorithm::RS384,
        JwsAlgorithm::RS512,
        JwsAlgorithm::ES256,
        JwsAlgorithm::ES384,
        JwsAlgorithm::ES512,
    ];

    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlgorithm::RS256 => "RS256",
            JwsAlgorithm::RS384 => "RS384",
            JwsAlgorithm::RS512 => "RS512",
            JwsAlgorithm::ES256 => "ES256",
            JwsAlgorithm::ES384 => "ES384",
            JwsAlgorithm::ES512 => "ES512",
        }
    }

    /// True for the RSA family (`RS*`), false for ECDSA (`ES*`).
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            JwsAlgorithm::RS256 | JwsAlgorithm::RS384 | JwsAlgorithm::RS512
        )
    }

    /// The JWK `kty` a key for this algorithm must have.
    pub fn key_type(self) -> &'static str {
        if self.is_rsa() { "RSA" } else { "EC" }
    }

    /// For ECDSA algorithms, the one curve (JWK `crv`) they are defined over.
    pub fn curve(self) -> Option<&'static str> {
        match self {
            JwsAlgorithm::ES256 => Some("P-256"),
            JwsAlgorithm::ES384 => Some("P-384"),
            JwsAlgorithm::ES512 => Some("P-521"),
            _ => None,
        }
    }

    /// The digest the algorithm signs.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            JwsAlgorithm::RS256 | JwsAlgorithm::ES256 => HashAlgorithm::Sha256,
            JwsAlgorithm::RS384 | JwsAlgorithm::ES384 => HashAlgorithm::Sha384,
            JwsAlgorithm::RS512 | JwsAlgorithm::ES512 => HashAlgorithm::Sha512,
        }
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for JwsAlgorithm {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// An `alg` outside the six supported ones.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unsupported JWS algorithm {0:?} (supported: RS256, RS384, RS512, ES256, ES384, ES512)")]
pub struct UnsupportedAlgorithm(pub String);

impl FromStr for JwsAlgorithm {
    type Err = UnsupportedAlgorithm;

    /// Exact, case-sensitive match: JWS `alg` values are case-sensitive (RFC 7515 §4.1.1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JwsAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnsupportedAlgorithm(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_six_round_trip() {
        for alg in JwsAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<JwsAlgorithm>(), Ok(alg));
        }
    }

    #[test]
    fn everything_else_is_rejected() {
        for bad in [
            "none", "None", "HS256", "HS384", "HS512", "PS256", "PS384", "PS512", "EdDSA", "rs256",
            "ES256K", "",
        ] {
            assert_eq!(
                bad.parse::<JwsAlgorithm>(),
                Err(UnsupportedAlgorithm(bad.to_string()))
            );
        }
    }

    #[test]
    fn families_and_curves_fit() {
        assert_eq!(JwsAlgorithm::RS384.key_type(), "RSA");
        assert_eq!(JwsAlgorithm::RS384.curve(), None);
        assert_eq!(JwsAlgorithm::ES512.key_type(), "EC");
        assert_eq!(JwsAlgorithm::ES512.curve(), Some("P-521"));
        assert_eq!(JwsAlgorithm::ES384.hash(), HashAlgorithm::Sha384);
    }
}
