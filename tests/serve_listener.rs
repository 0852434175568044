//! `irsa-lab serve` itself (the real binary) disconnects slow and idle clients after
//! `--header-read-timeout`, and refuses a zero timeout.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use support::*;

/// How long the test waits for the server to close a connection before failing.
const GUARD: Duration = Duration::from_secs(10);

fn connect(endpoint: &str) -> TcpStream {
    let addr = endpoint.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).expect("connect to irsa-lab serve");
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream
}

/// Whether the server closed the connection (EOF or reset) rather than the guard expiring.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn serve_closes_a_client_that_never_finishes_its_request_head() {
    let served = Served::start(&["--header-read-timeout", "200ms"]);
    let mut stream = connect(&served.endpoint);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        .unwrap();
    assert!(
        closed_by_server(&mut stream),
        "irsa-lab serve held a slow client for {GUARD:?}"
    );
}

#[test]
fn serve_refuses_a_zero_header_read_timeout() {
    let out = Command::new(BIN)
        .args(["serve", "--port", "0", "--header-read-timeout", "0s"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--header-read-timeout"), "{stderr}");
    assert!(stderr.contains("must be above zero"), "{stderr}");
}
