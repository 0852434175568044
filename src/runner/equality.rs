//! Equality of two transcripts of one scenario: the emulated snapshot (the reference) and a
//! run on another backend. Everything is compared as recorded (redacted the same way)
//! except what a real process cannot make identical and does not change the meaning:
//! times relative to the start (`t+3s`) may differ by the run's real duration, since real
//! binaries take real time; a token's lifetime (`exp - iat`) must still be exact. Steps the
//! scenario declares as not playable or differing on that backend are not compared.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::scenario::limits::{self, BackendKind, BackendLimit};

/// The result of comparing one scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Steps compared (1-based).
    pub compared: Vec<usize>,
    /// Steps declared as differing, not compared.
    pub declared_different: Vec<usize>,
    /// The first step not played, as declared.
    pub stopped_at: Option<usize>,
    /// What differs, one line each, naming the step and the path.
    pub differences: Vec<String>,
}

impl Comparison {
    pub fn equal(&self) -> bool {
        self.differences.is_empty()
    }
}

/// A relative time as the redactor writes it: `t+1h30m`, `t-5m`, `t+0s`.
static RELATIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bt([+-])(\d[0-9a-z]*)").expect("valid regex"));

fn seconds(sign: &str, text: &str) -> Option<i64> {
    // The redactor removed humantime's spaces; put them back between units.
    let spaced = Regex::new(r"([a-z])(\d)")
        .expect("valid regex")
        .replace_all(text, "$1 $2")
        .into_owned();
    let secs = humantime::parse_duration(&spaced).ok()?.as_secs() as i64;
    Some(if sign == "-" { -secs } else { secs })
}

/// `text` with each relative time replaced by `t?`, and the times in seconds.
fn split_times(text: &str) -> (String, Vec<i64>) {
    let mut times = Vec::new();
    let shape = RELATIVE
        .replace_all(text, |c: &regex::Captures<'_>| {
            match seconds(&c[1], &c[2]) {
                Some(s) => {
                    times.push(s);
                    "t?".to_owned()
                }
                None => c[0].to_owned(),
            }
        })
        .into_owned();
    (shape, times)
}

fn relative_seconds(value: &Value) -> Option<i64> {
    let (shape, times) = split_times(value.as_str()?);
    (shape == "t?" && times.len() == 1).then(|| times[0])
}

struct Walker {
    tolerance: i64,
    differences: Vec<String>,
}

impl Walker {
    fn differ(&mut self, path: &str, reference: &Value, other: &Value) {
        self.differences.push(format!(
            "{path}: emulated {}, this backend {}",
            short(reference),
            short(other)
        ));
    }

    fn walk(&mut self, path: &str, reference: &Value, other: &Value) {
        match (reference, other) {
            (Value::String(a), Value::String(b)) if a != b => {
                let (shape_a, times_a) = split_times(a);
                let (shape_b, times_b) = split_times(b);
                let close = shape_a == shape_b
                    && times_a.len() == times_b.len()
                    && times_a
                        .iter()
                        .zip(&times_b)
                        .all(|(x, y)| (x - y).abs() <= self.tolerance);
                if !close {
                    self.differ(path, reference, other);
                }
            }
            (Value::Object(a), Value::Object(b)) => {
                for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                    let here = format!("{path}.{key}");
                    match (a.get(key), b.get(key)) {
                        (Some(x), Some(y)) => self.walk(&here, x, y),
                        (x, y) => {
                            self.differ(&here, x.unwrap_or(&Value::Null), y.unwrap_or(&Value::Null))
                        }
                    }
                }
                // A token's lifetime is exact on every backend.
                let lifetime = |m: &serde_json::Map<String, Value>| {
                    Some(relative_seconds(m.get("exp")?)? - relative_seconds(m.get("iat")?)?)
                };
                if let (Some(x), Some(y)) = (lifetime(a), lifetime(b))
                    && x != y
                {
                    self.differences.push(format!(
                        "{path}: token lifetime exp - iat: emulated {x} s, this backend {y} s"
                    ));
                }
            }
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    self.walk(&format!("{path}[{i}]"), x, y);
                }
            }
            (a, b) if a != b => self.differ(path, a, b),
            _ => {}
        }
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 300 {
        format!("{}…", &text[..300])
    } else {
        text
    }
}

