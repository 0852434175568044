//! The pod identity webhook's decisions for the customer's pod, made by the webhook
//! crate's own flag parsing and precedence rules (`identity::resolve`).

use std::collections::BTreeMap;

use pod_identity_webhook::config::MutationConfig;
use pod_identity_webhook::identity::{
    ConfigMapIdentities, ContainerCredentialsIdentities, Identity, ServiceAccountInfo, Subject,
    resolve,
};
use serde_json::Value;

use super::check::{Check, Checks, Group};
use super::context::Context;

const G: Group = Group::Webhook;

/// What the webhook decides for the pod: its config and the identity it injects.
#[derive(Debug, Clone)]
pub struct Decision {
    pub config: MutationConfig,
    /// `None` without a ServiceAccount to resolve from.
    pub identity: Option<Identity>,
    pub warnings: Vec<String>,
    pub namespace: String,
    pub service_account: String,
}

/// The webhook's configuration from the flags given (defaults without them).
pub fn config(cx: &Context) -> MutationConfig {
    let words = cx.inputs.webhook_flags.clone().unwrap_or_default();
    let args = std::iter::once("pod-identity-webhook".to_owned()).chain(words);
    // The flags were parsed once already when the inputs were read.
    match <pod_identity_webhook::flags::Cli as clap::Parser>::try_parse_from(args) {
        Ok(cli) => MutationConfig::from_flags(&cli.flags),
        Err(_) => MutationConfig::default(),
    }
}

