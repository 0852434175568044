use std::fmt;
use std::str::FromStr;

/// The kinds of signing key an issuer can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    Rsa2048,
    Rsa4096,
    EcP256,
    EcP384,
    EcP521,
}

impl KeyAlgorithm {
    pub const ALL: [KeyAlgorithm; 5] = [
        Self::Rsa2048,
        Self::Rsa4096,
        Self::EcP256,
        Self::EcP384,
        Self::EcP521,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa4096 => "rsa-4096",
            Self::EcP256 => "ec-p256",
            Self::EcP384 => "ec-p384",
            Self::EcP521 => "ec-p521",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown key algorithm {s:?}: expected one of rsa-2048, rsa-4096, ec-p256, ec-p384, ec-p521"))
    }
}

/// The JWS algorithms AWS STS accepts for web-identity tokens, and kube-apiserver signs with.
/// Nothing else exists here on purpose: `none`, `HS*` and `PS*` cannot even be named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JwsAlgorithm {
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    ES512,
}

impl JwsAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
        }
    }

    /// The JWK key type this algorithm needs.
    pub fn key_type(self) -> &'static str {
        match self {
            Self::RS256 | Self::RS384 | Self::RS512 => "RSA",
            Self::ES256 | Self::ES384 | Self::ES512 => "EC",
        }
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JwsAlgorithm {
    type Err = String;

    /// Case-sensitive, as JWS requires.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::RS256,
            Self::RS384,
            Self::RS512,
            Self::ES256,
            Self::ES384,
            Self::ES512,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
        .ok_or_else(|| format!("unsupported JWS algorithm {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_six_algorithms_parse() {
        for ok in ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"] {
            assert_eq!(ok.parse::<JwsAlgorithm>().unwrap().as_str(), ok);
        }
        for bad in ["none", "HS256", "PS256", "rs256", "EdDSA", ""] {
            assert!(bad.parse::<JwsAlgorithm>().is_err(), "{bad}");
        }
    }

    #[test]
    fn key_algorithms_round_trip() {
        for a in KeyAlgorithm::ALL {
            assert_eq!(a.to_string().parse::<KeyAlgorithm>().unwrap(), a);
        }
        assert!("rsa-1024".parse::<KeyAlgorithm>().is_err());
    }
}
