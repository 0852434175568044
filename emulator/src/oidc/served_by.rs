//! How the endpoint that served a document proves its identity, for thumbprint checks.

/// The kind of server that answered, as seen by the STS certificate check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServedBy {
    /// S3 (and hosts AWS trusts the same way): a well-known CA, no thumbprint needed.
    WellKnownCa,
    /// A mapped HTTPS endpoint whose certificate chains to the mapping's own CA; AWS falls
    /// back to the provider's configured thumbprints for those.
    CustomCa {
        /// SHA-1 of the DER of the mapping's (first) CA certificate, 40 lower-case hex.
        sha1_thumbprint: String,
    },
    /// A mapped `http://` loopback target (test servers); real AWS would never accept it,
    /// so the emulator only allows it behind a mapping.
    PlainHttp,
}
