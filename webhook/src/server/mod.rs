//! The HTTPS admission server, the plain-HTTP metrics server, and their plumbing.
//!
//! [`start`] binds both listeners and returns at once (tests and benches use it with port 0);
//! [`run`] starts, waits for SIGTERM/Ctrl-C, and drains for [`DRAIN`].

pub mod cert_reload;
pub mod limits;
pub mod metrics;
pub mod router;
pub mod serve;
pub mod shutdown;
pub mod tls;
pub mod tls_options;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::incluster;
use cert_reload::{CertLoadError, ReloadingCert};
use limits::ConnectionLimits;
use router::AppState;
use shutdown::Shutdown;
use tls_options::TlsOptions;

/// How long in-flight requests may finish after a shutdown signal.
pub const DRAIN: Duration = Duration::from_secs(10);
/// How often the certificate files are re-read.
pub const CERT_POLL: Duration = Duration::from_secs(2);

/// Where the serving certificate comes from.
#[derive(Debug, Clone)]
pub enum CertSource {
    /// `--tls-cert` / `--tls-key`, hot-reloaded.
    Files {
        /// Certificate chain (PEM).
        cert: PathBuf,
        /// Private key (PEM).
        key: PathBuf,
    },
    /// `--in-cluster=true`: self-managed CA in a Secret, caBundle patched.
    InCluster {
        /// `--namespace`.
        namespace: String,
        /// `--service-name`.
        service: String,
        /// `--tls-secret`.
        secret: String,
        /// MutatingWebhookConfiguration to patch.
        webhook_configuration: String,
    },
}

/// Listener settings (derived from the flags).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address both listeners bind (`0.0.0.0` in a pod, `127.0.0.1` in tests).
    pub bind: IpAddr,
    /// `--port` (0 picks a free port).
    pub port: u16,
    /// `--metrics-port` (0 picks a free port).
    pub metrics_port: u16,
    /// `--tls-min-version` / `--tls-cipher-suites`.
    pub tls: TlsOptions,
    /// The certificate source.
    pub cert: CertSource,
    /// Drain period on shutdown.
    pub drain: Duration,
    /// TLS-handshake, header-read and body time limits of every connection.
    pub limits: ConnectionLimits,
}

impl ServerOptions {
    /// Options for a loopback server on free ports with certificate files (tests, benches).
    pub fn loopback(cert: PathBuf, key: PathBuf) -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            metrics_port: 0,
            tls: TlsOptions::default(),
            cert: CertSource::Files { cert, key },
            drain: DRAIN,
            limits: ConnectionLimits::default(),
        }
    }
}

/// Start-up failures (all fatal).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The serving certificate could not be loaded.
    #[error(transparent)]
    Cert(#[from] CertLoadError),
    /// rustls rejected the TLS policy.
    #[error("invalid TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// A listener could not be bound.
    #[error("failed to listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// In-cluster certificate bootstrap failed.
    #[error(transparent)]
    InCluster(#[from] incluster::secret::InClusterError),
    /// In-cluster mode without a Kubernetes client.
    #[error("--in-cluster=true needs a Kubernetes client")]
    NoClient,
}

/// A started server.
#[derive(Debug)]
pub struct Running {
    /// The HTTPS listener's address.
    pub https_addr: SocketAddr,
    /// The metrics listener's address.
    pub metrics_addr: SocketAddr,
    /// Triggers the graceful shutdown.
    pub shutdown: Shutdown,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Waits until both listeners have stopped and drained.
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        for b in self.background {
            b.abort();
        }
    }
}

async fn bind(ip: IpAddr, port: u16) -> Result<TcpListener, ServerError> {
    let addr = SocketAddr::new(ip, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Binds the listeners and serves `state` until [`Running::shutdown`] is triggered.
pub async fn start(
    opts: ServerOptions,
    state: AppState,
    client: Option<kube::Client>,
) -> Result<Running, ServerError> {
    let provider = Arc::clone(&opts.tls.provider);
    let mut background = Vec::new();
    let cert = match &opts.cert {
        CertSource::Files { cert, key } => {
            let c = ReloadingCert::load(cert, key, provider)?;
            background.push(c.spawn_watcher(CERT_POLL));
            c
        }
        CertSource::InCluster {
            namespace,
            service,
            secret,
            webhook_configuration,
        } => {
            let client = client.ok_or(ServerError::NoClient)?;
            let bundle = incluster::secret::ensure_serving_secret(
                client.clone(),
                namespace,
                secret,
                service,
            )
            .await?;
            incluster::secret::patch_ca_bundle(client, webhook_configuration, &bundle.ca_pem)
                .await?;
            ReloadingCert::from_pem(
                bundle.cert_pem.as_bytes(),
                bundle.key_pem.as_bytes(),
                provider,
            )?
        }
    };
    let tls = tls::server_config(&opts.tls, cert)?;
    let https = bind(opts.bind, opts.port).await?;
    let metrics_listener = bind(opts.bind, opts.metrics_port).await?;
    let https_addr = https.local_addr().map_err(|source| ServerError::Bind {
        addr: SocketAddr::new(opts.bind, opts.port),
        source,
    })?;
    let metrics_addr = metrics_listener
        .local_addr()
        .map_err(|source| ServerError::Bind {
            addr: SocketAddr::new(opts.bind, opts.metrics_port),
            source,
        })?;
    let shutdown = Shutdown::new();
    let metrics_app = router::metrics_router(Arc::clone(&state.metrics));
    let tasks = vec![
        tokio::spawn(serve::serve(
            https,
            Some(tls),
            router::router(state),
            shutdown.clone(),
            opts.drain,
            opts.limits,
        )),
        tokio::spawn(serve::serve(
            metrics_listener,
            None,
            metrics_app,
            shutdown.clone(),
            opts.drain,
            opts.limits,
        )),
    ];
    tracing::info!(%https_addr, %metrics_addr, "listening");
    Ok(Running {
        https_addr,
        metrics_addr,
        shutdown,
        tasks,
        background,
    })
}

/// Starts, then serves until SIGTERM or Ctrl-C and drains.
pub async fn run(
    opts: ServerOptions,
    state: AppState,
    client: Option<kube::Client>,
) -> Result<(), ServerError> {
    let running = start(opts, state, client).await?;
    let signals = running.shutdown.on_signals();
    running.wait().await;
    signals.abort();
    Ok(())
}
