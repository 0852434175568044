//! The webhook's Kubernetes client (built from a kubeconfig, as `--kubeconfig` does) against
//! a local TLS "apiserver" answering `/version`: it accepts a CA certificate served as the
//! server's own when that certificate is the kubeconfig's CA (what plain
//! `openssl req -x509` makes and Go's client accepts), and still refuses every other
//! certificate webpki refuses, with a log line that names the problem and the fix.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use base64::Engine;
use pod_identity_webhook::server::cert_reload::ReloadingCert;
use pod_identity_webhook::server::limits::ConnectionLimits;
use pod_identity_webhook::server::serve::serve;
use pod_identity_webhook::server::shutdown::Shutdown;
use pod_identity_webhook::server::tls::server_config;
use pod_identity_webhook::server::tls_options::TlsOptions;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

const VERSION: &str = r#"{"major":"1","minor":"34","gitVersion":"v1.34.0","gitCommit":"0","gitTreeState":"clean","buildDate":"2025-08-27T00:00:00Z","goVersion":"go1.24","compiler":"gc","platform":"linux/amd64"}"#;

struct Apiserver {
    addr: SocketAddr,
    shutdown: Shutdown,
}

impl Drop for Apiserver {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A TLS server presenting `cert_pem` that answers `/version` like kube-apiserver.
async fn apiserver(cert_pem: &str, key_pem: &str) -> Apiserver {
    let options = TlsOptions::default();
    let cert = ReloadingCert::from_pem(
        cert_pem.as_bytes(),
        key_pem.as_bytes(),
        Arc::clone(&options.provider),
    )
    .unwrap();
    let tls = server_config(&options, cert).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route(
        "/version",
        get(|| async { ([("content-type", "application/json")], VERSION) }),
    );
    let shutdown = Shutdown::new();
    tokio::spawn(serve(
        listener,
        Some(tls),
        router,
        shutdown.clone(),
        Duration::from_secs(1),
        ConnectionLimits::default(),
    ));
    Apiserver { addr, shutdown }
}

/// A self-signed CA certificate (`CA:TRUE`) for `names`: what `openssl req -x509` makes.
fn ca_as_server(names: &[&str]) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A kubeconfig for `https://addr` trusting `ca_pem`.
fn kubeconfig(dir: &std::path::Path, addr: SocketAddr, ca_pem: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: https://{addr}\n    certificate-authority-data: {ca}\ncontexts:\n- name: lab\n  context: {{cluster: lab, user: lab}}\ncurrent-context: lab\nusers:\n- name: lab\n  user: {{token: test-token}}\n"
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

async fn version(kubeconfig: &str) -> Result<String, String> {
    let client = pod_identity_webhook::sources::kube_watch::client(kubeconfig, "")
        .await
        .map_err(|e| format!("client: {e}"))?;
    let info = tokio::time::timeout(Duration::from_secs(10), client.apiserver_version())
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| format!("{e}"))?;
    Ok(info.git_version)
}

/// Log lines written while the current thread runs (tests use the current-thread runtime,
/// so the client's connection tasks run here too).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

async fn version_and_log(kubeconfig: &str) -> (Result<String, String>, String) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let result = version(kubeconfig).await;
    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    (result, log)
}

#[tokio::test]
async fn a_ca_certificate_served_as_the_apiservers_own_is_accepted_like_go_does() {
    let (cert, key) = ca_as_server(&["127.0.0.1", "localhost"]);
    let server = apiserver(&cert, &key).await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.addr, &cert);
    assert_eq!(version(&config).await, Ok("v1.34.0".to_owned()));
}

#[tokio::test]
async fn a_leaf_signed_by_the_configured_ca_is_accepted() {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let server = apiserver(&leaf.pem(), &leaf_key.serialize_pem()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.addr, &ca.pem());
    assert_eq!(version(&config).await, Ok("v1.34.0".to_owned()));
}

#[tokio::test]
async fn a_ca_certificate_that_is_not_the_configured_one_is_refused() {
    let (cert, key) = ca_as_server(&["127.0.0.1"]);
    let (other, _) = ca_as_server(&["127.0.0.1"]);
    let server = apiserver(&cert, &key).await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.addr, &other);
    let (result, log) = version_and_log(&config).await;
    assert!(result.is_err());
    assert!(
        log.contains("the apiserver's certificate was refused")
            && log.contains("is not the kubeconfig's certificate-authority"),
        "{log}"
    );
}

#[tokio::test]
async fn a_ca_certificate_served_as_its_own_must_still_name_the_server() {
    let (cert, key) = ca_as_server(&["apiserver.example"]);
    let server = apiserver(&cert, &key).await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), server.addr, &cert);
    let (result, log) = version_and_log(&config).await;
    assert!(result.is_err());
    assert!(
        log.contains("does not list the server's address among its subject alternative names"),
        "{log}"
    );
}
