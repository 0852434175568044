//! Self-signed CA and serving certificate for `--in-cluster=true`.
//!
//! The reference asks the CSR API for a `kubernetes.io/legacy-unknown` certificate, which
//! clusters since 1.22 never sign ("Certificate request was not signed: timed out waiting
//! for the condition"). We mint our own CA instead, keep it in the TLS Secret, and publish
//! it as the webhook's `caBundle`: no controller-manager signer needed.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Validity of a generated CA and serving certificate.
pub const VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// A stored certificate is reused only if it stays valid at least this long.
pub const MIN_REMAINING: Duration = Duration::from_secs(30 * 24 * 3600);

/// PEM material kept in the `kubernetes.io/tls` Secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ServingBundle {
    /// The CA certificate (`ca.crt`, also the webhook's caBundle).
    pub ca_pem: String,
    /// The serving certificate (`tls.crt`).
    pub cert_pem: String,
    /// The serving key (`tls.key`).
    pub key_pem: String,
}

impl std::fmt::Debug for ServingBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("ServingBundle")
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Certificate generation failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to generate the serving certificate: {0}")]
pub struct CertGenError(#[from] rcgen::Error);

/// The serving certificate's common name: `<svc>.<ns>.svc`.
pub fn common_name(service: &str, namespace: &str) -> String {
    format!("{service}.{namespace}.svc")
}

/// The DNS names the apiserver may use to reach the Service.
pub fn dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_owned(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// Generates a CA and a serving certificate signed by it, valid from `now` for [`VALIDITY`].
pub fn generate(
    service: &str,
    namespace: &str,
    now: SystemTime,
) -> Result<ServingBundle, CertGenError> {
    let not_before = time::OffsetDateTime::from(now) - time::Duration::minutes(5);
    let not_after = time::OffsetDateTime::from(now + VALIDITY);

    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::new())?;
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("pod-identity-webhook-ca@{namespace}"),
    );
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca = ca_params.self_signed(&ca_key)?;

    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(dns_names(service, namespace))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name(service, namespace));
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.signed_by(&key, &ca, &ca_key)?;

    Ok(ServingBundle {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Whether `bundle` is signed by its CA, covers every DNS name of the Service, and stays
/// valid at `at`. Anything unparsable is simply not reusable.
pub fn valid_at(bundle: &ServingBundle, service: &str, namespace: &str, at: SystemTime) -> bool {
    let Ok(ca) = CertificateDer::from_pem_slice(bundle.ca_pem.as_bytes()) else {
        return false;
    };
    let Ok(leaf) = CertificateDer::from_pem_slice(bundle.cert_pem.as_bytes()) else {
        return false;
    };
    let mut roots = rustls::RootCertStore::empty();
    if roots.add(ca).is_err() {
        return false;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let Ok(verifier) =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build()
    else {
        return false;
    };
    let at = UnixTime::since_unix_epoch(
        at.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    dns_names(service, namespace).into_iter().all(|name| {
        ServerName::try_from(name)
            .map(|sn| {
                verifier
                    .verify_server_cert(&leaf, &[], &sn, &[], at)
                    .is_ok()
            })
            .unwrap_or(false)
    })
}

/// Whether a stored bundle can be reused now (valid for at least [`MIN_REMAINING`] more).
pub fn reusable(bundle: &ServingBundle, service: &str, namespace: &str, now: SystemTime) -> bool {
    valid_at(bundle, service, namespace, now)
        && valid_at(bundle, service, namespace, now + MIN_REMAINING)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn names_follow_the_reference() {
        assert_eq!(
            common_name("pod-identity-webhook", "eks"),
            "pod-identity-webhook.eks.svc"
        );
        assert_eq!(
            dns_names("pod-identity-webhook", "eks"),
            vec![
                "pod-identity-webhook",
                "pod-identity-webhook.eks",
                "pod-identity-webhook.eks.svc",
                "pod-identity-webhook.eks.svc.cluster.local"
            ]
        );
    }

    #[test]
    fn ca_signs_a_leaf_covering_every_san_for_a_year() {
        let now = SystemTime::now();
        let b = generate("pod-identity-webhook", "eks", now).unwrap();
        assert!(valid_at(&b, "pod-identity-webhook", "eks", now));
        assert!(valid_at(&b, "pod-identity-webhook", "eks", now + 364 * DAY));
        assert!(
            !valid_at(&b, "pod-identity-webhook", "eks", now + 366 * DAY),
            "expires after a year"
        );
        assert!(reusable(&b, "pod-identity-webhook", "eks", now));
        assert!(
            !reusable(&b, "pod-identity-webhook", "eks", now + 340 * DAY),
            "renewed within 30 days of expiry"
        );
        // Another Service's names are not covered.
        assert!(!valid_at(&b, "other", "eks", now));
    }

    #[test]
    fn common_name_is_in_the_subject() {
        let b = generate("svc", "ns", SystemTime::now()).unwrap();
        let der = CertificateDer::from_pem_slice(b.cert_pem.as_bytes()).unwrap();
        let cn = b"svc.ns.svc";
        assert!(der.windows(cn.len()).any(|w| w == cn));
    }

    #[test]
    fn a_leaf_from_another_ca_is_rejected() {
        let now = SystemTime::now();
        let a = generate("svc", "ns", now).unwrap();
        let b = generate("svc", "ns", now).unwrap();
        let mixed = ServingBundle {
            ca_pem: a.ca_pem.clone(),
            ..b
        };
        assert!(!valid_at(&mixed, "svc", "ns", now));
        let garbage = ServingBundle {
            ca_pem: "not pem".into(),
            ..a
        };
        assert!(!valid_at(&garbage, "svc", "ns", now));
    }
}
