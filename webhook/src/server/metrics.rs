//! Prometheus metrics with the reference's names, rendered in the text format.
//!
//! - `http_request_count{verb,path,code}`: counter.
//! - `http_request_latencies{verb,path}`: histogram in **microseconds** with the
//!   reference's buckets (exponential from 125 ms, factor 2, 7 buckets), as its
//!   `prometheus.NewHistogramVec` declares.
//! - `pod_identity_webhook_pod_count{method}`: counter of mutated pods per method.
//! - `pod_identity_webhook_missing_sa_count`: counter of pods whose SA was not found.
//! - `pod_identity_webhook_used`: gauge set to 1 once an SA with a role ARN is seen.
//!
//! The hot path takes a read lock on a small map and bumps atomics; series are created once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Upper bounds (µs) of the latency histogram: 125 ms × 2^i, i in 0..7.
pub const LATENCY_BUCKETS_MICROS: [u64; 7] = [
    125_000, 250_000, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000,
];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; 7],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

/// A probe read at scrape time (e.g. "has the SA cache seen a role ARN").
pub type UsedProbe = Arc<dyn Fn() -> bool + Send + Sync>;

/// The webhook's metrics registry.
#[derive(Default)]
pub struct Metrics {
    requests: RwLock<BTreeMap<(String, String, u16), Arc<AtomicU64>>>,
    latencies: RwLock<BTreeMap<(String, String), Arc<Histogram>>>,
    pods: RwLock<BTreeMap<String, Arc<AtomicU64>>>,
    missing_sa: AtomicU64,
    used: AtomicU64,
    used_probe: RwLock<Option<UsedProbe>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn get_or_insert<K: Ord + Clone, V: Default>(map: &RwLock<BTreeMap<K, Arc<V>>>, key: K) -> Arc<V> {
    if let Some(v) = map.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Arc::clone(v);
    }
    let mut w = map.write().unwrap_or_else(|p| p.into_inner());
    Arc::clone(w.entry(key).or_default())
}

/// Paths outside the known set are folded together so a scanner cannot grow the registry.
fn normalise_path(path: &str) -> &str {
    match path {
        "/mutate" | "/healthz" | "/readyz" | "/metrics" => path,
        _ => "other",
    }
}

/// Methods outside RFC 9110's set (plus PATCH) are folded into `other`, like paths: any
/// token is a valid HTTP method, so a client could otherwise mint one series per request.
fn normalise_verb(verb: &str) -> &str {
    match verb {
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "CONNECT" | "OPTIONS" | "TRACE" | "PATCH" => {
            verb
        }
        _ => "other",
    }
}

