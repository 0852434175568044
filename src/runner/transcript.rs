//! The transcript of a run, as snapshot-tested: steps, what each saw, AWS's or kube's
//! answers, the mutated pod, token claims. Redaction keeps meaning: kids by their key
//! names (`[kid:key-b]`), times relative to the scenario's start (`t+1h`), and tokens,
//! uuids, credentials, ids and ports replaced by placeholders.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::outcome::{Seen, StepOutcome};
use crate::backend::ClusterState;

/// Claims that are times.
const TIME_CLAIMS: [&str; 4] = ["iat", "nbf", "exp", "warnafter"];

/// `t+1h30m` / `t-5m` / `t+0s`.
pub fn relative(start: i64, at: i64) -> String {
    let delta = at - start;
    let text = humantime::format_duration(std::time::Duration::from_secs(delta.unsigned_abs()))
        .to_string();
    let text = text.replace(' ', "");
    if delta < 0 {
        format!("t-{text}")
    } else {
        format!("t+{text}")
    }
}

/// Replaces what changes from run to run by what it means.
#[derive(Debug, Clone)]
pub struct Redactor {
    start: i64,
    /// kid → key name.
    kids: Vec<(String, String)>,
}

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (
            r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*",
            "[token]",
        ),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[uuid]",
        ),
        (r"\bASIA[A-Z0-9]{16}\b", "[access-key-id]"),
        (r"\bAROA[A-Z0-9]{17}\b", "[role-id]"),
        // Where the apiserver calls the webhook is the registration's choice: a Service
        // (emulated, kind) or a URL on loopback (control-plane).
        (
            r#"Post "https://[^/"]+/mutate"#,
            r#"Post "https://[webhook]/mutate"#,
        ),
        // ... and the address it dials: loopback out of cluster, the Service's ClusterIP in
        // a real cluster.
        (
            r#"(/mutate\?timeout=\d+s": dial tcp )[0-9a-f.:\[\]]+:\d+"#,
            "${1}[webhook-address]",
        ),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"\.svc:\d+", ".svc:[port]"),
        (r"kube-api-access-[a-z0-9]{5}", "kube-api-access-[id]"),
        (r"/tmp/[A-Za-z0-9._/-]+", "[temp-path]"),
        // SHA-1 thumbprints of CAs made fresh for each run.
        (r"\b[0-9a-f]{40}\b", "[thumbprint]"),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("valid regex"), r))
    .collect()
});
static EPOCH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b1[0-9]{9}\b").expect("valid regex"));
static ISO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z").expect("valid regex"));

impl Redactor {
    pub fn new(start: i64, cluster: &ClusterState) -> Self {
        Self {
            start,
            kids: cluster.kid_names(),
        }
    }

    /// Learns the kids of keys added later (rotation).
    pub fn learn(&mut self, cluster: &ClusterState) {
        for pair in cluster.kid_names() {
            if !self.kids.contains(&pair) {
                self.kids.push(pair);
            }
        }
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (kid, name) in &self.kids {
            out = out.replace(kid, &format!("[kid:{name}]"));
        }
        for (pattern, replacement) in PATTERNS.iter() {
            out = pattern.replace_all(&out, *replacement).into_owned();
        }
        // RFC 3339 times (diagnoses, expirations) become relative to the start.
        let out = ISO
            .replace_all(
                &out,
                |c: &regex::Captures<'_>| match time::OffsetDateTime::parse(
                    &c[0],
                    &time::format_description::well_known::Rfc3339,
                ) {
                    Ok(at) => format!("[{}]", relative(self.start, at.unix_timestamp())),
                    Err(_) => c[0].to_owned(),
                },
            )
            .into_owned();
        // Epoch seconds near the start (error messages, session names) become relative.
        EPOCH
            .replace_all(&out, |c: &regex::Captures<'_>| {
                let at: i64 = c[0].parse().unwrap_or_default();
                if (at - self.start).abs() < 20 * 365 * 86_400 {
                    format!("[{}]", relative(self.start, at))
                } else {
                    c[0].to_owned()
                }
            })
            .into_owned()
    }

    pub fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Claims with times relative to the start.
    pub fn claims(&self, claims: &Value) -> Value {
        let mut claims = claims.clone();
        fn times(value: &mut Value, start: i64) {
            if let Value::Object(map) = value {
                for (key, v) in map.iter_mut() {
                    if TIME_CLAIMS.contains(&key.as_str())
                        && let Some(at) = v.as_i64()
                    {
                        *v = Value::String(relative(start, at));
                    } else {
                        times(v, start);
                    }
                }
            }
        }
        times(&mut claims, self.start);
        self.value(&claims)
    }
}

/// One step's entry.
pub fn step_entry(index: usize, title: &str, outcome: &StepOutcome, redactor: &Redactor) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), json!(format!("{}. {title}", index + 1)));
    let seen: &Seen = match outcome {
        Ok(seen) => {
            entry.insert("result".into(), json!("ok"));
            seen
        }
        Err((failure, seen)) => {
            entry.insert(
                "result".into(),
                json!({"error": {"code": failure.code, "message": redactor.text(&failure.message)}}),
            );
            if let Some(why) = &failure.diagnosis {
                entry.insert("why".into(), json!(redactor.text(why)));
            }
            seen
        }
    };
    let mut facts = seen.facts.clone();
    if let Some((header, claims)) = &seen.token {
        facts.insert(
            "token".into(),
            json!({"header": redactor.value(header), "claims": redactor.claims(claims)}),
        );
    }
    if !facts.is_empty() {
        entry.insert("seen".into(), redactor.value(&Value::Object(facts)));
    }
    Value::Object(entry)
}
