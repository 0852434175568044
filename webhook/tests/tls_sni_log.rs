//! With the webhook's own log filter (`RUST_LOG` unset), a TLS client that sends an IP
//! address as its server name (curl, Python and wrk do for `https://<ip>`) leaves no
//! "Illegal SNI" warning in the log. One test per process: it installs the global logger,
//! as `main` does, so that rustls's `log` records reach it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use pod_identity_webhook::server::metrics::Metrics;
use pod_identity_webhook::server::router::{AppState, ReviewReply, Reviewer};
use pod_identity_webhook::server::{ServerOptions, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing_subscriber::util::SubscriberInitExt;

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

/// A TLS 1.2 ClientHello whose server_name extension carries `name` as a host name.
fn client_hello_with_sni(name: &str) -> Vec<u8> {
    let be16 = |n: usize| u16::try_from(n).unwrap().to_be_bytes();
    let name = name.as_bytes();
    let mut list = vec![0u8]; // host_name
    list.extend(be16(name.len()));
    list.extend(name);
    let mut extension = vec![0u8, 0]; // server_name
    extension.extend(be16(list.len() + 2));
    extension.extend(be16(list.len()));
    extension.extend(list);
    let mut hello = vec![0x03, 0x03];
    hello.extend([0x5a; 32]); // random
    hello.push(0); // no session id
    hello.extend(be16(4));
    hello.extend([0xc0, 0x2f, 0x13, 0x01]); // ECDHE-RSA-AES128-GCM-SHA256, TLS_AES_128_GCM_SHA256
    hello.extend([1, 0]); // null compression
    hello.extend(be16(extension.len()));
    hello.extend(extension);
    let mut handshake = vec![1u8]; // client_hello
    handshake.extend(&u32::try_from(hello.len()).unwrap().to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(be16(handshake.len()));
    record.extend(handshake);
    record
}

#[tokio::test]
async fn an_ip_address_as_server_name_is_not_logged_as_a_warning() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_env_filter(pod_identity_webhook::logging::filter(None))
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish()
        .try_init()
        .expect("the only logger of this test process");

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

    let mut tcp = tokio::net::TcpStream::connect(running.https_addr)
        .await
        .unwrap();
    tcp.write_all(&client_hello_with_sni("127.0.0.1"))
        .await
        .unwrap();
    // The server parses the hello (where rustls would warn), then answers or closes.
    let mut reply = [0u8; 1];
    let answered = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut reply)).await;
    assert!(answered.is_ok(), "the server neither answered nor closed");
    running.shutdown.trigger();
    running.wait().await;

    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(log.contains("listening"), "the logger saw nothing: {log}");
    assert!(!log.contains("Illegal SNI"), "{log}");
}
