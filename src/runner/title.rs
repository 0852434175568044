//! A one-line title for each step (progress lines, transcript, JUnit test cases).

use crate::scenario::Step;

pub fn of(step: &Step) -> String {
    let action = step.actions().first().copied().unwrap_or("?");
    let detail = if let Some(objects) = &step.apply {
        objects
            .iter()
            .map(|o| format!("{}/{}", o.kind(), o.name()))
            .collect::<Vec<_>>()
            .join(", ")
    } else if let Some(refs) = &step.delete {
        refs.iter()
            .map(|r| format!("{}/{}", r.kind, r.name))
            .collect::<Vec<_>>()
            .join(", ")
    } else if let Some(assume) = &step.assume_role {
        let fresh = if assume.fresh_token {
            " (fresh token)"
        } else {
            ""
        };
        format!("as pod {}{fresh}", assume.pod)
    } else if let Some(call) = &step.caller_identity {
        format!("with pod {}'s credentials", call.pod)
    } else if let Some(request) = &step.token_request {
        format!("for {}", request.service_account)
    } else if let Some(by) = &step.advance_clock {
        format!("by {by}")
    } else if let Some(edit) = &step.aws {
        first_key(serde_json::to_value(edit).ok())
    } else if let Some(edit) = &step.s3 {
        first_key(serde_json::to_value(edit).ok())
    } else if let Some(upgrade) = &step.upgrade_cluster {
        format!("to {}", upgrade.version)
    } else {
        String::new()
    };
    let base = if detail.is_empty() {
        action.to_owned()
    } else {
        format!("{action} {detail}")
    };
    match &step.name {
        Some(name) => format!("{base}: {name}"),
        None => base,
    }
}

/// The one key an `aws`/`s3` edit sets.
fn first_key(value: Option<serde_json::Value>) -> String {
    value
        .as_ref()
        .and_then(|v| v.as_object())
        .and_then(|o| o.keys().next().cloned())
        .unwrap_or_default()
}
