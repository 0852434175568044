//! Throw-away certificate authorities for loopback servers: the emulated apiserver's
//! discovery endpoints, a real kube-apiserver's serving certificate, and the webhook when
//! the apiserver calls it by URL. Every certificate names `127.0.0.1` (and `localhost`),
//! which is where these servers listen.

use anyhow::Context;

/// A CA and one serving certificate it signed, as PEM.
#[derive(Clone)]
pub struct LoopbackCertificate {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for LoopbackCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key never reaches a log.
        f.debug_struct("LoopbackCertificate")
            .finish_non_exhaustive()
    }
}

/// A fresh CA named `ca_name` and a certificate for `127.0.0.1`/`localhost` named `leaf_name`.
pub fn loopback(ca_name: &str, leaf_name: &str) -> anyhow::Result<LoopbackCertificate> {
    let generated: anyhow::Result<LoopbackCertificate> = (|| {
        let ca_key = rcgen::KeyPair::generate()?;
        let mut ca = rcgen::CertificateParams::new(Vec::new())?;
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key)?;
        let key = rcgen::KeyPair::generate()?;
        let mut leaf =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, leaf_name);
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key)?;
        Ok(LoopbackCertificate {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    })();
    generated.with_context(|| format!("generating a certificate for {leaf_name}"))
}
