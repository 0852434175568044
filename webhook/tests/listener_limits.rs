//! The webhook's two real listeners (HTTPS admission, plain-HTTP metrics) against slow and
//! idle clients: a TLS handshake or a request head that does not complete within the
//! configured limit (short here, 10 s by default) closes the connection, and well-behaved
//! clients are served meanwhile. Every wait is bounded by `GUARD`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use pod_identity_webhook::server::limits::ConnectionLimits;
use pod_identity_webhook::server::metrics::Metrics;
use pod_identity_webhook::server::router::{AppState, ReviewReply, Reviewer};
use pod_identity_webhook::server::{Running, ServerOptions, start};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Longest any connection may stay open in these tests before the test fails.
const GUARD: Duration = Duration::from_secs(10);
const SLOW_CLIENTS: usize = 20;

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

struct Lab {
    running: Running,
    tls: TlsConnector,
    _dir: tempfile::TempDir,
}

async fn lab(limit_ms: u64) -> Lab {
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
    let limit = Duration::from_millis(limit_ms);
    let mut options =
        ServerOptions::loopback(dir.path().join("tls.crt"), dir.path().join("tls.key"));
    options.limits = ConnectionLimits {
        tls_handshake: limit,
        header_read: limit,
        body_idle: limit,
    };
    let running = start(options, state, None).await.unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert.der().to_vec()))
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Lab {
        running,
        tls: TlsConnector::from(Arc::new(client)),
        _dir: dir,
    }
}

impl Lab {
    async fn tls(&self) -> tokio_rustls::client::TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.running.https_addr).await.unwrap();
        self.tls
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.running.shutdown.trigger();
        tokio::time::timeout(GUARD, self.running.wait())
            .await
            .expect("the server stops");
    }
}

/// Reads until the server closes the connection; panics if it is still open after `GUARD`.
async fn until_closed(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(GUARD, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server held the connection for {GUARD:?}");
    seen
}

/// Sends `bytes` one every 20 ms (then `a`s for ever) until the server closes the stream.
async fn trickle<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    bytes: &[u8],
    started: &AtomicUsize,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        for (i, byte) in bytes.iter().chain(std::iter::repeat(&b'a')).enumerate() {
            if writer.write_all(&[*byte]).await.is_err() || writer.flush().await.is_err() {
                break;
            }
            if i == 0 {
                started.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let outcome = tokio::time::timeout(GUARD, async {
        tokio::select! {
            _ = until_closed(&mut reader) => {}
            () = write => {}
        }
    })
    .await;
    assert!(outcome.is_ok(), "a slow client was held for {GUARD:?}");
}

const HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
/// The first bytes of a TLS ClientHello record: enough to start the handshake, never
/// enough to finish it.
const HELLO_START: &[u8] = &[
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
];

async fn wait_for(counter: &AtomicUsize, n: usize) {
    while counter.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn healthz(stream: &mut (impl AsyncRead + AsyncWrite + Unpin)) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    stream.flush().await.unwrap();
    String::from_utf8_lossy(&until_closed(stream).await).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_slow_tls_handshakes_are_cut_off_and_a_good_client_is_served_meanwhile() {
    let lab = lab(300).await;
    let started = Arc::new(AtomicUsize::new(0));
    let addr = lab.running.https_addr;
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| {
            let started = Arc::clone(&started);
            tokio::spawn(async move {
                let tcp = TcpStream::connect(addr).await.unwrap();
                trickle(tcp, HELLO_START, &started).await;
            })
        })
        .collect();
    wait_for(&started, SLOW_CLIENTS).await;
    let mut good = lab.tls().await;
    let response = healthz(&mut good).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    for client in slow {
        client.await.unwrap();
    }
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_slow_request_heads_are_cut_off_and_a_good_client_is_served_meanwhile() {
    let lab = Arc::new(lab(300).await);
    let started = Arc::new(AtomicUsize::new(0));
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| {
            let (lab, started) = (Arc::clone(&lab), Arc::clone(&started));
            tokio::spawn(async move {
                let stream = lab.tls().await;
                trickle(stream, HEAD, &started).await;
            })
        })
        .collect();
    wait_for(&started, SLOW_CLIENTS).await;
    let mut good = lab.tls().await;
    let response = healthz(&mut good).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    for client in slow {
        client.await.unwrap();
    }
    let Ok(lab) = Arc::try_unwrap(lab) else {
        panic!("every slow client has finished")
    };
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_slow_request_heads_are_cut_off_and_a_good_client_is_served_meanwhile() {
    let lab = lab(300).await;
    let started = Arc::new(AtomicUsize::new(0));
    let addr: SocketAddr = lab.running.metrics_addr;
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| {
            let started = Arc::clone(&started);
            tokio::spawn(async move {
                let tcp = TcpStream::connect(addr).await.unwrap();
                trickle(
                    tcp,
                    b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: ",
                    &started,
                )
                .await;
            })
        })
        .collect();
    wait_for(&started, SLOW_CLIENTS).await;
    let mut good = TcpStream::connect(addr).await.unwrap();
    good.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let response = String::from_utf8_lossy(&until_closed(&mut good).await).into_owned();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    for client in slow {
        client.await.unwrap();
    }
    lab.stop().await;
}

#[tokio::test]
async fn https_connection_that_sends_nothing_is_closed() {
    let lab = lab(200).await;
    let mut tcp = TcpStream::connect(lab.running.https_addr).await.unwrap();
    until_closed(&mut tcp).await;
    lab.stop().await;
}

#[tokio::test]
async fn https_idle_keep_alive_connection_is_closed() {
    let lab = lab(200).await;
    let mut stream = lab.tls().await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let seen = String::from_utf8_lossy(&until_closed(&mut stream).await).into_owned();
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    lab.stop().await;
}

#[tokio::test]
async fn https_admission_body_that_stalls_is_cut_off() {
    let lab = lab(200).await;
    let mut stream = lab.tls().await;
    stream
        .write_all(
            b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"kind\":",
        )
        .await
        .unwrap();
    stream.flush().await.unwrap();
    until_closed(&mut stream).await;
    lab.stop().await;
}
