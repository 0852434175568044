//! `irsa-lab diagnose`: given what a customer can paste (a token, the role ARN, the
//! discovery document and JWKS, the IAM provider and role, the pod and ServiceAccount, the
//! webhook's flags, the error text), walk STS's checks in AWS's order and the webhook's
//! decisions, offline, and say for each pass / fail / warn / unknown with the reason and
//! the fix; then map the error text to its known causes and say which the inputs confirm
//! or rule out. [`scenario`] turns the same inputs into a scenario file replaying them.
//!
//! Every verdict comes from the emulator's and the webhook's own code (JWT parsing, key
//! lookup, signature verification, trust-policy evaluation, the webhook's precedence
//! rules), so diagnose and the emulator cannot disagree.

pub mod causes;
pub mod check;
pub mod context;
pub mod inputs;
pub mod kube_objects;
pub mod render;
pub mod scenario;
pub mod sts;
pub mod webhook;

use serde::Serialize;

pub use causes::{Cause, KnownError, Verdict};
pub use check::{Check, Checks, Group, Status};
pub use context::Context;
pub use inputs::{InputError, Inputs, Sources, bundle_files};

/// One known error found in the customer's text, with its causes judged.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorFinding {
    /// The error's id (`key-retrieval`).
    pub id: &'static str,
    pub code: &'static str,
    /// True when it was not in the text but is what the first failing check makes STS
    /// (or the SDK) answer.
    pub predicted: bool,
    pub causes: Vec<Cause>,
}

/// Everything diagnose found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The moment the checks were made for (Unix seconds) and where it came from.
    pub at: i64,
    pub at_source: String,
    /// Which inputs were given.
    pub inputs: Vec<&'static str>,
    pub checks: Checks,
    pub errors: Vec<ErrorFinding>,
    /// The first confirmed cause (else the first possible one) of the first error.
    pub most_likely_cause: Option<Cause>,
    /// Whether any check failed (exit status 1).
    pub failed: bool,
}

fn given(inputs: &Inputs) -> Vec<&'static str> {
    let flags = [
        ("token", true),
        ("roleArn", inputs.role_arn.is_some()),
        ("discovery", inputs.discovery.is_some()),
        ("jwks", inputs.jwks.is_some()),
        ("provider", inputs.provider.is_some()),
        ("role", inputs.role.is_some()),
        ("pod", inputs.pod.is_some()),
        ("serviceAccount", inputs.service_account.is_some()),
        ("webhookFlags", inputs.webhook_flags.is_some()),
        ("error", inputs.error.is_some()),
        ("at", inputs.at.is_some()),
    ];
    flags
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect()
}

/// Runs every check. `now` (Unix seconds) is used when neither the inputs nor the error
/// text say when the failure happened.
pub fn diagnose(inputs: &Inputs, now: i64) -> Report {
    let cx = Context::new(inputs, now);
    let mut checks = Checks::default();
    let decision = webhook::decide(&cx);
    webhook::check(&cx, &decision, &mut checks);
    sts::check(&cx, &mut checks);
    // STS first in the report: it is the order AWS checks in; the webhook's part follows.
    checks.0.sort_by_key(|c| c.group == Group::Webhook);
    let mut errors: Vec<ErrorFinding> = inputs
        .error
        .as_deref()
        .map(causes::classify)
        .unwrap_or_default()
        .into_iter()
        .map(|e| ErrorFinding {
            id: e.id,
            code: e.code,
            predicted: false,
            causes: causes::judge(e.id, &cx, &checks),
        })
        .collect();
    if errors.is_empty()
        && let Some(e) = causes::predicted(&checks)
    {
        errors.push(ErrorFinding {
            id: e.id,
            code: e.code,
            predicted: true,
            causes: causes::judge(e.id, &cx, &checks),
        });
    }
    let pick = |verdict: Verdict| {
        errors
            .iter()
            .flat_map(|e| e.causes.iter())
            .find(|c| c.verdict == verdict)
            .cloned()
    };
    let most_likely_cause = pick(Verdict::Confirmed).or_else(|| {
        errors
            .first()
            .and_then(|e| e.causes.iter().find(|c| c.verdict == Verdict::Possible))
            .cloned()
    });
    let failed = checks.0.iter().any(|c| c.status == Status::Fail);
    Report {
        at: cx.at,
        at_source: cx.at_source.clone(),
        inputs: given(inputs),
        checks,
        errors,
        most_likely_cause,
        failed,
    }
}