impl Metrics {
    /// A new, empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Records one served HTTP request.
    pub fn observe_request(&self, verb: &str, path: &str, code: u16, elapsed: Duration) {
        let path = normalise_path(path);
        let verb = normalise_verb(verb);
        get_or_insert(&self.requests, (verb.to_owned(), path.to_owned(), code))
            .fetch_add(1, Ordering::Relaxed);
        let h = get_or_insert(&self.latencies, (verb.to_owned(), path.to_owned()));
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        for (i, bound) in LATENCY_BUCKETS_MICROS.iter().enumerate() {
            if micros <= *bound {
                h.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        h.sum_micros.fetch_add(micros, Ordering::Relaxed);
        h.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a mutated pod (`method` e.g. `sts` or `container-credentials`).
    pub fn pod_mutated(&self, method: &str) {
        get_or_insert(&self.pods, method.to_owned()).fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a pod whose ServiceAccount was not found.
    pub fn missing_sa(&self) {
        self.missing_sa.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks the webhook as used (an SA with a role ARN exists).
    pub fn set_used(&self) {
        self.used.store(1, Ordering::Relaxed);
    }

    /// Sets `pod_identity_webhook_used` from `probe` at each scrape (e.g. `SaStore::any_role_arn`).
    pub fn set_used_probe(&self, probe: UsedProbe) {
        *self.used_probe.write().unwrap_or_else(|p| p.into_inner()) = Some(probe);
    }

    /// Renders every series in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        if let Some(probe) = self
            .used_probe
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && probe()
        {
            self.set_used();
        }
        let mut out = String::new();
        out.push_str("# HELP http_request_count Counter of requests broken out for each verb, path, and response code.\n# TYPE http_request_count counter\n");
        for ((verb, path, code), v) in self
            .requests
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "http_request_count{{code=\"{code}\",path=\"{}\",verb=\"{}\"}} {}",
                escape(path),
                escape(verb),
                v.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP http_request_latencies Response latency distribution in microseconds for each verb and path\n# TYPE http_request_latencies histogram\n");
        for ((verb, path), h) in self
            .latencies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let labels = format!("path=\"{}\",verb=\"{}\"", escape(path), escape(verb));
            for (i, bound) in LATENCY_BUCKETS_MICROS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "http_request_latencies_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.buckets[i].load(Ordering::Relaxed)
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "http_request_latencies_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "http_request_latencies_sum{{{labels}}} {}",
                h.sum_micros.load(Ordering::Relaxed)
            );
            let _ = writeln!(out, "http_request_latencies_count{{{labels}}} {count}");
        }
        out.push_str("# HELP pod_identity_webhook_pod_count Number of pods mutated, by method\n# TYPE pod_identity_webhook_pod_count counter\n");
        for (method, v) in self.pods.read().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "pod_identity_webhook_pod_count{{method=\"{}\"}} {}",
                escape(method),
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP pod_identity_webhook_missing_sa_count Number of pods whose ServiceAccount was not found\n# TYPE pod_identity_webhook_missing_sa_count counter\npod_identity_webhook_missing_sa_count {}",
            self.missing_sa.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP pod_identity_webhook_used Indicator to know pod identity webhook is used\n# TYPE pod_identity_webhook_used gauge\npod_identity_webhook_used {}",
            self.used.load(Ordering::Relaxed)
        );
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_histogram_render() {
        let m = Metrics::new();
        m.observe_request("POST", "/mutate", 200, Duration::from_millis(200));
        m.observe_request("POST", "/mutate", 200, Duration::from_millis(1));
        m.observe_request("GET", "/wp-admin", 404, Duration::from_millis(1));
        m.pod_mutated("sts");
        m.missing_sa();
        m.set_used();
        let text = m.render();
        assert!(
            text.contains("http_request_count{code=\"200\",path=\"/mutate\",verb=\"POST\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("http_request_count{code=\"404\",path=\"other\",verb=\"GET\"} 1"),
            "{text}"
        );
        // 1 ms falls in every bucket, 200 ms only from 250 ms up.
        assert!(
            text.contains(
                "http_request_latencies_bucket{path=\"/mutate\",verb=\"POST\",le=\"125000\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "http_request_latencies_bucket{path=\"/mutate\",verb=\"POST\",le=\"250000\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("http_request_latencies_count{path=\"/mutate\",verb=\"POST\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("http_request_latencies_sum{path=\"/mutate\",verb=\"POST\"} 201000"),
            "{text}"
        );
        assert!(text.contains("pod_identity_webhook_pod_count{method=\"sts\"} 1"));
        assert!(text.contains("pod_identity_webhook_missing_sa_count 1"));
        assert!(text.contains("pod_identity_webhook_used 1"));
    }

    #[test]
    fn used_follows_the_probe() {
        let m = Metrics::new();
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let f = Arc::clone(&flag);
        m.set_used_probe(Arc::new(move || f.load(Ordering::Relaxed)));
        assert!(m.render().contains("pod_identity_webhook_used 0"));
        flag.store(true, Ordering::Relaxed);
        assert!(m.render().contains("pod_identity_webhook_used 1"));
    }
}
