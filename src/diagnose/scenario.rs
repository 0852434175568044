//! `irsa-lab scenario from-bundle`: the bundle's setup as a scenario file, with the
//! customer's identifiers kept (issuer, account, role, namespace and ServiceAccount, kid,
//! audiences, client ids, thumbprints) and no secret needed: their token's signature
//! cannot be reproduced, so the scenario generates a key under their kid. It ends with a
//! step expecting the error they reported.

use irsa_emulator::oidc::s3_object;
use irsa_emulator::sts::{KEY_RETRIEVAL_MESSAGE, StsError, UNVERIFIABLE_MESSAGE};
use pod_identity_webhook::identity::Identity;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Report;
use super::context::{Context, host_of, is_cdn_host, is_s3_host};
use super::inputs::TokenInput;
use super::kube_objects::{clean_metadata, clean_pod};
use super::webhook::{decide, subject_names};
use crate::scenario::SCHEMA_LINE;
use crate::scenario::expect::{Expect, ExpectedError};
use crate::scenario::steps::{AssumeRole, Publish, Step};
use irsa_emulator::issuer::JwkSet;

/// Why no scenario could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("nothing to reproduce: no error text was given (error.txt) and no check fails")]
    NothingToReproduce,
    #[error("the token has no iss claim: the issuer cannot be reproduced")]
    NoIssuer,
    #[error("{error} cannot be replayed by a scenario: {why}")]
    Unsupported {
        error: &'static str,
        why: &'static str,
    },
    /// A bug: the generated text does not load.
    #[error("the generated scenario does not load (a bug in from-bundle): {0}")]
    Invalid(String),
}

const KEY: &str = "customer-key";
/// Step keys at their default value, as serde writes them.
const DEFAULT_LINES: [&str; 6] = [
    "source: generated",
    "withEmptyKid: false",
    "withoutKid: false",
    "freshToken: false",
    "reuseToken: false",
    "skipCallerIdentity: false",
];
const ORIGIN_BUCKET: &str = "issuer-origin";

fn rfc3339(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".into())
}

/// The key type kube-apiserver signs `alg` with.
fn algorithm(alg: &str, jwk_n_len: Option<usize>) -> &'static str {
    match alg {
        "ES256" => "EC-P256",
        "ES384" => "EC-P384",
        "ES512" => "EC-P521",
        // 4096-bit moduli are 683 base64url characters, 2048-bit ones 342.
        _ if jwk_n_len.is_some_and(|n| n > 400) => "RSA-4096",
        _ => "RSA-2048",
    }
}

/// The replay's keys: the token's under its kid (a new key), and one new key under each
/// other kid the customer's JWKS lists; which of them `publish` lists, and how.
#[derive(Debug)]
struct KeyPlan {
    /// `cluster.keys` entries.
    keys: Vec<Value>,
    /// Key names the published JWKS lists, in order.
    published: Vec<String>,
    with_empty_kid: bool,
    without_kid: bool,
}

fn key_plan(token: &TokenInput, customer_jwks: Option<&JwkSet>) -> KeyPlan {
    let lookup_kid = token.kid().unwrap_or_default();
    let token_key_published =
        customer_jwks.is_some_and(|set| set.find(lookup_kid).next().is_some());
    let n_len = customer_jwks
        .and_then(|set| set.find(lookup_kid).next().or(set.keys.first()))
        .and_then(|k| k.n.as_ref().map(String::len));
    let alg = token
        .token
        .as_ref()
        .map(|t| t.header.alg.clone())
        .unwrap_or_else(|_| "RS256".into());
    let key_algorithm = algorithm(&alg, n_len);
    let mut keys = vec![match token.kid() {
        Some(kid) => json!({"name": KEY, "algorithm": key_algorithm, "kid": kid}),
        None => json!({"name": KEY, "algorithm": key_algorithm}),
    }];
    // Every other key the customer's JWKS lists, each a new key under its kid.
    let mut published: Vec<String> = Vec::new();
    let (mut with_empty_kid, mut without_kid) = (false, false);
    if token_key_published && token.kid().is_some_and(|k| !k.is_empty()) {
        published.push(KEY.into());
    }
    for (i, jwk) in customer_jwks
        .map(|s| s.keys.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match jwk.kid.as_deref() {
            Some(kid) if Some(kid) == token.kid() && !kid.is_empty() => {}
            Some("") => with_empty_kid = true,
            Some(kid) => {
                let name = format!("published-{}", i + 1);
                keys.push(json!({"name": name, "algorithm": key_algorithm, "kid": kid}));
                published.push(name);
            }
            None => {
                without_kid = true;
                // A key without kid that verifies the token is the token's own key.
                let signs_token = token.signed
                    && token
                        .token
                        .as_ref()
                        .is_ok_and(|t| irsa_emulator::jwt::verify_signature(t, jwk).is_ok());
                if signs_token {
                    if !published.iter().any(|k| k == KEY) {
                        published.push(KEY.into());
                    }
                } else {
                    let name = format!("published-{}", i + 1);
                    keys.push(json!({"name": name, "algorithm": key_algorithm}));
                    published.push(name);
                }
            }
        }
    }
    // A kid "" entry is the pre-1.16 bridge: the copy of the token's key (publish copies
    // the first key listed).
    if with_empty_kid
        && token.kid().is_none_or(str::is_empty)
        && !published.iter().any(|k| k == KEY)
    {
        published.insert(0, KEY.into());
    }
    if customer_jwks.is_none() {
        published.push(KEY.into());
    }
    KeyPlan {
        keys,
        published,
        with_empty_kid,
        without_kid,
    }
}

