//! Comparing what a step produced with its `expect`. Each mismatch is one readable line
//! (`expected ..., seen ...`), so the runner can print a diff a user can act on.

use serde_json::Value;

use super::actions::{container, container_env, pod_summary};
use super::outcome::{Seen, StepOutcome};
use super::token::claim;
use crate::backend::ClusterState;
use crate::scenario::expect::{Expect, glob_matches};

/// Everything the expectation needs beyond the step's outcome.
#[derive(Debug)]
pub struct Context<'a> {
    pub cluster: &'a ClusterState,
    pub sts_fetches: u64,
}

fn kid_name(cluster: &ClusterState, header: &Value) -> String {
    match header.get("kid").and_then(Value::as_str) {
        None => "none".into(),
        Some(kid) => cluster
            .kid_names()
            .into_iter()
            .find(|(k, _)| k == kid)
            .map(|(_, name)| name)
            .unwrap_or_else(|| format!("unknown kid {kid}")),
    }
}

/// The mismatches between `expect` (absent: "must succeed") and `outcome`.
pub fn check(expect: Option<&Expect>, outcome: &StepOutcome, context: &Context<'_>) -> Vec<String> {
    let default = Expect::default();
    let expect = expect.unwrap_or(&default);
    let mut mismatches = Vec::new();
    let seen: &Seen = match outcome {
        Ok(seen) => seen,
        Err((_, seen)) => seen,
    };
    match (&expect.error, outcome) {
        (None, Err((failure, _))) => mismatches.push(format!(
            "expected success, seen {}: {}",
            failure.code, failure.message
        )),
        (Some(wanted), Ok(_)) => mismatches.push(format!(
            "expected {}{}, seen success",
            wanted.code,
            wanted
                .message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )),
        (Some(wanted), Err((failure, _))) => {
            if wanted.code != failure.code {
                mismatches.push(format!(
                    "expected error code {}, seen {}",
                    wanted.code, failure.code
                ));
            }
            if let Some(message) = &wanted.message
                && !glob_matches(message, &failure.message)
            {
                mismatches.push(format!(
                    "expected message {message:?}\n           seen message {:?}",
                    failure.message
                ));
            }
        }
        (None, Ok(_)) => {}
    }
    if let Some(arn) = &expect.assumed_role_arn {
        match &seen.arn {
            Some(found) if glob_matches(arn, found) => {}
            found => mismatches.push(format!("expected assumed role {arn:?}, seen {found:?}")),
        }
    }
    if !expect.claims.is_empty() || expect.kid.is_some() || expect.token_lifetime.is_some() {
        match &seen.token {
            None => mismatches.push("expected a token, the step produced none".into()),
            Some((header, claims)) => {
                for (path, wanted) in &expect.claims {
                    let found = claim(claims, path);
                    let ok = match (wanted, found) {
                        (Value::Null, None) => true,
                        (Value::String(pattern), Some(Value::String(text))) => {
                            glob_matches(pattern, text)
                        }
                        (wanted, Some(found)) => wanted == found,
                        (_, None) => false,
                    };
                    if !ok {
                        mismatches.push(format!(
                            "claim {path}: expected {wanted}, seen {}",
                            found.map_or("nothing".into(), Value::to_string)
                        ));
                    }
                }
                if let Some(kid) = &expect.kid {
                    let found = kid_name(context.cluster, header);
                    if &found != kid {
                        mismatches.push(format!("expected kid {kid}, seen {found}"));
                    }
                }
                if let Some(lifetime) = expect.token_lifetime {
                    let found = claims["exp"]
                        .as_i64()
                        .zip(claims["iat"].as_i64())
                        .map(|(e, i)| e - i);
                    if found != Some(lifetime.secs()) {
                        mismatches.push(format!(
                            "expected a token lifetime of {lifetime}, seen {found:?} s"
                        ));
                    }
                }
            }
        }
    }
    let wants_pod = !expect.env.is_empty() || expect.volumes.is_some() || expect.mounts.is_some();
    if wants_pod {
        match &seen.pod {
            None => mismatches.push("expected a pod, the step saw none".into()),
            Some(pod) => check_pod(expect, pod, &mut mismatches),
        }
    }
    if let Some(lifetime) = expect.credential_expiry
        && seen.credential_seconds != Some(lifetime.secs())
    {
        mismatches.push(format!(
            "expected credentials valid for {lifetime}, seen {:?} s",
            seen.credential_seconds
        ));
    }
    if let Some(fetches) = expect.sts_fetches
        && fetches != context.sts_fetches
    {
        mismatches.push(format!(
            "expected STS to have fetched the issuer's documents {fetches} time(s), seen {}",
            context.sts_fetches
        ));
    }
    mismatches
}

fn check_pod(expect: &Expect, pod: &Value, mismatches: &mut Vec<String>) {
    let Some(spec) = container(pod, expect.container.as_deref()) else {
        mismatches.push(format!("no container {:?} in the pod", expect.container));
        return;
    };
    let env = container_env(spec);
    for (name, wanted) in &expect.env {
        let found = env.get(name);
        let ok = match (wanted, found) {
            (None, None) => true,
            (Some(pattern), Some(value)) => glob_matches(pattern, value),
            _ => false,
        };
        if !ok {
            mismatches.push(format!("env {name}: expected {wanted:?}, seen {found:?}"));
        }
    }
    let summary = pod_summary(pod);
    if let Some(volumes) = &expect.volumes {
        let found: Vec<String> = summary["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                v.get("name")
                    .unwrap_or(v)
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .map(|n| {
                if n.starts_with("kube-api-access-") {
                    "kube-api-access-*".to_owned()
                } else {
                    n
                }
            })
            .collect();
        let wanted: Vec<String> = volumes.clone();
        if found.len() != wanted.len()
            || !found
                .iter()
                .zip(&wanted)
                .all(|(f, w)| glob_matches(w, f) || f == w)
        {
            mismatches.push(format!("volumes: expected {wanted:?}, seen {found:?}"));
        }
    }
    if let Some(mounts) = &expect.mounts {
        let found: Vec<String> = spec["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["mountPath"].as_str().unwrap_or_default().to_owned())
            .collect();
        if &found != mounts {
            mismatches.push(format!("mounts: expected {mounts:?}, seen {found:?}"));
        }
    }
}