/// Compares `other` (a run on `backend`) with `reference` (the emulated snapshot).
/// `tolerance` is how far relative times may drift, in seconds (the run's real duration).
pub fn compare(
    reference: &Value,
    other: &Value,
    declared: &[BackendLimit],
    backend: BackendKind,
    tolerance: i64,
) -> Comparison {
    let mut walker = Walker {
        tolerance,
        differences: Vec::new(),
    };
    walker.walk("limits", &reference["limits"], &other["limits"]);
    let stopped_at = limits::stop_at(declared, backend).map(|(n, _)| n);
    let declared_different = limits::differing(declared, backend);
    let empty = Vec::new();
    let a = reference["steps"].as_array().unwrap_or(&empty);
    let b = other["steps"].as_array().unwrap_or(&empty);
    let played = stopped_at.map_or(a.len(), |n| n - 1);
    let mut compared = Vec::new();
    for index in 0..played {
        let step = index + 1;
        if declared_different.contains(&step) {
            continue;
        }
        match (a.get(index), b.get(index)) {
            (Some(x), Some(y)) => {
                walker.walk(&format!("step {step}"), x, y);
                compared.push(step);
            }
            (x, y) => walker.differ(
                &format!("step {step}"),
                x.unwrap_or(&Value::Null),
                y.unwrap_or(&Value::Null),
            ),
        }
    }
    if let Some(n) = stopped_at
        && b.get(n - 1)
            .is_none_or(|entry| entry.get("notPlayed").is_none())
    {
        walker.differences.push(format!(
            "step {n}: declared not playable on {backend}, but the run did not stop there"
        ));
    }
    Comparison {
        compared,
        declared_different,
        stopped_at,
        differences: walker.differences,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn transcript(iat: &str, exp: &str, message: &str) -> Value {
        json!({"scenario": "s", "steps": [
            {"name": "1. assumeRole", "result": "ok", "seen": {"token": {"claims": {"iat": iat, "exp": exp}}, "session": message}},
        ]})
    }

    #[test]
    fn times_within_the_tolerance_are_equal() {
        let a = transcript("t+0s", "t+1day", "botocore-session-[t+0s]");
        let b = transcript("t+4s", "t+1day4s", "botocore-session-[t+4s]");
        let result = compare(&a, &b, &[], BackendKind::ControlPlane, 10);
        assert!(result.equal(), "{:?}", result.differences);
        assert_eq!(result.compared, vec![1]);
    }

    #[test]
    fn times_beyond_the_tolerance_differ() {
        let a = transcript("t+0s", "t+1h", "x");
        let b = transcript("t+30s", "t+1h30s", "x");
        let result = compare(&a, &b, &[], BackendKind::ControlPlane, 10);
        assert!(result.differences.iter().any(|d| d.contains("claims.iat")));
    }

    #[test]
    fn a_lifetime_that_differs_by_seconds_is_a_difference() {
        // 3607 s against 3600 s: within the drift tolerance, but not the same token.
        let a = transcript("t+0s", "t+1h7s", "x");
        let b = transcript("t+0s", "t+1h", "x");
        let result = compare(&a, &b, &[], BackendKind::ControlPlane, 10);
        assert!(
            result
                .differences
                .iter()
                .any(|d| d.contains("token lifetime")),
            "{:?}",
            result.differences
        );
    }

    #[test]
    fn other_text_must_be_identical() {
        let a = transcript("t+0s", "t+1h", "Incorrect token audience");
        let b = transcript("t+0s", "t+1h", "Invalid identity token");
        let result = compare(&a, &b, &[], BackendKind::ControlPlane, 10);
        assert_eq!(result.differences.len(), 1, "{:?}", result.differences);
    }

    #[test]
    fn declared_steps_are_not_compared() {
        let a = json!({"steps": [{"result": "ok"}, {"result": "ok"}, {"result": "ok"}]});
        let b = json!({"steps": [{"result": "ok"}, {"result": "different"}, {"name": "3. x", "notPlayed": "why"}]});
        let declared = vec![
            BackendLimit {
                backend: BackendKind::ControlPlane,
                not_playable_from: Some(3),
                differs_at: vec![2],
                reason: "because".into(),
            },
            BackendLimit {
                backend: BackendKind::Kind,
                not_playable_from: Some(1),
                differs_at: Vec::new(),
                reason: "another backend's".into(),
            },
        ];
        let result = compare(&a, &b, &declared, BackendKind::ControlPlane, 0);
        assert!(result.equal(), "{:?}", result.differences);
        assert_eq!(result.compared, vec![1]);
        assert_eq!(result.declared_different, vec![2]);
        assert_eq!(result.stopped_at, Some(3));
    }

    #[test]
    fn a_declared_stop_the_run_did_not_make_is_a_difference() {
        let a = json!({"steps": [{"result": "ok"}, {"result": "ok"}]});
        let declared = vec![BackendLimit {
            backend: BackendKind::ControlPlane,
            not_playable_from: Some(2),
            differs_at: Vec::new(),
            reason: "because".into(),
        }];
        let result = compare(&a, &a, &declared, BackendKind::ControlPlane, 0);
        assert!(!result.equal());
    }
}
