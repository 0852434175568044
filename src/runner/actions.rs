//! How each step action is played: against the backend (cluster side) and the fake AWS.

// A step's outcome is made once per step and read once: boxing its refusal would buy
// nothing, so the size lint is off for the functions that return it.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use irsa_emulator::clock::Clock;
use irsa_emulator::issuer::DiscoveryDocument;
use irsa_emulator::oidc::s3_object;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::outcome::{Failure, Origin, Seen, StepOutcome};
use super::token::decode;
use crate::aws::fake::trust_policy_json;
use crate::aws::{AwsResult, FakeAws};
use crate::backend::{Backend, ClusterState, TokenRequest};
use crate::scenario::model::{Hosting, Scenario};
use crate::scenario::steps::{
    AssumeRole, AwsEdit, Publish, PublishOnly, PublishSource, S3Edit, Step, TokenRequestStep,
};
use crate::workload::{SdkEnv, exchange};

/// Everything a step may touch.
#[derive(Debug)]
pub struct World<'a, B: Backend> {
    pub scenario: &'a Scenario,
    pub backend: &'a mut B,
    pub aws: &'a FakeAws,
    pub cluster: &'a mut ClusterState,
    /// The last pod applied, for `expect.env` on `apply`.
    pub last_pod: Option<(String, String)>,
    /// The token each pod's last `assumeRole` read, for `reuseToken`.
    pub read_tokens: BTreeMap<(String, String), String>,
    /// The credentials each pod's last `assumeRole` obtained, for `callerIdentity`.
    pub credentials: BTreeMap<(String, String), crate::aws::Credentials>,
}

fn failure(origin: Origin, code: &str, message: impl Into<String>) -> Failure {
    Failure {
        origin,
        code: code.to_owned(),
        message: message.into(),
        diagnosis: None,
    }
}

fn aws_result(result: AwsResult, seen: Seen) -> StepOutcome {
    match result {
        Ok(_) => Ok(seen),
        Err(f) => Err((f.into(), seen)),
    }
}

