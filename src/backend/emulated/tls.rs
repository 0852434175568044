//! A loopback HTTPS listener with its own throw-away CA, for the emulated apiserver's
//! discovery endpoints (an issuer hosted on the apiserver is reached over real TLS).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A TLS handshake slower than this is dropped (no client may hold the listener).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole connection (the only clients are STS fetches) lives at most this long.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// A running HTTPS server on 127.0.0.1.
#[derive(Debug)]
pub struct TlsServer {
    pub addr: SocketAddr,
    /// The CA that signed the serving certificate (SAN `127.0.0.1`).
    pub ca_pem: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl TlsServer {
    pub async fn start(router: Router) -> anyhow::Result<Self> {
        let crate::backend::pki::LoopbackCertificate {
            ca_pem,
            cert_pem,
            key_pem,
        } = crate::backend::pki::loopback("irsa-lab emulated apiserver CA", "kube-apiserver")?;
        let chain = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes())?];
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let (tcp, _) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(_) => continue,
                    },
                    _ = stopped.changed() => return,
                };
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(router.clone());
                tokio::spawn(async move {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let serving = Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .into_owned();
                    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, serving).await;
                });
            }
        });
        Ok(Self {
            addr,
            ca_pem,
            stop,
            task,
        })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
