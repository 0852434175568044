//! The webhook measured on a real kube-apiserver, in one run: admission reviews/s and
//! p50/p99 over HTTPS keep-alive, resident memory idle and with 50,000 ServiceAccounts
//! created in the apiserver (realistic annotations and labels, watched by the webhook's
//! real informer), and the time from creating an annotated ServiceAccount to the first pod
//! the apiserver admits with its role.
//!
//!   tools/build-kube && cargo bench --bench webhook_on_apiserver [-- --webhook PATH]
//!
//! `--webhook PATH` (or `BENCH_WEBHOOK`) measures another flag-compatible implementation
//! (the reference, say) under the same load with the same harness; default: ours.
//! `BENCH_SERVICE_ACCOUNTS` (50000), `BENCH_REQUESTS` (20000), `BENCH_CONNECTIONS` (4)
//! override the sizes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use futures::StreamExt;
use irsa_lab::backend::ClusterState;
use irsa_lab::backend::control_plane::api;
use irsa_lab::backend::control_plane::apiserver::ControlPlane;
use irsa_lab::backend::control_plane::binaries::Binaries;
use irsa_lab::backend::control_plane::sync::WatchBarrier;
use irsa_lab::backend::control_plane::webhook::OutOfClusterWebhook;
use irsa_lab::scenario::model::{Cluster, Webhook};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::111122223333:role/bench";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// A ServiceAccount as clusters have them: Helm labels, a last-applied annotation, and a
/// role on one in four.
fn service_account(i: usize) -> (String, Value) {
    let namespace = format!("team-{}", i % 500);
    let mut annotations = json!({
        "kubectl.kubernetes.io/last-applied-configuration": format!(r#"{{"apiVersion":"v1","kind":"ServiceAccount","metadata":{{"name":"sa-{i}","namespace":"{namespace}"}}}}"#),
        "meta.helm.sh/release-name": format!("release-{}", i % 50),
        "meta.helm.sh/release-namespace": namespace,
    });
    if i.is_multiple_of(4) {
        annotations["eks.amazonaws.com/role-arn"] =
            json!(format!("arn:aws:iam::111122223333:role/sa-{i}"));
    }
    let sa = json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {
            "name": format!("sa-{i}"), "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": format!("app-{}", i % 200), "team": format!("team-{}", i % 500)},
            "annotations": annotations,
        },
    });
    (namespace, sa)
}

fn review(namespace: &str, sa: &str) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uuid::Uuid::new_v4().to_string(),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace, "operation": "CREATE", "userInfo": {"username": "bench"},
            "object": {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-0", "namespace": namespace, "labels": {"app": "web"}},
                "spec": {"serviceAccountName": sa, "containers": [
                    {"name": "app", "image": "registry.example.com/app:1.0", "env": [{"name": "LOG_LEVEL", "value": "info"}]},
                    {"name": "sidecar", "image": "registry.example.com/proxy:1.0"}]}},
        },
    })
}