/// Plays one step.
pub async fn play<B: Backend>(
    world: &mut World<'_, B>,
    step: &Step,
) -> anyhow::Result<StepOutcome> {
    if let Some(publish) = &step.publish {
        return publish_documents(world, publish).await;
    }
    if let Some(objects) = &step.apply {
        let mut seen = Seen::default();
        let mut applied = Vec::new();
        for object in objects {
            applied.push(format!("{}/{}", object.kind(), object.name()));
            match world.backend.apply(object).await {
                Ok(Some(pod)) => {
                    let namespace = object.namespace().to_owned();
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    world.last_pod = Some((namespace, name));
                    seen.pod = serde_json::to_value(&pod).ok();
                }
                Ok(None) => {}
                Err(error) => {
                    seen.fact("applied", applied);
                    return Ok(Err((error.into(), seen)));
                }
            }
        }
        seen.fact("applied", applied);
        // `expect.pod` names which applied pod the expectations read.
        if let Some(name) = step.expect.as_ref().and_then(|e| e.pod.as_deref()) {
            seen.pod = stored_pod(world.backend, "default", name);
        }
        if let Some(pod) = &seen.pod {
            seen.fact("pod", pod_summary(pod));
        }
        return Ok(Ok(seen));
    }
    if let Some(refs) = &step.delete {
        let mut seen = Seen::default();
        for r in refs {
            if let Err(error) = world.backend.delete(r).await {
                return Ok(Err((error.into(), seen)));
            }
        }
        seen.fact(
            "deleted",
            refs.iter()
                .map(|r| format!("{}/{}", r.kind, r.name))
                .collect::<Vec<_>>(),
        );
        return Ok(Ok(seen));
    }
    if let Some(assume) = &step.assume_role {
        return assume_role(world, assume).await;
    }
    if let Some(call) = &step.caller_identity {
        let mut seen = Seen::default();
        let key = (
            call.namespace.clone().unwrap_or_else(|| "default".into()),
            call.pod.clone(),
        );
        let Some(credentials) = world.credentials.get(&key) else {
            return Ok(Err((
                failure(
                    Origin::Sdk,
                    "NoCredentialProviders",
                    format!(
                        "pod {:?} has no credentials: no assumeRole succeeded in it yet",
                        call.pod
                    ),
                ),
                seen,
            )));
        };
        return Ok(
            match world
                .aws
                .client
                .get_caller_identity(credentials, world.aws.now())
                .await?
            {
                Ok(answer) => {
                    seen.arn = crate::aws::xml_field(&answer, "Arn");
                    if let Some(arn) = &seen.arn {
                        seen.fact("callerIdentity", arn.clone());
                    }
                    Ok(seen)
                }
                Err(f) => Err((f.into(), seen)),
            },
        );
    }
    if let Some(request) = &step.token_request {
        return token_request(world, request).await;
    }
    if let Some(change) = &step.set_cluster {
        world.cluster.apply(change);
        world.backend.reconfigure(world.cluster).await?;
        let mut seen = Seen::default();
        seen.fact("signingKey", world.cluster.signing_key.clone());
        seen.fact("verificationKeys", world.cluster.verification_keys.clone());
        seen.fact("issuers", world.cluster.issuers.clone());
        return Ok(Ok(seen));
    }
    if let Some(upgrade) = &step.upgrade_cluster {
        if let Some(version) = crate::scenario::validate::parse_version(&upgrade.version) {
            world.cluster.version = version;
        }
        world.backend.reconfigure(world.cluster).await?;
        let mut seen = Seen::default();
        seen.fact("version", upgrade.version.clone());
        return Ok(Ok(seen));
    }
    if let Some(edit) = &step.aws {
        return aws_edit(world, edit).await;
    }
    if let Some(edit) = &step.s3 {
        return s3_edit(world, edit).await;
    }
    if let Some(invalidate) = &step.cdn_invalidate {
        return cdn_invalidate(world, &invalidate.paths).await;
    }
    if let Some(by) = &step.advance_clock {
        world.aws.clock.advance(by.0);
        world.backend.time_passed().await;
        let mut seen = Seen::default();
        seen.fact("now", world.aws.clock.now().unix_timestamp().to_string());
        return Ok(Ok(seen));
    }
    anyhow::bail!("a step without an action reached the runner")
}

/// The container's env vars, volume names and mount paths: what the webhook changed.
pub fn pod_summary(pod: &Value) -> Value {
    let mut containers = serde_json::Map::new();
    for container in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let name = container["name"].as_str().unwrap_or_default().to_owned();
        containers.insert(
            name,
            json!({
                "env": container_env(container),
                "mounts": container["volumeMounts"].as_array().into_iter().flatten()
                    .map(|m| format!("{} -> {}", m["name"].as_str().unwrap_or_default(), m["mountPath"].as_str().unwrap_or_default()))
                    .collect::<Vec<_>>(),
            }),
        );
    }
    let volumes: Vec<Value> = pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let tokens: Vec<Value> = v["projected"]["sources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["serviceAccountToken"].is_object())
                .map(|s| s["serviceAccountToken"].clone())
                .collect();
            if tokens.is_empty() {
                json!(v["name"])
            } else {
                json!({ "name": v["name"], "serviceAccountTokens": tokens })
            }
        })
        .collect();
    json!({"name": pod["metadata"]["name"], "containers": containers, "volumes": volumes})
}

/// `name → value` of a container's literal env vars.
pub fn container_env(container: &Value) -> BTreeMap<String, String> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_owned(),
                e["value"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// The named container, init containers (native sidecars) included (default: the first
/// regular container).
pub fn container<'p>(pod: &'p Value, name: Option<&str>) -> Option<&'p Value> {
    match name {
        None => pod["spec"]["containers"].as_array()?.first(),
        Some(name) => crate::backend::find_container(pod, name),
    }
}