/// The namespace and ServiceAccount name of the pod: the pod's, else the SA's, else `sub`'s.
pub fn subject_names(cx: &Context) -> (String, String) {
    let inputs = cx.inputs;
    let from_sub = inputs.token.service_account();
    let namespace = inputs
        .pod
        .as_ref()
        .and_then(|p| p["metadata"]["namespace"].as_str())
        .or_else(|| {
            inputs
                .service_account
                .as_ref()
                .and_then(|s| s["metadata"]["namespace"].as_str())
        })
        .map(str::to_owned)
        .or_else(|| from_sub.as_ref().map(|(ns, _)| ns.clone()))
        .unwrap_or_else(|| "default".into());
    let name = inputs
        .pod
        .as_ref()
        .and_then(|p| p["spec"]["serviceAccountName"].as_str())
        .or_else(|| {
            inputs
                .service_account
                .as_ref()
                .and_then(|s| s["metadata"]["name"].as_str())
        })
        .map(str::to_owned)
        .or_else(|| from_sub.map(|(_, n)| n))
        .unwrap_or_else(|| "default".into());
    (namespace, name)
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Resolves the pod's identity as the webhook would.
pub fn decide(cx: &Context) -> Decision {
    let config = config(cx);
    let (namespace, service_account) = subject_names(cx);
    let mut warnings = Vec::new();
    let identity = cx.inputs.service_account.as_ref().map(|sa| {
        let prefix = format!("{}/", config.annotation_prefix);
        let info = ServiceAccountInfo {
            namespace: namespace.clone(),
            name: service_account.clone(),
            annotations: string_map(&sa["metadata"]["annotations"])
                .into_iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .collect(),
        };
        let pod_annotations = cx
            .inputs
            .pod
            .as_ref()
            .map(|p| string_map(&p["metadata"]["annotations"]))
            .unwrap_or_default();
        let subject = Subject {
            namespace: &namespace,
            service_account: &service_account,
            sa: Some(&info),
            pod_annotations: &pod_annotations,
        };
        resolve(
            &subject,
            &ConfigMapIdentities::default(),
            &ContainerCredentialsIdentities::default(),
            &config,
            &mut warnings,
        )
    });
    Decision {
        config,
        identity,
        warnings,
        namespace,
        service_account,
    }
}

/// The env of the pod's containers (init containers included), by name.
fn pod_env(pod: &Value) -> BTreeMap<String, String> {
    let spec = &pod["spec"];
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| spec[*k].as_array().into_iter().flatten())
        .flat_map(|c| c["env"].as_array().into_iter().flatten())
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_owned(),
                e["value"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// Appends the webhook's checks.
pub fn check(cx: &Context, decision: &Decision, checks: &mut Checks) {
    let cfg = &decision.config;
    let flags = Check::named("webhook.flags", G, "the webhook's flags");
    checks.push(match &cx.inputs.webhook_flags {
        Some(words) => flags.pass(if words.is_empty() { "none (defaults)".to_owned() } else { words.join(" ") }),
        None => flags.unknown(format!(
            "not given: the defaults are assumed (--token-audience {}, --token-expiration {}, no --aws-default-region)",
            cfg.audience, cfg.token_expiration
        )),
    });

    let annotation = cfg.annotation("role-arn");
    let role = Check::named(
        "webhook.role-annotation",
        G,
        "the ServiceAccount names a role (role-arn annotation)",
    );
    checks.push(match &decision.identity {
        None => role.unknown("no ServiceAccount given (kubectl get serviceaccount NAME -o yaml)"),
        Some(Identity::None) => role.fail(
            format!(
                "ServiceAccount {}/{} has no {annotation} annotation: the webhook leaves its pods alone (no AWS env, no token volume)",
                decision.namespace, decision.service_account
            ),
            format!(
                "kubectl annotate serviceaccount -n {} {} {annotation}=arn:aws:iam::<account>:role/<name>, then recreate the pods",
                decision.namespace, decision.service_account
            ),
        ),
        Some(Identity::WebIdentity { role_arn, .. }) => {
            let pattern_ok = regex::Regex::new(r"^arn:aws[a-z0-9-]*:iam::\d{12}:role/[\w\-/.@+=,]+$")
                .is_ok_and(|r| r.is_match(role_arn));
            if pattern_ok {
                role.pass(role_arn.clone())
            } else {
                role.warn(
                    format!("{role_arn:?} is not a role ARN (the webhook only warns and injects it anyway)"),
                    "annotate with the full role ARN",
                )
            }
        }
        Some(Identity::ContainerCredentials { .. }) => role.pass("container-credentials (EKS Pod Identity) mode"),
    });

    let audience = Check::named(
        "webhook.audience",
        G,
        "the projected token's audience is a client id of the provider",
    );
    checks.push(match &decision.identity {
        Some(Identity::WebIdentity { audience: aud, .. }) => {
            let source = if cx
                .inputs
                .service_account
                .as_ref()
                .is_some_and(|sa| sa["metadata"]["annotations"][cfg.annotation("audience")].is_string())
            {
                format!("the ServiceAccount's {} annotation", cfg.annotation("audience"))
            } else {
                "--token-audience".to_owned()
            };
            match cx.provider() {
                Some(p) if !p.client_ids.contains(aud) => audience.fail(
                    format!("the webhook projects tokens for {aud:?} ({source}), not among the provider's client ids {:?}", p.client_ids),
                    format!("add {aud} to the provider's client ids, or set {source} to one of them"),
                ),
                Some(_) => audience.pass(format!("{aud} ({source})")),
                None => audience.unknown(format!("{aud} ({source}); no provider given")),
            }
        }
        _ => audience.unknown("no web-identity decision (needs the ServiceAccount)"),
    });

    let expiration = Check::named(
        "webhook.token-expiration",
        G,
        "the token lifetime the webhook asks for",
    );
    checks.push(match &decision.identity {
        Some(Identity::WebIdentity { expiration: asked, .. }) => {
            let token = &cx.inputs.token;
            let lifetime = token.claim_i64("exp").zip(token.claim_i64("iat")).map(|(e, i)| e - i);
            match lifetime {
                Some(l) if l < *asked => expiration.warn(
                    format!("the webhook asks for {asked} s but the token lives {l} s: the apiserver's --service-account-max-token-expiration shortened it"),
                    "clients must re-read the token file; the kubelet refreshes it at 80 % of its lifetime",
                ),
                Some(l) => expiration.pass(format!("{asked} s asked (pod annotation, else ServiceAccount annotation, else --token-expiration; at least 600), the token lives {l} s")),
                None => expiration.pass(format!("{asked} s asked")),
            }
        }
        _ => expiration.unknown("needs the ServiceAccount"),
    });

    let env = cx.inputs.pod.as_ref().map(pod_env).unwrap_or_default();
    let region = Check::named(
        "webhook.region",
        G,
        "the pod gets a region (off AWS there is no instance metadata)",
    );
    checks.push(match (&cfg.region, env.get("AWS_REGION").or_else(|| env.get("AWS_DEFAULT_REGION"))) {
        (Some(r), _) => region.pass(format!("--aws-default-region {r} injects AWS_REGION and AWS_DEFAULT_REGION")),
        (None, Some(r)) => region.pass(format!("the pod sets its region itself ({r})")),
        (None, None) if cx.inputs.webhook_flags.is_none() && cx.inputs.pod.is_none() => {
            region.unknown("needs the webhook's flags or the pod")
        }
        (None, None) => region.warn(
            "no --aws-default-region and no AWS_REGION in the pod: SDKs off AWS fail with \"Missing Region\" / \"Unable to find a region via the region provider chain\"",
            "run the webhook with --aws-default-region=<region>, or set AWS_REGION in the pod",
        ),
    });

    let regional = Check::named("webhook.regional-sts", G, "global or regional STS endpoint");
    checks.push(match &decision.identity {
        Some(Identity::WebIdentity { regional_sts: true, .. }) => {
            regional.pass("AWS_STS_REGIONAL_ENDPOINTS=regional (the SDK calls sts.<region>.amazonaws.com)")
        }
        Some(Identity::WebIdentity { .. }) => regional.pass(
            "global sts.amazonaws.com (if clients time out on private networks: --sts-regional-endpoint or the ServiceAccount's sts-regional-endpoints: \"true\")",
        ),
        _ => regional.unknown("needs the ServiceAccount"),
    });

    checks.push(injection(cx, decision, &env));
    checks.push(token_file(cx));
}

fn injection(cx: &Context, decision: &Decision, env: &BTreeMap<String, String>) -> Check {
    let c = Check::named(
        "webhook.injection",
        G,
        "the pod carries what the webhook injects",
    );
    let Some(pod) = &cx.inputs.pod else {
        return c.unknown("no pod given (kubectl get pod NAME -o yaml)");
    };
    let cfg = &decision.config;
    let would = match &decision.identity {
        Some(Identity::WebIdentity {
            role_arn,
            audience,
            expiration,
            regional_sts,
        }) => {
            let mut env = vec![
                format!("AWS_ROLE_ARN={role_arn}"),
                format!(
                    "AWS_WEB_IDENTITY_TOKEN_FILE={}/token",
                    cfg.mount_path.trim_end_matches('/')
                ),
            ];
            if let Some(region) = &cfg.region {
                env.push(format!("AWS_REGION={region}"));
                env.push(format!("AWS_DEFAULT_REGION={region}"));
            }
            if *regional_sts {
                env.push("AWS_STS_REGIONAL_ENDPOINTS=regional".into());
            }
            Some(format!(
                "env {} and the volume aws-iam-token (serviceAccountToken audience {audience}, expirationSeconds {expiration}) mounted at {}",
                env.join(", "),
                cfg.mount_path
            ))
        }
        _ => None,
    };
    let mutated =
        env.contains_key("AWS_ROLE_ARN") && env.contains_key("AWS_WEB_IDENTITY_TOKEN_FILE");
    let skip_label =
        pod["metadata"]["labels"]["eks.amazonaws.com/skip-pod-identity-webhook"].is_string();
    match (would, mutated) {
        (_, true) => c.pass(format!(
            "the pod has AWS_ROLE_ARN={} and AWS_WEB_IDENTITY_TOKEN_FILE",
            env["AWS_ROLE_ARN"]
        )),
        (Some(would), false) => c.fail(
            format!(
                "the webhook would inject {would}, but the pod has no AWS_ROLE_ARN: it was admitted without the webhook{}",
                if skip_label {
                    " (it carries the eks.amazonaws.com/skip-pod-identity-webhook label)"
                } else {
                    " (MutatingWebhookConfiguration missing, the call failing under failurePolicy: Ignore, e.g. x509 with a stale caBundle, or the pod created before the annotation)"
                }
            ),
            "kubectl get mutatingwebhookconfiguration pod-identity-webhook (and its caBundle), the apiserver's log for \"failed calling webhook\"; then recreate the pod",
        ),
        (None, false) => c.unknown("the pod has no AWS env; without a role annotation none is expected"),
    }
}

fn token_file(cx: &Context) -> Check {
    let c = Check::named(
        "webhook.token-file",
        G,
        "the token file is readable by the container's user",
    );
    let Some(pod) = &cx.inputs.pod else {
        return c.unknown("no pod given");
    };
    let spec = &pod["spec"];
    let run_as = spec["securityContext"]["runAsUser"]
        .as_i64()
        .or_else(|| spec["containers"][0]["securityContext"]["runAsUser"].as_i64());
    let fs_group = spec["securityContext"]["fsGroup"].as_i64();
    let non_root = run_as.is_some_and(|u| u != 0);
    if cx.error_mentions("permission denied") && non_root && fs_group.is_none() {
        return c.fail(
            format!("the container runs as user {} without fsGroup: before Kubernetes 1.19 the kubelet writes the token file 0600 root", run_as.unwrap_or_default()),
            "set spec.securityContext.fsGroup (or upgrade to 1.19+, where the file is readable by the pod's user)",
        );
    }
    if non_root && fs_group.is_none() {
        return c.warn(
            format!(
                "runs as user {} without fsGroup: fine from 1.19, unreadable before",
                run_as.unwrap_or_default()
            ),
            "set spec.securityContext.fsGroup on clusters before 1.19",
        );
    }
    c.pass(match (run_as, fs_group) {
        (_, Some(g)) => format!("fsGroup {g}"),
        _ => "runs as root (or the image's user)".to_owned(),
    })
}