/// The code and message the replay's failing step expects for error `id`, and whether
/// that step is the pod's admission (the apiserver refuses it) rather than the SDK's call.
fn expectation(id: &'static str, iss: &str) -> Result<(&'static str, String, bool), ReplayError> {
    Ok(match id {
        "key-retrieval" => (
            "InvalidIdentityToken",
            KEY_RETRIEVAL_MESSAGE.to_owned(),
            false,
        ),
        "no-provider" => (
            "InvalidIdentityToken",
            StsError::NoProvider {
                iss: iss.to_owned(),
            }
            .to_string(),
            false,
        ),
        "incorrect-audience" => (
            "InvalidIdentityToken",
            StsError::IncorrectAudience {
                detail: String::new(),
            }
            .to_string(),
            false,
        ),
        "thumbprint" => (
            "InvalidIdentityToken",
            StsError::Thumbprint {
                detail: String::new(),
            }
            .to_string(),
            false,
        ),
        "unverifiable" => (
            "InvalidIdentityToken",
            UNVERIFIABLE_MESSAGE.to_owned(),
            false,
        ),
        "expired-token" => (
            "ExpiredTokenException",
            "Token expired: current date/time * must be before the expiration date/time *"
                .to_owned(),
            false,
        ),
        "access-denied" => (
            "AccessDenied",
            StsError::AccessDenied {
                detail: String::new(),
            }
            .to_string(),
            false,
        ),
        "duration" => (
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
            false,
        ),
        "no-credentials" => (
            "NoCredentialProviders",
            "Unable to locate credentials*".to_owned(),
            false,
        ),
        "permission-denied" => ("PermissionDenied", "*permission denied".to_owned(), false),
        "webhook-refused" => (
            "InternalError",
            "*failed calling webhook*connect: connection refused".to_owned(),
            true,
        ),
        "webhook-x509" => (
            "InternalError",
            "*failed calling webhook*x509: certificate signed by unknown authority".to_owned(),
            true,
        ),
        "not-a-jwt" | "missing-claim" => {
            return Err(ReplayError::Unsupported {
                error: id,
                why: "the token itself is malformed, and a scenario's tokens come from its apiserver",
            });
        }
        _ => {
            return Err(ReplayError::Unsupported {
                error: id,
                why: "it happens in the application or the cluster after the token exchange, which scenarios do not play",
            });
        }
    })
}

