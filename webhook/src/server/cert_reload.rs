//! Serving certificate that follows `--tls-cert` / `--tls-key` on disk.
//!
//! Kubernetes updates Secret volumes by swapping a `..data` symlink, and cert-manager
//! rewrites them in place; neither reliably produces an event for the file path itself.
//! So a task re-reads both files every `interval` and swaps the certificate when the bytes
//! change. A half-written or mismatched pair is rejected (logged) and the previous
//! certificate keeps being served; the next poll retries.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why a certificate/key pair could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CertLoadError {
    /// A file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate.
    #[error("no PEM certificate in {0}")]
    NoCertificate(PathBuf),
    /// The key file holds no usable PEM private key.
    #[error("no usable PEM private key in {path}: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The key does not belong to the certificate, or its type is unsupported.
    #[error("certificate {cert} and key {key} do not form a usable pair: {reason}")]
    Pair {
        /// Certificate file.
        cert: PathBuf,
        /// Key file.
        key: PathBuf,
        /// rustls' reason.
        reason: String,
    },
}

/// Loads and validates a PEM certificate chain and private key.
pub fn load_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<(CertifiedKey, Vec<u8>), CertLoadError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| CertLoadError::Read {
            path: p.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert_path)?;
    let key_pem = read(key_path)?;
    let certified = parse_pair(&cert_pem, &key_pem, provider).map_err(|e| match e {
        PairError::NoCertificate => CertLoadError::NoCertificate(cert_path.to_owned()),
        PairError::Key(reason) => CertLoadError::Key {
            path: key_path.to_owned(),
            reason,
        },
        PairError::Pair(reason) => CertLoadError::Pair {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
            reason,
        },
    })?;
    let mut fingerprint = cert_pem;
    fingerprint.extend_from_slice(&key_pem);
    Ok((certified, fingerprint))
}

enum PairError {
    NoCertificate,
    Key(String),
    Pair(String),
}

fn parse_pair(
    cert_pem: &[u8],
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, PairError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(PairError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| PairError::Key(e.to_string()))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| PairError::Pair(e.to_string()))
}

/// A `ResolvesServerCert` whose certificate can be swapped while serving.
pub struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    loaded: RwLock<Vec<u8>>,
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    /// Loads the pair once; failing here is fatal (nothing to serve yet).
    pub fn load(
        cert_path: impl Into<PathBuf>,
        key_path: impl Into<PathBuf>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Arc<Self>, CertLoadError> {
        let cert_path = cert_path.into();
        let key_path = key_path.into();
        let (certified, fingerprint) = load_pair(&cert_path, &key_path, &provider)?;
        Ok(Arc::new(Self {
            current: RwLock::new(Arc::new(certified)),
            cert_path,
            key_path,
            provider,
            loaded: RwLock::new(fingerprint),
        }))
    }

    /// A fixed certificate from PEM bytes (in-cluster mode: the pair lives in memory).
    /// Its watcher would find no files, so none should be spawned.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        provider: Arc<CryptoProvider>,
    ) -> Result<Arc<Self>, CertLoadError> {
        let certified = parse_pair(cert_pem, key_pem, &provider).map_err(|e| match e {
            PairError::NoCertificate => CertLoadError::NoCertificate(PathBuf::from("<in-memory>")),
            PairError::Key(reason) => CertLoadError::Key {
                path: PathBuf::from("<in-memory>"),
                reason,
            },
            PairError::Pair(reason) => CertLoadError::Pair {
                cert: PathBuf::from("<in-memory>"),
                key: PathBuf::from("<in-memory>"),
                reason,
            },
        })?;
        Ok(Arc::new(Self {
            current: RwLock::new(Arc::new(certified)),
            cert_path: PathBuf::new(),
            key_path: PathBuf::new(),
            provider,
            loaded: RwLock::new(Vec::new()),
        }))
    }

    /// Re-reads the files; swaps the certificate if they changed and are valid.
    /// Returns `Ok(true)` when a new certificate was installed.
    pub fn reload(&self) -> Result<bool, CertLoadError> {
        let (certified, fingerprint) = load_pair(&self.cert_path, &self.key_path, &self.provider)?;
        if *self.loaded.read().unwrap_or_else(|p| p.into_inner()) == fingerprint {
            return Ok(false);
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(certified);
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = fingerprint;
        Ok(true)
    }

    /// The certificate currently served.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Polls the files every `interval` until the returned task is aborted.
    pub fn spawn_watcher(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_error: Option<String> = None;
            loop {
                tick.tick().await;
                match this.reload() {
                    Ok(true) => {
                        last_error = None;
                        tracing::info!(cert = %this.cert_path.display(), "reloaded serving certificate");
                    }
                    Ok(false) => last_error = None,
                    Err(e) => {
                        // Log each distinct failure once: a Secret being rewritten is transient.
                        let msg = e.to_string();
                        if last_error.as_deref() != Some(msg.as_str()) {
                            tracing::error!(error = %msg, "keeping the previous serving certificate");
                            last_error = Some(msg);
                        }
                    }
                }
            }
        })
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, cn: &str) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![cn.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.join("tls.crt"), cert.pem()).unwrap();
        std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();
        cert.der().to_vec()
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    #[test]
    fn reload_swaps_only_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_pair(dir.path(), "a.test");
        let r = ReloadingCert::load(
            dir.path().join("tls.crt"),
            dir.path().join("tls.key"),
            provider(),
        )
        .unwrap();
        assert_eq!(r.current().cert[0].as_ref(), a.as_slice());
        assert!(!r.reload().unwrap());
        let b = write_pair(dir.path(), "b.test");
        assert!(r.reload().unwrap());
        assert_eq!(r.current().cert[0].as_ref(), b.as_slice());
    }

    #[test]
    fn invalid_new_pair_keeps_previous() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_pair(dir.path(), "a.test");
        let r = ReloadingCert::load(
            dir.path().join("tls.crt"),
            dir.path().join("tls.key"),
            provider(),
        )
        .unwrap();
        // Half-written certificate.
        std::fs::write(
            dir.path().join("tls.crt"),
            "-----BEGIN CERTIFICATE-----\nMII",
        )
        .unwrap();
        assert!(matches!(r.reload(), Err(CertLoadError::NoCertificate(_))));
        assert_eq!(r.current().cert[0].as_ref(), a.as_slice());
        // A key that belongs to another certificate.
        let other = tempfile::tempdir().unwrap();
        write_pair(other.path(), "c.test");
        std::fs::copy(other.path().join("tls.crt"), dir.path().join("tls.crt")).unwrap();
        let err = r.reload().unwrap_err();
        assert!(matches!(err, CertLoadError::Pair { .. }), "{err}");
        assert_eq!(r.current().cert[0].as_ref(), a.as_slice());
    }

    #[test]
    fn missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = ReloadingCert::load(
            dir.path().join("tls.crt"),
            dir.path().join("tls.key"),
            provider(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("tls.crt"), "{err}");
    }
}
