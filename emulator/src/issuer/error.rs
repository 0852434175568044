use thiserror::Error;

/// Why a key could not be read, decoded or converted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The text holds no `-----BEGIN ...-----` / `-----END ...-----` block at all.
    #[error("no PEM block found")]
    NoPemBlock,
    /// A PEM block is cut off, its base64 is corrupt, or it is encrypted.
    #[error("malformed PEM block {label:?}: {reason}")]
    MalformedPem { label: String, reason: String },
    /// No block of the wanted kind; `found` lists the labels that were there (e.g.
    /// `CERTIFICATE`, or `PUBLIC KEY` where a private key was asked for).
    #[error("no {wanted} in PEM data (found: {})", found.join(", "))]
    NoKeyOfKind {
        wanted: &'static str,
        found: Vec<String>,
    },
    /// The block's label is known but its DER content is not a key we support.
    #[error("invalid {label}: {reason}")]
    InvalidKey { label: String, reason: String },
    /// An RSA key smaller than Go's crypto/rsa accepts (kube-apiserver could not use it).
    #[error("RSA key of {bits} bits is too small (at least {min} bits are required)")]
    RsaKeyTooSmall { bits: usize, min: usize },
    /// A PEM bundle in which no block is a usable key (kube's message for the same case).
    #[error("data does not contain any valid RSA or ECDSA public keys")]
    NoKeys,
    /// A JWK that cannot be turned into a public key.
    #[error("invalid JWK: {0}")]
    InvalidJwk(String),
}
