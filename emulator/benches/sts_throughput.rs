//! AssumeRoleWithWebIdentity throughput over keep-alive HTTP on loopback, RS256-2048 tokens
//! with a warm JWKS cache, then the same load against moto's server for comparison.
//!
//! Run: `cargo bench -p irsa-emulator --bench sts_throughput` (moto comes from
//! `bash .ci/install-tools`; without it the comparison is skipped). Prints figures; asserts
//! nothing about speed.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use irsa_emulator::server::listen::{self, ListenerLimits};

#[path = "support/sts_world.rs"]
mod sts_world;
use sts_world::{emulator, form};

const CONNECTIONS: usize = 8;

struct Figures {
    requests: usize,
    failures: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn load(endpoint: &str, body: Bytes, requests: usize) -> Figures {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("client");
    let per_worker = requests / CONNECTIONS;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, body, url) = (client.clone(), body.clone(), endpoint.to_owned());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            let mut failures = 0;
            for _ in 0..per_worker {
                let t = Instant::now();
                let response = client
                    .post(&url)
                    .header(
                        "content-type",
                        "application/x-www-form-urlencoded; charset=utf-8",
                    )
                    .body(body.clone())
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => failures += 1,
                }
                latencies.push(t.elapsed());
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut failures = 0;
    for worker in workers {
        let (l, f) = worker.await.expect("worker");
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        requests: latencies.len(),
        failures,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

fn print(label: &str, f: &Figures, note: &str) {
    println!(
        "{label:<14} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests, {CONNECTIONS} keep-alive connections, {} failed) {note}",
        f.per_second,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.requests,
        f.failures
    );
}

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto() -> Option<(Moto, String)> {
    let venv = std::env::var_os("IRSA_LAB_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/irsa-lab/venv")
        });
    let bin = venv.join("bin/moto_server");
    if !bin.exists() {
        println!(
            "moto_server        skipped: {} not found (bash .ci/install-tools installs it)",
            bin.display()
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let moto = Moto(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            println!("moto_server        skipped: did not start within 30 s");
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some((moto, format!("http://127.0.0.1:{port}/")))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (emulator, token) = emulator();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}/", listener.local_addr().expect("addr"));
        let router = emulator.router();
        // The listener `irsa-lab serve` uses, with its default limits.
        tokio::spawn(listen::serve(
            listener,
            router,
            ListenerLimits::default(),
            std::future::pending(),
        ));
        let body = form(&token);
        let warm = load(&endpoint, body.clone(), 400).await;
        assert_eq!(warm.failures, 0, "the emulator must accept the bench token");
        let ours = load(&endpoint, body.clone(), 20_000).await;
        print("irsa-lab STS", &ours, "[RS256-2048, warm JWKS cache, full validation]");

        let Some((_moto, moto_endpoint)) = start_moto() else { return };
        let _ = load(&moto_endpoint, body.clone(), 80).await;
        let moto = load(&moto_endpoint, body, 2_000).await;
        print("moto_server", &moto, "[accepts any token: no signature, issuer, audience or trust checks]");
        println!("ratio          irsa-lab handles {:.1}x moto's requests per second while validating everything moto skips", ours.per_second / moto.per_second);
    });
}