/// Where an issuer document URL lands: `(bucket, key)` in the fake S3.
fn bucket_key(scenario: &Scenario, url: &str) -> Option<(String, String)> {
    match &scenario.hosting {
        Hosting::S3 => {
            let object = s3_object(&reqwest::Url::parse(url).ok()?)?;
            Some((object.bucket, object.key))
        }
        Hosting::Cdn(cdn) => {
            let parsed = reqwest::Url::parse(url).ok()?;
            Some((
                cdn.bucket.clone(),
                parsed.path().trim_start_matches('/').to_owned(),
            ))
        }
        Hosting::Apiserver => None,
    }
}

async fn publish_documents<B: Backend>(
    world: &mut World<'_, B>,
    publish: &Publish,
) -> anyhow::Result<StepOutcome> {
    let mut seen = Seen::default();
    let cluster = &*world.cluster;
    let issuer = cluster.issuers.first().cloned().unwrap_or_default();
    let (mut discovery, mut jwks_text) = match publish.source {
        PublishSource::Apiserver => match world.backend.discovery_documents().await {
            Ok(documents) => documents,
            Err(error) => return Ok(Err((error.into(), seen))),
        },
        PublishSource::Generated => {
            let names = publish
                .keys
                .clone()
                .unwrap_or_else(|| cluster.verification_keys.clone());
            let keys = cluster.public_keys(&names);
            let uri = publish
                .jwks_uri
                .clone()
                .or_else(|| cluster.jwks_uri.clone())
                .unwrap_or_else(|| format!("{}/keys.json", issuer.trim_end_matches('/')));
            let field = publish.issuer.clone().unwrap_or_else(|| issuer.clone());
            let doc = DiscoveryDocument::for_keys(&field, Some(&uri), &keys);
            let mut set = serde_json::to_value(cluster.jwks_for(&names, publish.with_empty_kid))?;
            if publish.without_kid {
                for key in set["keys"].as_array_mut().into_iter().flatten() {
                    if let Some(object) = key.as_object_mut() {
                        object.remove("kid");
                    }
                }
            }
            (serde_json::to_string(&doc)?, set.to_string())
        }
    };
    if let Some(raw) = &publish.raw_discovery {
        discovery = raw.clone();
    }
    if let Some(raw) = &publish.raw_jwks {
        jwks_text = raw.clone();
    }
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let jwks_url = serde_json::from_str::<Value>(&discovery)
        .ok()
        .and_then(|d| d["jwks_uri"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let acl = publish.acl.clone().unwrap_or_else(|| "public-read".into());
    // `none`: no `--acl` at all (a bucket with ACLs disabled refuses even `private`).
    let header = (acl != "none").then_some(acl.as_str());
    let mut written = Vec::new();
    let documents = [
        (PublishOnly::Discovery, discovery_url, discovery),
        (PublishOnly::Jwks, jwks_url, jwks_text.clone()),
    ];
    for (which, url, body) in documents {
        if publish.only.is_some_and(|only| only != which) {
            continue;
        }
        let Some((bucket, key)) = bucket_key(world.scenario, &url) else {
            written.push(json!({"url": url, "uploaded": false, "why": "not an object of the hosting bucket"}));
            continue;
        };
        let result = world
            .aws
            .client
            .s3_put(
                &world.aws.admin(),
                world.aws.now(),
                &format!("/{bucket}/{key}"),
                body.into_bytes(),
                header,
            )
            .await?;
        if let Err(f) = result {
            seen.fact("written", written);
            return Ok(Err((f.into(), seen)));
        }
        written.push(json!({"url": url, "acl": acl}));
    }
    seen.fact("written", written);
    if let Ok(set) = serde_json::from_str::<Value>(&jwks_text) {
        let kids: Vec<Value> = set["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| k.get("kid").cloned().unwrap_or(json!("(no kid member)")))
            .collect();
        seen.fact("jwksKids", kids);
    }
    Ok(Ok(seen))
}

fn stored_pod<B: Backend>(backend: &B, namespace: &str, name: &str) -> Option<Value> {
    backend
        .pod(namespace, name)
        .and_then(|p: Pod| serde_json::to_value(p).ok())
}

async fn assume_role<B: Backend>(
    world: &mut World<'_, B>,
    step: &AssumeRole,
) -> anyhow::Result<StepOutcome> {
    let mut seen = Seen::default();
    let namespace = step.namespace.clone().unwrap_or_else(|| "default".into());
    let Some(pod) = stored_pod(world.backend, &namespace, &step.pod) else {
        return Ok(Err((
            failure(
                Origin::Kubernetes,
                "NotFound",
                format!("pods {:?} not found", step.pod),
            ),
            seen,
        )));
    };
    let Some(spec) = container(&pod, step.container.as_deref()).cloned() else {
        return Ok(Err((
            failure(
                Origin::Kubernetes,
                "NotFound",
                "no such container in the pod",
            ),
            seen,
        )));
    };
    let container_name = spec["name"].as_str().unwrap_or_default().to_owned();
    let env = match world
        .backend
        .container_env(&namespace, &step.pod, &container_name)
    {
        Ok(env) => env,
        Err(error) => return Ok(Err((error.into(), seen))),
    };
    seen.pod = Some(pod.clone());
    let sdk = SdkEnv::from_env(&env);
    let (env_role, token_file) = match sdk.web_identity() {
        Ok(pair) => pair,
        Err(f) if step.role_arn.is_none() || sdk.token_file.is_none() => {
            return Ok(Err((f.into(), seen)));
        }
        Err(_) => (String::new(), sdk.token_file.clone().unwrap_or_default()),
    };
    let role_arn = step.role_arn.clone().unwrap_or(env_role);
    // `reuseToken`: an SDK that read the file once keeps sending that token.
    let pod_key = (namespace.clone(), step.pod.clone());
    let token = match world.read_tokens.get(&pod_key) {
        Some(token) if step.reuse_token => token.clone(),
        _ => match world
            .backend
            .read_file(
                &namespace,
                &step.pod,
                &container_name,
                &token_file,
                step.fresh_token,
            )
            .await
        {
            Ok(file) => file.token,
            Err(error) => return Ok(Err((error.into(), seen))),
        },
    };
    world.read_tokens.insert(pod_key, token.clone());
    seen.token = decode(&token);
    let now = world.aws.now();
    let session = step
        .session_name
        .clone()
        .or(sdk.session_name.clone())
        .unwrap_or_else(|| format!("botocore-session-{}", now.unix_timestamp()));
    seen.fact("stsEndpoint", sdk.sts_endpoint());
    seen.fact("roleArn", role_arn.clone());
    seen.fact("roleSessionName", session.clone());
    let duration = step.duration.map(|d| d.secs());
    let answer = exchange(
        &world.aws.client,
        &role_arn,
        &session,
        &token,
        duration,
        now,
        step.skip_caller_identity,
    )
    .await?;
    match answer {
        Ok(result) => {
            seen.fact("assumedRoleUser", result.assumed_role_arn.clone());
            seen.fact("audience", result.audience.clone());
            seen.fact("subject", result.subject.clone());
            seen.fact("provider", result.provider.clone());
            let seconds = (result.expiration - now).whole_seconds();
            seen.credential_seconds = Some(seconds);
            seen.fact(
                "credentialsExpireIn",
                humantime::format_duration(std::time::Duration::from_secs(seconds.max(0) as u64))
                    .to_string(),
            );
            if let Some(arn) = &result.caller_arn {
                seen.fact("callerIdentity", arn.clone());
            }
            seen.arn = result.caller_arn.or(Some(result.assumed_role_arn));
            world
                .credentials
                .insert((namespace.clone(), step.pod.clone()), result.credentials);
            Ok(Ok(seen))
        }
        Err(f) => Ok(Err((f.into(), seen))),
    }
}

async fn token_request<B: Backend>(
    world: &mut World<'_, B>,
    step: &TokenRequestStep,
) -> anyhow::Result<StepOutcome> {
    let mut seen = Seen::default();
    let request = TokenRequest {
        namespace: step.namespace.clone().unwrap_or_else(|| "default".into()),
        service_account: step.service_account.clone(),
        audiences: step.audiences.clone().unwrap_or_default(),
        expiration_seconds: step.expiration.map(|d| d.secs()),
        bound_pod: step.bound_pod.clone(),
    };
    match world.backend.token_request(&request).await {
        Ok(token) => {
            seen.token = decode(&token);
            Ok(Ok(seen))
        }
        Err(error) => Ok(Err((error.into(), seen))),
    }
}

async fn aws_edit<B: Backend>(
    world: &mut World<'_, B>,
    edit: &AwsEdit,
) -> anyhow::Result<StepOutcome> {
    let aws = world.aws;
    let setup = &world.scenario.aws;
    let mut seen = Seen::default();
    let provider_arn = |url: &str| aws.provider_arn(url);
    let params: Vec<(String, String)> = if let Some(change) = &edit.update_trust_policy {
        let policy = trust_policy_json(setup, change.trust_policy.as_ref(), change.trust.as_ref());
        seen.fact(
            "trustPolicy",
            serde_json::from_str::<Value>(&policy).unwrap_or(json!(policy)),
        );
        vec![
            ("Action".into(), "UpdateAssumeRolePolicy".into()),
            ("RoleName".into(), change.role.clone()),
            ("PolicyDocument".into(), policy),
        ]
    } else if let Some(change) = &edit.add_client_id {
        vec![
            ("Action".into(), "AddClientIDToOpenIDConnectProvider".into()),
            (
                "OpenIDConnectProviderArn".into(),
                provider_arn(&change.provider),
            ),
            ("ClientID".into(), change.client_id.clone()),
        ]
    } else if let Some(change) = &edit.remove_client_id {
        vec![
            (
                "Action".into(),
                "RemoveClientIDFromOpenIDConnectProvider".into(),
            ),
            (
                "OpenIDConnectProviderArn".into(),
                provider_arn(&change.provider),
            ),
            ("ClientID".into(), change.client_id.clone()),
        ]
    } else if let Some(provider) = &edit.create_provider {
        return Ok(aws_result(aws.create_provider(provider).await?, seen));
    } else if let Some(url) = &edit.delete_provider {
        vec![
            ("Action".into(), "DeleteOpenIDConnectProvider".into()),
            ("OpenIDConnectProviderArn".into(), provider_arn(url)),
        ]
    } else if let Some(change) = &edit.update_thumbprints {
        let mut params = vec![
            (
                "Action".into(),
                "UpdateOpenIDConnectProviderThumbprint".into(),
            ),
            (
                "OpenIDConnectProviderArn".into(),
                provider_arn(&change.provider),
            ),
        ];
        for (i, t) in change.thumbprints.iter().enumerate() {
            params.push((format!("ThumbprintList.member.{}", i + 1), t.clone()));
        }
        params
    } else if let Some(role) = &edit.create_role {
        return Ok(aws_result(aws.create_role(setup, role).await?, seen));
    } else if let Some(change) = &edit.update_role {
        vec![
            ("Action".into(), "UpdateRole".into()),
            ("RoleName".into(), change.role.clone()),
            (
                "MaxSessionDuration".into(),
                change.max_session_duration.secs().to_string(),
            ),
        ]
    } else if let Some(name) = &edit.delete_role {
        vec![
            ("Action".into(), "DeleteRole".into()),
            ("RoleName".into(), name.clone()),
        ]
    } else {
        anyhow::bail!("an `aws` step without a change reached the runner")
    };
    Ok(aws_result(aws.iam(&params).await?, seen))
}

async fn s3_edit<B: Backend>(
    world: &mut World<'_, B>,
    edit: &S3Edit,
) -> anyhow::Result<StepOutcome> {
    let aws = world.aws;
    let seen = Seen::default();
    let result = if let Some(put) = &edit.put_object {
        let acl = put.acl.clone().unwrap_or_else(|| "private".into());
        aws.client
            .s3_put(
                &aws.admin(),
                aws.now(),
                &format!("/{}/{}", put.bucket, put.key),
                put.content.clone().into_bytes(),
                Some(&acl),
            )
            .await?
    } else if let Some(at) = &edit.delete_object {
        aws.client
            .s3_delete(
                &aws.admin(),
                aws.now(),
                &format!("/{}/{}", at.bucket, at.key),
            )
            .await?
    } else if let Some(at) = &edit.make_private {
        aws.client
            .s3_put(
                &aws.admin(),
                aws.now(),
                &format!("/{}/{}?acl", at.bucket, at.key),
                Vec::new(),
                Some("private"),
            )
            .await?
    } else if let Some(change) = &edit.put_bucket_policy {
        aws.put_bucket_policy(&change.bucket, &change.policy)
            .await?
    } else if let Some(bucket) = &edit.delete_bucket_policy {
        aws.client
            .s3_call(
                &aws.admin(),
                aws.now(),
                http::Method::DELETE,
                &format!("/{bucket}?policy"),
                Vec::new(),
            )
            .await?
    } else if let Some(change) = &edit.put_public_access_block {
        aws.put_public_access_block(&change.bucket, change.configuration)
            .await?
    } else if let Some(bucket) = &edit.delete_public_access_block {
        aws.client
            .s3_call(
                &aws.admin(),
                aws.now(),
                http::Method::DELETE,
                &format!("/{bucket}?publicAccessBlock"),
                Vec::new(),
            )
            .await?
    } else if let Some(change) = &edit.put_ownership_controls {
        aws.put_ownership(&change.bucket, change.object_ownership)
            .await?
    } else {
        anyhow::bail!("an `s3` step without a change reached the runner")
    };
    Ok(aws_result(result, seen))
}

/// `aws cloudfront create-invalidation --distribution-id ID --paths ...`, through the
/// emulator's CloudFront API.
async fn cdn_invalidate<B: Backend>(
    world: &mut World<'_, B>,
    paths: &[String],
) -> anyhow::Result<StepOutcome> {
    let mut seen = Seen::default();
    let aws = world.aws;
    let Some(distribution) = &aws.distribution else {
        return Ok(Err((
            failure(
                Origin::Aws,
                "NoSuchDistribution",
                "the scenario's hosting has no CloudFront distribution",
            ),
            seen,
        )));
    };
    let items: String = paths
        .iter()
        .map(|p| format!("<Path>{}</Path>", irsa_emulator::query::xml_escape(p)))
        .collect();
    // The CLI's own CallerReference is `cli-<time>-<random>`: unique per call.
    let body = format!(
        "<InvalidationBatch xmlns=\"{ns}\"><Paths><Quantity>{n}</Quantity><Items>{items}</Items></Paths><CallerReference>irsa-lab-{id}</CallerReference></InvalidationBatch>",
        ns = irsa_emulator::cloudfront::NAMESPACE,
        n = paths.len(),
        id = uuid::Uuid::new_v4()
    );
    let result = aws
        .client
        .cloudfront(
            &aws.admin(),
            aws.now(),
            http::Method::POST,
            &format!("/2020-05-31/distribution/{}/invalidation", distribution.id),
            body,
        )
        .await?;
    match result {
        Ok(answer) => {
            seen.fact(
                "invalidation",
                json!({
                    "distribution": distribution.id,
                    "paths": paths,
                    "status": crate::aws::xml_field(&answer, "Status"),
                }),
            );
            Ok(Ok(seen))
        }
        Err(f) => Ok(Err((f.into(), seen))),
    }
}
