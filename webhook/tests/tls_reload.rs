//! The serving certificate is replaced on disk (temp file + rename, like a Secret update)
//! while a client keeps opening new TLS connections: no request fails, and the server ends
//! up presenting the new certificate.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use futures::FutureExt;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use pod_identity_webhook::server::cert_reload::ReloadingCert;
use pod_identity_webhook::server::limits::ConnectionLimits;
use pod_identity_webhook::server::metrics::Metrics;
use pod_identity_webhook::server::router::{AppState, ReviewReply, Reviewer, router};
use pod_identity_webhook::server::serve::serve;
use pod_identity_webhook::server::shutdown::Shutdown;
use pod_identity_webhook::server::tls::server_config;
use pod_identity_webhook::server::tls_options::TlsOptions;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::{TcpListener, TcpStream};

struct Echo;
impl Reviewer for Echo {
    fn review<'a>(&'a self, body: &'a [u8]) -> BoxFuture<'a, Result<ReviewReply, String>> {
        async move {
            Ok(ReviewReply {
                json: body.to_vec(),
                mutated_method: None,
                missing_sa: false,
            })
        }
        .boxed()
    }
}

struct Pair {
    ca_der: CertificateDer<'static>,
    leaf_der: Vec<u8>,
    cert_pem: String,
    key_pem: String,
}

/// A CA-signed leaf for `localhost` (a client pinned to the CA accepts both A and B).
fn issue(ca: &rcgen::Certificate, ca_key: &rcgen::KeyPair, cn: &str) -> Pair {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let leaf = params.signed_by(&key, ca, ca_key).unwrap();
    Pair {
        ca_der: ca.der().clone(),
        leaf_der: leaf.der().to_vec(),
        cert_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn write_atomically(dir: &Path, pair: &Pair) {
    for (name, content) in [("tls.crt", &pair.cert_pem), ("tls.key", &pair.key_pem)] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, content).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    }
}

async fn request(
    connector: &tokio_rustls::TlsConnector,
    port: u16,
) -> Result<(u16, Vec<u8>), String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let peer = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
        .ok_or("no peer certificate")?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = http::Request::post("/mutate")
        .header(http::header::HOST, "localhost")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let _ = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok((status, peer))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_swap_without_failed_requests() {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let a = issue(&ca, &ca_key, "cert-a");
    let b = issue(&ca, &ca_key, "cert-b");

    let dir = tempfile::tempdir().unwrap();
    write_atomically(dir.path(), &a);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert = ReloadingCert::load(
        dir.path().join("tls.crt"),
        dir.path().join("tls.key"),
        provider,
    )
    .unwrap();
    let watcher = cert.spawn_watcher(Duration::from_millis(50));
    let tls = server_config(&TlsOptions::default(), Arc::clone(&cert)).unwrap();
    let state = AppState {
        reviewer: Arc::new(Echo),
        ready: Arc::new(|| Ok(())),
        metrics: Metrics::new(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(serve(
        listener,
        Some(tls),
        router(state),
        shutdown.clone(),
        Duration::from_secs(2),
        ConnectionLimits::default(),
    ));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(a.ca_der.clone()).unwrap();
    let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    // A resumed session reports the certificate of the original handshake: force full ones.
    client.resumption = rustls::client::Resumption::disabled();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));

    let mut failures = Vec::new();
    let mut saw_a = false;
    let mut saw_b_at = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for i in 0..200 {
        if i == 50 {
            write_atomically(dir.path(), &b);
        }
        match request(&connector, port).await {
            Ok((200, peer)) if peer == a.leaf_der => {
                // Once B has been served, the server must never go back to A.
                assert!(saw_b_at.is_none(), "served A again after B");
                saw_a = true;
            }
            Ok((200, peer)) if peer == b.leaf_der => {
                saw_b_at.get_or_insert(i);
            }
            Ok((status, _)) => failures.push(format!(
                "request {i}: status {status} or unknown certificate"
            )),
            Err(e) => failures.push(format!("request {i}: {e}")),
        }
        if saw_b_at.is_some_and(|at| i >= at + 20) || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(failures.is_empty(), "{failures:?}");
    assert!(saw_a, "certificate A was never served");
    assert!(saw_b_at.is_some(), "certificate B was never served");

    shutdown.trigger();
    server.await.unwrap();
    watcher.abort();
}
