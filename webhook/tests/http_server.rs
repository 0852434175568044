//! The real listeners: HTTPS admission port and plain metrics port, then a graceful stop
//! that lets an open keep-alive connection finish and refuses new ones.

use std::sync::Arc;

use axum::body::Body;
use futures::FutureExt;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use pod_identity_webhook::server::metrics::Metrics;
use pod_identity_webhook::server::router::{AppState, ReviewReply, Reviewer};
use pod_identity_webhook::server::{ServerOptions, start};
use rustls::pki_types::ServerName;

struct Allow;
impl Reviewer for Allow {
    fn review<'a>(&'a self, _body: &'a [u8]) -> BoxFuture<'a, Result<ReviewReply, String>> {
        async move {
            Ok(ReviewReply {
                json: br#"{"response":{"allowed":true}}"#.to_vec(),
                mutated_method: None,
                missing_sa: false,
            })
        }
        .boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_metrics_then_graceful_stop() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("tls.key"), key.serialize_pem()).unwrap();
    let state = AppState {
        reviewer: Arc::new(Allow),
        ready: Arc::new(|| Ok(())),
        metrics: Metrics::new(),
    };
    let running = start(
        ServerOptions::loopback(dir.path().join("tls.crt"), dir.path().join("tls.key")),
        state,
        None,
    )
    .await
    .unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(running.https_addr)
        .await
        .unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let get = |path: &str| {
        http::Request::get(path)
            .header(http::header::HOST, "localhost")
            .body(Body::empty())
            .unwrap()
    };
    let resp = sender.send_request(get("/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"ok");

    // Plain HTTP on the metrics port shows the request just made.
    let tcp = tokio::net::TcpStream::connect(running.metrics_addr)
        .await
        .unwrap();
    let (mut msender, mconn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(mconn);
    let resp = msender.send_request(get("/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains(r#"http_request_count{code="200",path="/healthz",verb="GET"} 1"#),
        "{text}"
    );

    // Graceful stop: the idle keep-alive connection is closed by the server, the
    // listener stops accepting, and `wait` returns well before the drain limit.
    let https_addr = running.https_addr;
    running.shutdown.trigger();
    running.wait().await;
    assert!(
        conn.await.unwrap().is_ok(),
        "keep-alive connection closed cleanly"
    );
    assert!(
        tokio::net::TcpStream::connect(https_addr).await.is_err(),
        "listener still accepting"
    );
}