async fn run(webhook_binary: PathBuf) -> anyhow::Result<()> {
    let accounts = env_usize("BENCH_SERVICE_ACCOUNTS", 50_000);
    let requests = env_usize("BENCH_REQUESTS", 20_000);
    let connections = env_usize("BENCH_CONNECTIONS", 4);
    let binaries = Binaries::locate()?;
    let cluster = ClusterState::new(&Cluster::default());
    let began = Instant::now();
    let plane = ControlPlane::start(&cluster, binaries).await?;
    println!(
        "kube-apiserver ready in {:.1} s (etcd and apiserver started in {:.1} s)",
        plane.last_start.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
    let client = plane.client().await?;
    let default_sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}});
    api::ensure(&client, "ServiceAccount", Some("default"), default_sa).await?;
    let bench_sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bench", "namespace": "default", "annotations": {"eks.amazonaws.com/role-arn": ROLE}}});
    api::apply(&client, "ServiceAccount", Some("default"), bench_sa).await?;
    let setup = Webhook {
        flags: vec!["--aws-default-region=us-west-2".into()],
        ..Webhook::default()
    };
    let webhook = OutOfClusterWebhook::start(&plane, &webhook_binary, &setup).await?;
    let pid = webhook
        .pid()
        .ok_or_else(|| anyhow::anyhow!("the webhook is not running"))?;
    println!("webhook: {}", webhook_binary.display());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_mib(pid);
    println!("webhook RSS idle: {idle:.1} MiB");

    // 50,000 ServiceAccounts in 500 namespaces, 32 requests in flight.
    let created = Instant::now();
    let namespaces: Vec<String> = (0..accounts.min(500))
        .map(|i| format!("team-{i}"))
        .collect();
    futures::stream::iter(namespaces)
        .map(|ns| {
            let client = client.clone();
            async move {
                let object =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                api::ensure(&client, "Namespace", None, object).await
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<()>, _>>()?;
    let mut done = 0usize;
    let mut stream = futures::stream::iter(0..accounts)
        .map(|i| {
            let client = client.clone();
            async move {
                let (namespace, sa) = service_account(i);
                api::create(&client, "ServiceAccount", Some(&namespace), sa).await
            }
        })
        .buffer_unordered(32);
    while let Some(result) = stream.next().await {
        result?;
        done += 1;
        if done.is_multiple_of(10_000) {
            println!(
                "  {done} ServiceAccounts created ({:.0}/s)",
                done as f64 / created.elapsed().as_secs_f64()
            );
        }
    }
    let ca = &webhook.ca_pem;
    let mut barrier = WatchBarrier::new(webhook.port, ca, "eks.amazonaws.com")?;
    barrier
        .wait(&client)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{accounts} ServiceAccounts created and seen by the webhook in {:.1} s",
        created.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loaded = rss_mib(pid);
    println!(
        "webhook RSS with {accounts} ServiceAccounts: {loaded:.1} MiB (+{:.1} MiB)",
        loaded - idle
    );
    if let Some(apiserver) = plane.apiserver_pid() {
        println!(
            "kube-apiserver RSS for scale: {:.0} MiB",
            rss_mib(apiserver)
        );
    }

    // Admission reviews over HTTPS keep-alive, straight to the webhook.
    let https = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes())?)
        .pool_max_idle_per_host(connections)
        .http1_only()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()?;
    let url = format!("https://127.0.0.1:{}/mutate?timeout=10s", webhook.port);
    let body = serde_json::to_vec(&review("default", "bench"))?;
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..requests)
        .map(|_| {
            let (https, url, body) = (https.clone(), url.clone(), body.clone());
            async move {
                let sent = Instant::now();
                let answer = https
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                let value: Value = answer.json().await?;
                let patch = value["response"]["patch"].as_str().unwrap_or_default();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(patch)
                    .unwrap_or_default();
                anyhow::ensure!(
                    String::from_utf8_lossy(&decoded).contains(ROLE),
                    "a review came back without the role"
                );
                Ok::<_, anyhow::Error>(sent.elapsed())
            }
        })
        .buffer_unordered(connections)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    println!(
        "admission over HTTPS keep-alive ({connections} connections, {requests} reviews): {:.0} reviews/s, p50 {:.2} ms, p99 {:.2} ms",
        requests as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    println!("webhook RSS after the load: {:.1} MiB", rss_mib(pid));

    // From an annotated ServiceAccount to the first pod the apiserver admits with its role.
    let mut delays = Vec::new();
    for n in 0..10 {
        let name = format!("fresh-{n}");
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "default", "annotations": {"eks.amazonaws.com/role-arn": ROLE}}});
        let began = Instant::now();
        api::create(&client, "ServiceAccount", Some("default"), sa).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let pod_name = format!("{name}-{attempt}");
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_name, "namespace": "default"},
                "spec": {"serviceAccountName": name, "automountServiceAccountToken": false, "containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]}});
            let stored = api::create(&client, "Pod", Some("default"), pod).await?;
            let _ = api::delete(&client, "Pod", "default", &pod_name).await;
            if stored.to_string().contains(ROLE) {
                delays.push(began.elapsed());
                break;
            }
            anyhow::ensure!(
                began.elapsed() < Duration::from_secs(30),
                "no pod got the role within 30 s"
            );
        }
    }
    delays.sort_unstable();
    println!(
        "annotated ServiceAccount -> first pod admitted with its role: p50 {:.1} ms, max {:.1} ms (10 runs)",
        percentile(&delays, 0.5).as_secs_f64() * 1e3,
        delays.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    webhook.stop().await;
    plane.stop().await;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let chosen = args
        .iter()
        .position(|a| a == "--webhook")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var("BENCH_WEBHOOK").ok());
    let binary = match chosen {
        Some(path) => PathBuf::from(path),
        None => match irsa_lab::backend::control_plane::binaries::webhook() {
            Ok(path) => path,
            Err(e) => {
                eprintln!("error: {e}");
                return std::process::ExitCode::from(2);
            }
        },
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    match runtime.block_on(run(binary)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
