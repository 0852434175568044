use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The kinds of key pair the emulated issuer can generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    Rsa2048,
    Rsa4096,
    EcP256,
    EcP384,
    EcP521,
}

impl KeyAlgorithm {
    /// Every variant, in a stable order (handy for tests and `--help` listings).
    pub const ALL: [KeyAlgorithm; 5] = [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa4096,
        KeyAlgorithm::EcP256,
        KeyAlgorithm::EcP384,
        KeyAlgorithm::EcP521,
    ];

    /// The spelling used on the command line and in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "rsa-2048",
            KeyAlgorithm::Rsa4096 => "rsa-4096",
            KeyAlgorithm::EcP256 => "ec-p256",
            KeyAlgorithm::EcP384 => "ec-p384",
            KeyAlgorithm::EcP521 => "ec-p521",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key algorithm name that is not one of `rsa-2048`, `rsa-4096`, `ec-p256`, `ec-p384`, `ec-p521`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "unknown key algorithm {0:?} (expected one of rsa-2048, rsa-4096, ec-p256, ec-p384, ec-p521)"
)]
pub struct UnknownKeyAlgorithm(pub String);

impl FromStr for KeyAlgorithm {
    type Err = UnknownKeyAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownKeyAlgorithm(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_from_str_round_trip() {
        for alg in KeyAlgorithm::ALL {
            assert_eq!(alg.to_string().parse::<KeyAlgorithm>(), Ok(alg));
        }
    }

    #[test]
    fn unknown_names_are_rejected() {
        for bad in ["rsa", "RSA-2048", "ec-p224", "", "rsa-1024"] {
            assert!(bad.parse::<KeyAlgorithm>().is_err(), "{bad}");
        }
    }
}
