//! Admission reviews per second over HTTPS keep-alive on loopback.
//!
//! Starts the real server in-process (127.0.0.1, free port, generated certificate), opens
//! several keep-alive TLS connections, sends a fixed number of AdmissionReviews with a
//! realistic pod, and prints throughput and latency percentiles.
//!
//! Run: `cargo bench -p pod-identity-webhook --bench admission_https`
//! (`BENCH_CONNECTIONS` and `BENCH_REQUESTS` override the defaults 4 and 20000).
//!
//! The reviewer is the real admission path (identity resolution, mutation, patch
//! encoding) over an in-memory ServiceAccount, as the cache would serve it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use pod_identity_webhook::admission::Admission;
use pod_identity_webhook::config::MutationConfig;
use pod_identity_webhook::identity::{ServiceAccountInfo, StaticSources};
use pod_identity_webhook::server::metrics::Metrics;
use pod_identity_webhook::server::router::{AppState, Reviewer};
use pod_identity_webhook::server::{ServerOptions, start};
use rustls::pki_types::ServerName;

/// The real admission path: identity resolution from an in-memory SA (as the cache holds
/// it), the mutation, the patch encoding.
fn reviewer() -> Arc<dyn Reviewer> {
    let sources = StaticSources {
        service_accounts: vec![ServiceAccountInfo::with_role_arn(
            "default",
            "app",
            "eks.amazonaws.com",
            "arn:aws:iam::111122223333:role/app",
        )],
        ..StaticSources::default()
    };
    let cfg = MutationConfig {
        region: Some("us-west-2".into()),
        regional_sts: true,
        ..MutationConfig::default()
    };
    Arc::new(Admission::new(Arc::new(sources), cfg))
}

fn review_body() -> Vec<u8> {
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "web-7d9f8b6c5d-", "namespace": "default",
            "labels": {"app": "web", "pod-template-hash": "7d9f8b6c5d"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8b6c5d", "uid": "5b6c1d0e-1111-2222-3333-444455556666", "controller": true}]},
        "spec": {
            "serviceAccountName": "app",
            "containers": [{"name": "web", "image": "public.ecr.aws/nginx/nginx:1.27",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "env": [{"name": "LOG_LEVEL", "value": "info"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "volumeMounts": [{"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]}],
            "volumes": [{"name": "kube-api-access-abcde", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}]
        }
    });
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "default", "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": pod}
    }))
    .unwrap_or_default()
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench());
}

async fn bench() {
    let connections = env_or("BENCH_CONNECTIONS", 4);
    let requests = env_or("BENCH_REQUESTS", 20_000);

    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tls.crt"), cert.pem()).expect("write");
    std::fs::write(dir.path().join("tls.key"), key.serialize_pem()).expect("write");

    let state = AppState {
        reviewer: reviewer(),
        ready: Arc::new(|| Ok(())),
        metrics: Metrics::new(),
    };
    let opts = ServerOptions::loopback(dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let running = start(opts, state, None).await.expect("server start");
    let port = running.https_addr.port();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let body = bytes::Bytes::from(review_body());

    let per_conn = requests / connections;
    let start_all = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let connector = connector.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            tcp.set_nodelay(true).expect("nodelay");
            let tls = connector
                .connect(ServerName::try_from("localhost").expect("name"), tcp)
                .await
                .expect("handshake");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .expect("h1");
            tokio::spawn(conn);
            let mut lat = Vec::with_capacity(per_conn);
            let mut failures = 0usize;
            for _ in 0..per_conn {
                let req = http::Request::post("/mutate")
                    .header(http::header::HOST, "localhost")
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.clone()))
                    .expect("request");
                let t = Instant::now();
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let ok = resp.status() == 200;
                        let collected = resp.into_body().collect().await;
                        if !ok || collected.is_err() {
                            failures += 1;
                        }
                    }
                    Err(_) => failures += 1,
                }
                lat.push(t.elapsed());
            }
            (lat, failures)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    let mut failures = 0;
    for t in tasks {
        let (lat, f) = t.await.expect("client task");
        all.extend(lat);
        failures += f;
    }
    let elapsed = start_all.elapsed();
    all.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "admission: {:.0} reviews/s, p50 {:.2} ms, p99 {:.2} ms ({connections} connections, {} requests, {failures} failed, {} worker threads)",
        all.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
        all.len(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    );
    running.shutdown.trigger();
    running.wait().await;
}