/// The scenario text for the inputs and their report.
pub fn from_inputs(cx: &Context, report: &Report, name: &str) -> Result<String, ReplayError> {
    let inputs = cx.inputs;
    let token = &inputs.token;
    let error = report
        .errors
        .first()
        .ok_or(ReplayError::NothingToReproduce)?;
    let cause = report
        .most_likely_cause
        .as_ref()
        .map(|c| c.id)
        .unwrap_or("");
    let iss = cx.iss().ok_or(ReplayError::NoIssuer)?.to_owned();
    let account = cx.account().unwrap_or_else(|| "111122223333".into());
    let decision = decide(cx);
    let (namespace, sa_name) = subject_names(cx);
    let role_arn = cx
        .role_arn
        .as_ref()
        .map(|(a, _)| a.clone())
        .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/irsa-role"));
    let role_name = inputs
        .role
        .as_ref()
        .map(|r| r.name.clone())
        .or_else(|| irsa_emulator::iam::parse_role_arn(&role_arn).map(|r| r.name))
        .unwrap_or_else(|| "irsa-role".into());
    let audiences = token.audiences();
    let iat = token.claim_i64("iat").unwrap_or(cx.at);
    let exp = token.claim_i64("exp");
    let mut notes: Vec<String> = Vec::new();

    // --- what the reported error needs ---
    let (expect_code, expect_message, final_is_apply) = expectation(error.id, &iss)?;

    // --- the cluster: the customer's issuer, a new key under their kid ---
    let customer_jwks = inputs.jwks.as_ref().map(|(_, set)| set);
    let KeyPlan {
        keys,
        published,
        with_empty_kid,
        without_kid,
    } = key_plan(token, customer_jwks);
    if customer_jwks.is_none() {
        notes.push("no jwks.json: the JWKS is assumed to list the token's key".into());
    }
    let all_keys: Vec<Value> = keys.iter().map(|k| k["name"].clone()).collect();
    let version = if token.kid().is_none() {
        "1.15"
    } else if cause == "token-file-unreadable" {
        "1.18"
    } else {
        "1.34"
    };
    let mut cluster = json!({
        "version": version,
        "issuers": [iss],
        "keys": keys,
        "signingKey": KEY,
        "verificationKeys": all_keys,
    });
    let mut start = iat;
    if cause == "clock-ahead" {
        start = cx.at;
        cluster["clockAhead"] = json!(format!("{}s", iat - cx.at));
    }

    // --- hosting ---
    let iss_host = host_of(&iss).unwrap_or_default();
    let s3 = reqwest::Url::parse(&iss)
        .ok()
        .and_then(|u| s3_object(&u))
        .filter(|_| is_s3_host(&iss_host));
    let region = decision
        .config
        .region
        .clone()
        .or_else(|| {
            iss_host
                .strip_prefix("s3.")
                .and_then(|r| r.strip_suffix(".amazonaws.com"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "us-east-1".into());
    let bucket_region = iss_host
        .split('.')
        .skip_while(|l| !l.starts_with("s3"))
        .nth(1)
        .filter(|r| r.contains('-'))
        .map(str::to_owned);
    let (hosting, bucket) = if let Some(object) = &s3 {
        (json!("s3"), Some(object.bucket.clone()))
    } else if error.id == "thumbprint" {
        cluster["anonymousDiscovery"] = json!(true);
        cluster["jwksUri"] = json!(
            cx.discovery_str("jwks_uri")
                .unwrap_or_else(|| format!("{}/openid/v1/jwks", iss.trim_end_matches('/')))
        );
        notes.push("the issuer is served by the apiserver itself, with a CA of its own (which AWS does not trust, so thumbprints count)".into());
        (json!("apiserver"), None)
    } else {
        let ttl = if is_cdn_host(&iss_host) { "24h" } else { "0s" };
        notes.push(format!(
            "{iss_host} is replayed as a distribution in front of bucket {ORIGIN_BUCKET} (TTL {ttl}){}",
            if is_cdn_host(&iss_host) { "" } else { ", i.e. a plain web server" }
        ));
        (
            json!({"cdn": {"bucket": ORIGIN_BUCKET, "ttl": ttl}}),
            Some(ORIGIN_BUCKET.to_owned()),
        )
    };

    // --- IAM ---
    let mut aws = json!({"accountId": account, "region": region});
    match inputs.provider.as_ref().map(|p| p.found.as_ref()) {
        Some(Some(p)) => {
            aws["oidcProviders"] = json!([{"url": format!("https://{}", p.url), "clientIds": p.client_ids, "thumbprints": p.thumbprints}]);
        }
        Some(None) => notes
            .push("IAM has no provider for the issuer (provider.json holds NoSuchEntity)".into()),
        None => {
            aws["oidcProviders"] = json!([{"url": iss, "clientIds": [audiences.first().cloned().unwrap_or_else(|| "sts.amazonaws.com".into())]}]);
            notes.push("no provider.json: a provider for the token's iss accepting its audience is assumed".into());
        }
    }
    let role = match &inputs.role {
        Some(r) => {
            json!({"name": role_name, "trustPolicy": r.trust_policy, "maxSessionDuration": format!("{}s", r.max_session_duration)})
        }
        None => {
            notes
                .push("no role.json: the usual trust policy for the token's sub is assumed".into());
            json!({"name": role_name, "trust": {"provider": iss, "sub": token.claim_str("sub").unwrap_or_default()}})
        }
    };
    aws["roles"] = json!([role]);
    if let Some(bucket) = &bucket {
        aws["buckets"] = match &bucket_region {
            Some(r) if bucket != ORIGIN_BUCKET => json!([{"name": bucket, "region": r}]),
            _ => json!([{"name": bucket}]),
        };
        // The replay publishes as the guides do (`--acl public-read`), which a bucket
        // created with today's defaults refuses: replay the bucket as the guides made it.
        aws["bucketDefaults"] = json!("legacy");
    }
    if cause == "iam-propagation" {
        aws["propagationDelay"] = json!("2m");
        notes.push(
            "IAM's propagation is replayed as 2 minutes (e2e suites retry AccessDenied that long)"
                .into(),
        );
    }

    // --- the webhook ---
    let mut webhook = json!({"flags": inputs.webhook_flags.clone().unwrap_or_default()});
    match cause {
        "webhook-tls-fails-open" => webhook["caBundleMatches"] = json!(false),
        "webhook-not-registered" => webhook["registered"] = json!(false),
        "webhook-tls" => {
            webhook["caBundleMatches"] = json!(false);
            webhook["failurePolicy"] = json!("Fail");
        }
        "webhook-down-fail-closed" => {
            webhook["running"] = json!(false);
            webhook["failurePolicy"] = json!("Fail");
        }
        _ => {}
    }

    // --- Kubernetes objects ---
    let prefix = decision.config.annotation_prefix.clone();
    let mut sa = match &inputs.service_account {
        Some(sa) => {
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": clean_metadata(&sa["metadata"], &namespace)})
        }
        None => {
            notes.push("no serviceaccount.yaml: one annotated with the role ARN is assumed".into());
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa_name, "namespace": namespace, "annotations": {format!("{prefix}/role-arn"): role_arn}}})
        }
    };
    // The reproduced token must carry the customer's audience and lifetime: when the
    // webhook's own choice (from the ServiceAccount given, else its flags) differs, say
    // it on the ServiceAccount. A ServiceAccount without a role gets no token at all.
    let projected = match &decision.identity {
        Some(Identity::WebIdentity {
            audience,
            expiration,
            ..
        }) => Some((audience.clone(), *expiration)),
        Some(_) => None,
        None => Some((
            decision.config.audience.clone(),
            decision.config.token_expiration,
        )),
    };
    if let Some((audience, expiration)) = projected {
        if let Some(aud) = audiences.first()
            && aud != &audience
        {
            sa["metadata"]["annotations"][format!("{prefix}/audience")] = json!(aud);
            notes.push(format!(
                "the token's audience {aud} is set with the {prefix}/audience annotation"
            ));
        }
        if let Some(lifetime) = exp.map(|e| e - iat)
            && lifetime != expiration
            && lifetime >= 600
        {
            sa["metadata"]["annotations"][format!("{prefix}/token-expiration")] =
                json!(lifetime.to_string());
            notes.push(format!(
                "the token's lifetime {lifetime} s is set with the {prefix}/token-expiration annotation"
            ));
        }
    }
    let pod_name = token
        .claims
        .get("kubernetes.io")
        .and_then(|k| k["pod"]["name"].as_str())
        .unwrap_or("app")
        .to_owned();
    let pod = match &inputs.pod {
        Some(pod) => clean_pod(pod, &namespace, decision.config.region.as_deref()),
        None => {
            notes.push("no pod.yaml: a plain pod running as the ServiceAccount is assumed".into());
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_name, "namespace": namespace},
                   "spec": {"serviceAccountName": sa_name, "containers": [{"name": "app", "image": "amazon/aws-cli"}]}})
        }
    };
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or("app").to_owned();

    // --- steps ---
    let step = |value: Value| -> Result<Step, ReplayError> {
        serde_json::from_value(value).map_err(|e| ReplayError::Invalid(e.to_string()))
    };
    // Where STS saw a token, the replay also proves it was the customer's: their kid (by
    // the key's name), iss, sub and aud.
    let token_seen = matches!(
        expect_code,
        "InvalidIdentityToken" | "ExpiredTokenException" | "AccessDenied" | "ValidationError"
    );
    let mut claims = std::collections::BTreeMap::new();
    if token_seen {
        for claim in ["iss", "sub", "aud"] {
            if let Some(value) = token.claims.get(claim) {
                claims.insert(claim.to_owned(), value.clone());
            }
        }
    }
    let expected = Expect {
        error: Some(ExpectedError {
            code: expect_code.to_owned(),
            message: Some(expect_message.clone()),
        }),
        kid: token_seen.then(|| {
            if token.kid().is_some() {
                KEY.to_owned()
            } else {
                "none".to_owned()
            }
        }),
        claims,
        ..Expect::default()
    };
    let mut steps: Vec<Step> = Vec::new();
    let mut reported = expect_message.clone();
    if hosting != json!("apiserver") {
        let private = matches!(cause, "documents-not-public" | "bucket-refuses-acls");
        if private {
            notes.push(if cause == "bucket-refuses-acls" {
                "the bucket refusing ACLs is replayed by its consequence: both documents uploaded without --acl public-read stay private".to_owned()
            } else {
                "the documents are published private (not anonymously readable)".to_owned()
            });
        }
        let stale_cdn = cause == "cdn-stale-jwks";
        steps.push(Step {
            name: Some(if stale_cdn {
                "the JWKS as the CDN serves it (jwks.json), the documents as pasted".into()
            } else {
                "the discovery document and JWKS as pasted (discovery.json, jwks.json)".into()
            }),
            publish: Some(Publish {
                keys: Some(published.clone()),
                with_empty_kid,
                without_kid,
                issuer: cx.discovery_str("issuer").filter(|i| i != &iss),
                jwks_uri: cx.discovery_str("jwks_uri"),
                acl: Some(if private { "private" } else { "public-read" }.into()),
                ..Publish::default()
            }),
            ..Step::default()
        });
    }
    let objects = json!([sa, pod]);
    if final_is_apply {
        steps.push(step(json!({"name": "the pod, admitted through the webhook as the customer's cluster does", "apply": objects}))?.with_expect(expected.clone()));
    } else {
        steps.push(step(json!({"name": "the ServiceAccount and the pod (serviceaccount.yaml, pod.yaml)", "apply": objects}))?);
        let assume = AssumeRole {
            pod: pod_name.clone(),
            namespace: Some(namespace.clone()).filter(|n| n != "default"),
            role_arn: cx
                .role_arn
                .as_ref()
                .filter(|(_, from)| from == super::context::GIVEN_ROLE_ARN)
                .map(|(a, _)| a.clone()),
            duration: (error.id == "duration").then(|| {
                let max = inputs
                    .role
                    .as_ref()
                    .map_or(3600, |r| r.max_session_duration);
                crate::scenario::HumanDuration(std::time::Duration::from_secs(u64::from(
                    (max + 3600).min(43_200),
                )))
            }),
            ..AssumeRole::default()
        };
        if error.id == "duration" {
            notes.push("the DurationSeconds asked for is not in the bundle: the role's maximum plus one hour".into());
        }
        if cause == "cdn-stale-jwks" {
            steps.push(Step {
                name: Some("STS reads the JWKS through the CDN, which caches it".into()),
                assume_role: Some(assume.clone()),
                expect: Some(expected.clone()),
                ..Step::default()
            });
            let mut current = published.clone();
            if !current.iter().any(|k| k == KEY) {
                current.insert(0, KEY.into());
            }
            steps.push(Step {
                name: Some(
                    "the bucket gets a JWKS with the token's kid too (no invalidation)".into(),
                ),
                publish: Some(Publish {
                    keys: Some(current),
                    jwks_uri: cx.discovery_str("jwks_uri"),
                    acl: Some("public-read".into()),
                    ..Publish::default()
                }),
                ..Step::default()
            });
            steps.push(step(
                json!({"name": "past STS's 5-minute refetch throttle", "advanceClock": "5m"}),
            )?);
        }
        let mut last = assume.clone();
        let mut message = expect_message.clone();
        if cause == "expired-token-reused" {
            steps.push(Step {
                name: Some("the application reads the token file once, at start-up".into()),
                assume_role: Some(assume.clone()),
                ..Step::default()
            });
            let wait = (cx.at - start).max(0);
            steps.push(step(
                json!({"name": "until the time of the error", "advanceClock": format!("{wait}s")}),
            )?);
            last.reuse_token = true;
            if let Some(exp) = exp {
                message = StsError::ExpiredWebIdentity { now: cx.at, exp }.to_string();
            }
        }
        let mut expect = expected.clone();
        expect.error = Some(ExpectedError {
            code: expect_code.to_owned(),
            message: Some(message.clone()),
        });
        reported = message;
        steps.push(Step {
            name: Some("the call that failed for the customer".into()),
            assume_role: Some(last),
            expect: Some(expect),
            ..Step::default()
        });
    }

    // --- the file ---
    let kid_line = match token.kid() {
        Some(kid) => format!("kid {kid:?}"),
        None => "no kid (as before Kubernetes 1.16)".to_owned(),
    };
    let provider = cx.provider();
    let mut text = String::new();
    text.push_str(SCHEMA_LINE);
    text.push('\n');
    text.push_str(&format!(
        "# Generated by `irsa-lab scenario from-bundle` from the bundle {name:?}.\n"
    ));
    text.push_str(&format!(
        "# Kept from the customer: issuer {iss}, account {account}, role {role_name}, ServiceAccount {namespace}/{sa_name},\n#   {kid_line}, audiences {audiences:?}, client ids {:?}, thumbprints {:?}.\n",
        provider.map(|p| p.client_ids.clone()).unwrap_or_default(),
        provider.map(|p| p.thumbprints.clone()).unwrap_or_default(),
    ));
    text.push_str(&format!(
        "# The key is NEW: the customer's private key is never needed, and their token's signature cannot be\n#   reproduced, so key {KEY:?} is generated here and signs under the customer's {kid_line}.\n"
    ));
    for note in &notes {
        text.push_str(&format!("# {note}.\n"));
    }
    text.push_str(&format!(
        "# The last step expects the reported error: {expect_code}: {reported}\n"
    ));
    let description = format!(
        "Replay of a customer's setup (support bundle {name}). Most likely cause: {}.\nReported: {}\n",
        report
            .most_likely_cause
            .as_ref()
            .map(|c| format!("{} ({})", c.id, c.title))
            .unwrap_or_else(|| "none found".into()),
        inputs
            .error
            .as_deref()
            .unwrap_or("(no error text; the error the first failing check predicts)")
            .lines()
            .next()
            .unwrap_or_default()
    );
    let sections = [
        json!({"name": name}),
        json!({"description": description}),
        json!({"cluster": cluster}),
        json!({"aws": aws}),
        json!({"hosting": hosting}),
        json!({"webhook": webhook}),
        json!({"clock": {"start": rfc3339(start)}}),
    ];
    for section in sections {
        text.push_str(
            &serde_norway::to_string(&section).map_err(|e| ReplayError::Invalid(e.to_string()))?,
        );
    }
    // Typed, so each step reads in the model's order (name, action, expect).
    #[derive(serde::Serialize)]
    struct StepsSection<'a> {
        steps: &'a [Step],
    }
    let steps_text = serde_norway::to_string(&StepsSection { steps: &steps })
        .map_err(|e| ReplayError::Invalid(e.to_string()))?;
    // The step types spell out their defaults (`withoutKid: false`, `source: generated`):
    // leave those lines out so the file reads as a person would write it. Only whole
    // lines of these step keys go; the result is parsed again below.
    for line in steps_text.lines() {
        if !DEFAULT_LINES.contains(&line.trim()) {
            text.push_str(line);
            text.push('\n');
        }
    }
    crate::scenario::parse(&format!("{name}.yaml"), &text)
        .map_err(|e| ReplayError::Invalid(e.to_string()))?;
    Ok(text)
}

trait WithExpect {
    fn with_expect(self, expect: Expect) -> Self;
}

impl WithExpect for Step {
    fn with_expect(mut self, expect: Expect) -> Self {
        self.expect = Some(expect);
        self
    }
}
