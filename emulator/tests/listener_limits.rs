//! The emulator's listener over real sockets: slow and idle clients are disconnected after
//! the configured limits (short here, 10 s by default), and well-behaved clients are served
//! meanwhile. Every wait is bounded by `GUARD`, so a regression fails instead of hanging.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use irsa_emulator::server::listen::{ListenerLimits, serve};
use irsa_emulator::server::{Emulator, EmulatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Longest any connection may stay open in these tests before the test fails.
const GUARD: Duration = Duration::from_secs(10);
const SLOW_CLIENTS: usize = 20;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(limits: ListenerLimits) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Emulator::new(EmulatorConfig::default()).router();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, router, limits, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(GUARD, &mut self.task)
            .await
            .expect("serve returns after shutdown")
            .unwrap();
    }
}

fn short(header_read_ms: u64) -> ListenerLimits {
    ListenerLimits {
        header_read: Duration::from_millis(header_read_ms),
        body_idle: Duration::from_millis(header_read_ms),
        ..ListenerLimits::default()
    }
}

/// Reads until the server closes the connection; panics if it is still open after `GUARD`.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
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

/// A slowloris client: a request head sent one byte every 20 ms, never finished. Returns
/// once the server has closed the connection.
async fn slowloris(addr: SocketAddr, connected: Arc<AtomicUsize>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".to_vec();
    let (mut reader, mut writer) = stream.split();
    let trickle = async {
        for (i, byte) in head.iter().chain(std::iter::repeat(&b'a')).enumerate() {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            if i == 0 {
                connected.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let closed = async {
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    let outcome = tokio::time::timeout(GUARD, async {
        tokio::select! {
            () = closed => {}
            () = trickle => {}
        }
    })
    .await;
    assert!(outcome.is_ok(), "a slowloris client was held for {GUARD:?}");
}

async fn well_behaved_request(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    String::from_utf8_lossy(&until_closed(&mut stream).await).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_slowloris_clients_are_disconnected_and_a_good_client_is_served_meanwhile() {
    let server = Server::start(short(300)).await;
    let connected = Arc::new(AtomicUsize::new(0));
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| tokio::spawn(slowloris(server.addr, Arc::clone(&connected))))
        .collect();
    while connected.load(Ordering::SeqCst) < SLOW_CLIENTS {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let response = well_behaved_request(server.addr).await;
    assert!(response.starts_with("HTTP/1.1 "), "{response}");
    for client in slow {
        client.await.unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let server = Server::start(short(200)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    until_closed(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_response() {
    let server = Server::start(short(200)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let seen = String::from_utf8_lossy(&until_closed(&mut stream).await).into_owned();
    assert!(seen.starts_with("HTTP/1.1 "), "{seen}");
    assert!(
        !seen.to_ascii_lowercase().contains("connection: close"),
        "the response itself kept the connection alive: {seen}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_request_body_that_stalls_is_cut_off() {
    let server = Server::start(short(200)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"PUT /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly ten b",
        )
        .await
        .unwrap();
    until_closed(&mut stream).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_beyond_the_limit_waits_for_a_free_slot() {
    let server = Server::start(ListenerLimits {
        max_connections: 1,
        ..ListenerLimits::default()
    })
    .await;
    // The first connection takes the only slot and sends nothing.
    let idle = TcpStream::connect(server.addr).await.unwrap();
    let addr = server.addr;
    let second = tokio::spawn(async move { well_behaved_request(addr).await });
    // With the slot taken the second request cannot be answered, however long it waits.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !second.is_finished(),
        "a second connection was served while the only slot was taken"
    );
    drop(idle);
    let response = second.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 "), "{response}");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_returns_with_an_idle_connection_open() {
    let server = Server::start(ListenerLimits::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 9];
    stream.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 ");
    server.stop().await;
}
