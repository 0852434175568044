//! Checks serde cannot make: names that must refer to something defined earlier, steps
//! that must have exactly one action and some effect, values with a syntax of their own.
//! Each problem is returned with its key path; the loader adds file, line and column.

use std::collections::BTreeSet;

use super::kube::KubeObject;
use super::model::{Hosting, Scenario};
use super::steps::{ACTIONS, Step};

type Problems = Vec<(String, String)>;

/// `major.minor` as numbers.
pub fn parse_version(version: &str) -> Option<(u32, u32)> {
    let version = version.trim_start_matches('v');
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn list(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Every problem of `scenario`, or `Ok`.
pub fn check(scenario: &Scenario) -> Result<(), Problems> {
    let mut problems = Problems::new();
    let mut bad = |path: String, message: String| problems.push((path, message));

    let cluster = &scenario.cluster;
    if parse_version(&cluster.version).is_none() {
        bad(
            "cluster.version".into(),
            format!(
                "invalid version {:?}: write major.minor, e.g. \"1.34\"",
                cluster.version
            ),
        );
    }
    let steps = scenario.steps.len();
    for (i, limit) in scenario.limits.iter().enumerate() {
        let in_range = |n: usize| (1..=steps).contains(&n);
        if let Some(n) = limit.not_playable_from
            && !in_range(n)
        {
            bad(
                format!("limits[{i}].notPlayableFrom"),
                format!("step {n} does not exist: steps are numbered 1 to {steps}"),
            );
        }
        for (j, n) in limit.differs_at.iter().enumerate() {
            if !in_range(*n) {
                bad(
                    format!("limits[{i}].differsAt[{j}]"),
                    format!("step {n} does not exist: steps are numbered 1 to {steps}"),
                );
            }
        }
        if limit.not_playable_from.is_none() && limit.differs_at.is_empty() {
            bad(
                format!("limits[{i}]"),
                "a limit says nothing: give notPlayableFrom or differsAt".into(),
            );
        }
        if limit.reason.trim().is_empty() {
            bad(
                format!("limits[{i}].reason"),
                "say why the backend cannot play it".into(),
            );
        }
    }
    if cluster.issuers.is_empty() {
        bad(
            "cluster.issuers".into(),
            "at least one issuer is needed".into(),
        );
    }
    let mut keys = BTreeSet::new();
    for (i, key) in cluster.keys.iter().enumerate() {
        if !keys.insert(key.name.clone()) {
            bad(
                format!("cluster.keys[{i}].name"),
                format!("key {:?} is defined twice", key.name),
            );
        }
    }
    let check_key =
        |path: String, name: &str, keys: &BTreeSet<String>, bad: &mut dyn FnMut(String, String)| {
            if !keys.contains(name) {
                bad(
                    path,
                    format!("no key named {name:?}; keys are: {}", list(keys)),
                );
            }
        };
    if let Some(signer) = &cluster.signing_key {
        check_key("cluster.signingKey".into(), signer, &keys, &mut bad);
    }
    for (i, name) in cluster.verification_keys.iter().flatten().enumerate() {
        check_key(
            format!("cluster.verificationKeys[{i}]"),
            name,
            &keys,
            &mut bad,
        );
    }
    if cluster.clock_ahead.is_some() && cluster.clock_behind.is_some() {
        bad(
            "cluster.clockAhead".into(),
            "set clockAhead or clockBehind, not both".into(),
        );
    }
    if time::OffsetDateTime::parse(
        &scenario.clock.start,
        &time::format_description::well_known::Rfc3339,
    )
    .is_err()
    {
        bad(
            "clock.start".into(),
            format!(
                "invalid time {:?}: write RFC 3339, e.g. 2026-01-01T00:00:00Z",
                scenario.clock.start
            ),
        );
    }
    let mut args = vec!["pod-identity-webhook".to_owned()];
    args.extend(scenario.webhook.flags.iter().cloned());
    if let Err(error) = <pod_identity_webhook::flags::Cli as clap::Parser>::try_parse_from(&args) {
        let text = error.to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        bad(
            "webhook.flags".into(),
            format!("the webhook refuses these flags: {first}"),
        );
    }
    let providers = &scenario.aws.oidc_providers;
    for (i, role) in scenario.aws.roles.iter().enumerate() {
        match (&role.trust_policy, &role.trust) {
            (Some(_), Some(_)) | (None, None) => bad(
                format!("aws.roles[{i}]"),
                format!(
                    "role {:?} needs exactly one of trustPolicy and trust",
                    role.name
                ),
            ),
            (None, Some(short)) if short.provider.is_none() && providers.len() != 1 => bad(
                format!("aws.roles[{i}].trust"),
                format!(
                    "trust.provider is needed: there are {} OIDC providers, not exactly one",
                    providers.len()
                ),
            ),
            _ => {}
        }
    }
    let buckets: BTreeSet<String> = scenario
        .aws
        .buckets
        .iter()
        .map(|b| b.name.clone())
        .collect();
    if let Hosting::Cdn(cdn) = &scenario.hosting
        && !buckets.contains(&cdn.bucket)
    {
        bad(
            "hosting.cdn.bucket".into(),
            format!(
                "no bucket named {:?} in aws.buckets; buckets are: {}",
                cdn.bucket,
                list(&buckets)
            ),
        );
    }
    if let Hosting::Cdn(_) = &scenario.hosting {
        for issuer in &scenario.cluster.issuers {
            let host = reqwest::Url::parse(issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            if !host.ends_with(".cloudfront.net") {
                bad(
                    "cluster.issuers".into(),
                    format!(
                        "with hosting `cdn` the issuer's host is the distribution's domain (dXXXXXXXXXXXXX.cloudfront.net); {issuer:?} is not one"
                    ),
                );
            }
        }
    }

    if scenario.steps.is_empty() {
        bad("steps".into(), "a scenario needs at least one step".into());
    }
    let mut pods = BTreeSet::new();
    let mut service_accounts = BTreeSet::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let at = format!("steps[{i}]");
        check_step(
            step,
            &at,
            &mut keys,
            &mut pods,
            &mut service_accounts,
            &mut bad,
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_step(
    step: &Step,
    at: &str,
    keys: &mut BTreeSet<String>,
    pods: &mut BTreeSet<String>,
    service_accounts: &mut BTreeSet<String>,
    bad: &mut dyn FnMut(String, String),
) {
    let actions = step.actions();
    match actions.len() {
        0 => {
            bad(
                at.to_owned(),
                format!("a step needs one action: {}", ACTIONS.join(", ")),
            );
            return;
        }
        1 => {}
        _ => {
            bad(
                at.to_owned(),
                format!(
                    "a step has exactly one action, this one has {}: split it into steps",
                    actions.join(" and ")
                ),
            );
            return;
        }
    }
    let action = actions[0];
    let here = format!("{at}.{action}");
    let no_effect = |bad: &mut dyn FnMut(String, String), what: &str| {
        bad(here.clone(), format!("this step has no effect: {what}"));
    };
    let pod_ref =
        |path: String, name: &str, pods: &BTreeSet<String>, bad: &mut dyn FnMut(String, String)| {
            if !pods.contains(name) {
                bad(
                    path,
                    format!("no pod named {name:?}; pods are: {}", list(pods)),
                );
            }
        };
    if let Some(publish) = &step.publish {
        for (k, name) in publish.keys.iter().flatten().enumerate() {
            if !keys.contains(name) {
                bad(
                    format!("{here}.keys[{k}]"),
                    format!("no key named {name:?}; keys are: {}", list(keys)),
                );
            }
        }
    }
    if let Some(objects) = &step.apply {
        if objects.is_empty() {
            no_effect(bad, "`apply` lists no objects");
        }
        for (k, object) in objects.iter().enumerate() {
            if object.name().is_empty() {
                bad(
                    format!("{here}[{k}].metadata.name"),
                    format!("the {} needs metadata.name", object.kind()),
                );
            }
            let qualified = qualify(object.namespace(), object.name());
            match object {
                KubeObject::Pod(_) => {
                    pods.insert(qualified);
                }
                KubeObject::Deployment(_) => {
                    pods.insert(qualify(object.namespace(), &format!("{}-0", object.name())));
                }
                KubeObject::ServiceAccount(_) => {
                    service_accounts.insert(qualified);
                }
                KubeObject::ConfigMap(_) => {}
            }
        }
    }
    if let Some(refs) = &step.delete {
        if refs.is_empty() {
            no_effect(bad, "`delete` lists no objects");
        }
        for (k, r) in refs.iter().enumerate() {
            if !super::kube::KINDS.contains(&r.kind.as_str()) {
                bad(
                    format!("{here}[{k}].kind"),
                    format!(
                        "unknown kind {:?}; kinds are: {}",
                        r.kind,
                        super::kube::KINDS.join(", ")
                    ),
                );
            }
            if r.kind == "Pod" {
                let name = qualify(r.namespace(), &r.name);
                if !pods.remove(&name) {
                    pod_ref(format!("{here}[{k}].name"), &name, pods, bad);
                }
            }
        }
    }
    if let Some(assume) = &step.assume_role {
        let name = qualify(
            assume.namespace.as_deref().unwrap_or("default"),
            &assume.pod,
        );
        pod_ref(format!("{here}.pod"), &name, pods, bad);
    }
    if let Some(call) = &step.caller_identity {
        let name = qualify(call.namespace.as_deref().unwrap_or("default"), &call.pod);
        pod_ref(format!("{here}.pod"), &name, pods, bad);
    }
    if let Some(request) = &step.token_request {
        let ns = request.namespace.as_deref().unwrap_or("default");
        if let Some(pod) = &request.bound_pod {
            pod_ref(format!("{here}.boundPod"), &qualify(ns, pod), pods, bad);
        }
    }
    if let Some(set) = &step.set_cluster {
        for key in &set.add_keys {
            keys.insert(key.name.clone());
        }
        if let Some(signer) = &set.signing_key
            && !keys.contains(signer)
        {
            bad(
                format!("{here}.signingKey"),
                format!("no key named {signer:?}; keys are: {}", list(keys)),
            );
        }
        for (k, name) in set.verification_keys.iter().flatten().enumerate() {
            if !keys.contains(name) {
                bad(
                    format!("{here}.verificationKeys[{k}]"),
                    format!("no key named {name:?}; keys are: {}", list(keys)),
                );
            }
        }
        let empty = set.add_keys.is_empty()
            && set.signing_key.is_none()
            && set.verification_keys.is_none()
            && set.issuers.is_none()
            && set.api_audiences.is_none()
            && set.jwks_uri.is_none()
            && set.max_token_expiration.is_none()
            && set.extend_token_expiration.is_none()
            && set.anonymous_discovery.is_none()
            && set.clock_ahead.is_none()
            && set.clock_behind.is_none();
        if empty {
            no_effect(bad, "`setCluster` changes nothing");
        }
    }
    if let Some(upgrade) = &step.upgrade_cluster
        && parse_version(&upgrade.version).is_none()
    {
        bad(
            format!("{here}.version"),
            format!("invalid version {:?}: write major.minor", upgrade.version),
        );
    }
    if let Some(edit) = &step.aws {
        match edit.count() {
            0 => no_effect(bad, "`aws` names no change"),
            1 => {}
            _ => bad(
                here.clone(),
                "one IAM change per step: split it into steps".into(),
            ),
        }
    }
    if let Some(edit) = &step.s3 {
        match edit.count() {
            0 => no_effect(bad, "`s3` names no change"),
            1 => {}
            _ => bad(
                here.clone(),
                "one S3 change per step: split it into steps".into(),
            ),
        }
    }
    if let Some(invalidate) = &step.cdn_invalidate
        && invalidate.paths.is_empty()
    {
        no_effect(bad, "`cdnInvalidate` lists no paths");
    }
    if let Some(by) = &step.advance_clock
        && by.0.is_zero()
    {
        no_effect(bad, "`advanceClock` of zero");
    }
    if let Some(expect) = &step.expect {
        if expect.ok == Some(true) && expect.error.is_some() {
            bad(
                format!("{at}.expect"),
                "`ok: true` and `error` contradict each other".into(),
            );
        }
        if expect.ok == Some(false) && expect.error.is_none() {
            bad(
                format!("{at}.expect.ok"),
                "say which error with `error: {code, message}`".into(),
            );
        }
        if let Some(pod) = &expect.pod {
            pod_ref(
                format!("{at}.expect.pod"),
                &qualify("default", pod),
                pods,
                bad,
            );
        }
        if let Some(name) = &expect.kid
            && name != "none"
            && !keys.contains(name)
        {
            bad(
                format!("{at}.expect.kid"),
                format!(
                    "no key named {name:?} (or `none`); keys are: {}",
                    list(keys)
                ),
            );
        }
    }
}

/// `namespace/name`, or just `name` in `default` (how errors and lists show pods).
pub fn qualify(namespace: &str, name: &str) -> String {
    if namespace == "default" {
        name.to_owned()
    } else {
        format!("{namespace}/{name}")
    }
}
