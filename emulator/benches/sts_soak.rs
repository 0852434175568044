//! Soak: several rounds of sustained AssumeRoleWithWebIdentity load against a real listener
//! (the one `irsa-lab serve` uses), printing per round the process's resident memory and
//! the latency percentiles. Issued credentials are sealed into their session tokens, not
//! stored, so both must stay flat however many credentials are issued (issue 10: with a
//! store of every credential, RSS went 177 → 329 → 539 MiB and p99 5 → 65 → 228 ms over three
//! 10-second rounds).
//!
//! Run: `cargo bench -p irsa-emulator --bench sts_soak` (`SOAK_ROUNDS`, default 5, and
//! `SOAK_SECONDS` per round, default 5). Prints figures; asserts nothing about speed.

use std::time::{Duration, Instant};

use bytes::Bytes;
use irsa_emulator::server::listen::{self, ListenerLimits};

#[path = "support/sts_world.rs"]
mod sts_world;
use sts_world::{emulator, form};

const CONNECTIONS: usize = 8;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// VmRSS of this process (server and load generator), in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// `CONNECTIONS` keep-alive clients sending the form back to back for `length`.
async fn round(endpoint: &str, body: &Bytes, length: Duration) -> (Vec<Duration>, usize) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("client");
    let deadline = Instant::now() + length;
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, body, url) = (client.clone(), body.clone(), endpoint.to_owned());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            while Instant::now() < deadline {
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
    let mut latencies = Vec::new();
    let mut failures = 0;
    for worker in workers {
        let (l, f) = worker.await.expect("worker");
        latencies.extend(l);
        failures += f;
    }
    latencies.sort();
    (latencies, failures)
}

fn main() {
    let rounds = env_number("SOAK_ROUNDS", 5);
    let seconds = env_number("SOAK_SECONDS", 5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (emulator, token) = emulator();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}/", listener.local_addr().expect("addr"));
        tokio::spawn(listen::serve(
            listener,
            emulator.router(),
            ListenerLimits::default(),
            std::future::pending(),
        ));
        let body = form(&token);
        let (_, failures) = round(&endpoint, &body, Duration::from_millis(500)).await;
        assert_eq!(failures, 0, "the emulator must accept the bench token");
        println!(
            "sts_soak: {rounds} rounds x {seconds} s of AssumeRoleWithWebIdentity, {CONNECTIONS} keep-alive connections, RSS after warm-up {:.0} MiB",
            rss_mib()
        );
        let mut issued = 0usize;
        for n in 1..=rounds {
            let started = Instant::now();
            let (latencies, failures) =
                round(&endpoint, &body, Duration::from_secs(seconds)).await;
            let elapsed = started.elapsed();
            issued += latencies.len() - failures;
            let pick = |q: f64| {
                latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
            };
            println!(
                "round {n}: {:>7} requests {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  VmRSS {:>6.1} MiB  ({issued} credentials issued so far, {failures} failed)",
                latencies.len(),
                latencies.len() as f64 / elapsed.as_secs_f64(),
                pick(0.50).as_secs_f64() * 1e3,
                pick(0.99).as_secs_f64() * 1e3,
                rss_mib(),
            );
        }
    });
}
