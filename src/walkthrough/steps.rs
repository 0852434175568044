//! The walkthrough's steps: the setup guide, then the failures support engineers meet.

use std::time::Duration;

use irsa_emulator::issuer::{
    DiscoveryDocument, KeyAlgorithm, KidMode, PrivateKey, PublicKey, jwks,
};
use serde_json::json;

use super::aws_client::{AwsFailure, AwsResult, Credentials, xml_field};
use super::lab::{BUCKET, ISSUER, ROLE_ARN, WalkthroughLab};
use super::webhook::{Webhook, env};
use pod_identity_webhook::identity::ServiceAccountInfo;

/// What a step expects from AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// AWS's error code and the start of its message.
    Error(&'static str, &'static str),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Success => f.write_str("success"),
            Outcome::Error(code, message) => write!(f, "{code}: {message}..."),
        }
    }
}

/// One printed step.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub title: String,
    pub lines: Vec<String>,
    pub expected: Outcome,
    pub as_expected: bool,
}

fn report(
    title: impl Into<String>,
    expected: Outcome,
    result: &AwsResult,
    mut lines: Vec<String>,
) -> StepReport {
    let as_expected = match (&expected, result) {
        (Outcome::Success, Ok(_)) => true,
        (Outcome::Error(code, message), Err(failure)) => {
            failure.code == *code && failure.message.starts_with(message)
        }
        _ => false,
    };
    if let Err(failure) = result {
        lines.push(format!("AWS answers {}: {}", failure.code, failure.message));
        if let Some(why) = &failure.diagnosis {
            lines.push(format!("why: {why}"));
        }
    }
    StepReport {
        title: title.into(),
        lines,
        expected,
        as_expected,
    }
}

const SUB: &str = "system:serviceaccount:default:app";

/// Runs every step in order. Steps build on each other's state (keys, bucket, cache).
pub async fn all(lab: &WalkthroughLab) -> anyhow::Result<Vec<StepReport>> {
    let admin = Credentials::admin();
    let client = &lab.client;
    let mut reports = Vec::new();

    // The setup guide.
    let key_a = PrivateKey::generate(KeyAlgorithm::Rsa2048);
    reports.push(StepReport {
        title: "generate the service-account signing key (irsa-lab keys generate)".into(),
        lines: vec![format!(
            "RSA 2048, kid {} (SHA-256 of the public key, as kube-apiserver derives it)",
            key_a.public_key().kid()
        )],
        expected: Outcome::Success,
        as_expected: true,
    });

    let result = client
        .s3_put(&admin, lab.now(), &format!("/{BUCKET}"), Vec::new(), None)
        .await?;
    reports.push(report(
        "create the issuer bucket (aws s3api create-bucket --bucket oidc-test)",
        Outcome::Success,
        &result,
        vec![],
    ));

    let result = publish(lab, &[key_a.public_key()], false, "public-read").await?;
    reports.push(report(
        "publish discovery + keys.json (aws s3 cp --acl public-read ...)",
        Outcome::Success,
        &result,
        vec![
            format!("issuer {ISSUER}"),
            format!("jwks_uri {ISSUER}/keys.json"),
        ],
    ));

    let result = client
        .iam(
            &admin,
            lab.now(),
            &[
                ("Action", "CreateOpenIDConnectProvider"),
                ("Url", ISSUER),
                ("ClientIDList.member.1", "sts.amazonaws.com"),
            ],
        )
        .await?;
    let provider_arn = result
        .as_ref()
        .ok()
        .and_then(|xml| xml_field(xml, "OpenIDConnectProviderArn"))
        .unwrap_or_default();
    reports.push(report(
        "create the IAM OIDC provider (aws iam create-open-id-connect-provider)",
        Outcome::Success,
        &result,
        vec![provider_arn.clone()],
    ));

    let key = ISSUER.trim_start_matches("https://");
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{key}:sub"): SUB, format!("{key}:aud"): "sts.amazonaws.com"}}
        }]
    })
    .to_string();
    let result = client
        .iam(
            &admin,
            lab.now(),
            &[
                ("Action", "CreateRole"),
                ("RoleName", "s3-reader"),
                ("AssumeRolePolicyDocument", &trust),
            ],
        )
        .await?;
    reports.push(report(
        "create the role s3-reader (aws iam create-role)",
        Outcome::Success,
        &result,
        vec![format!("{ROLE_ARN} trusts {SUB}")],
    ));

    // The webhook mutates the pod; the kubelet projects the token the pod asks for; the
    // SDK reads the env the webhook injected.
    let service_account =
        ServiceAccountInfo::with_role_arn("default", "app", "eks.amazonaws.com", ROLE_ARN);
    let webhook = Webhook::start(vec![service_account]).await?;
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "app-0", "namespace": "default"},
        "spec": {"serviceAccountName": "app", "containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]}
    });
    let (pod, ops) = webhook.admit("default", &pod).await?;
    webhook.stop();
    let role_arn = env(&pod, "AWS_ROLE_ARN").unwrap_or_default();
    let token_file = env(&pod, "AWS_WEB_IDENTITY_TOKEN_FILE").unwrap_or_default();
    let projection = &pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    let audience = projection["audience"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let expiration = projection["expirationSeconds"].as_i64().unwrap_or_default();
    reports.push(StepReport {
        title: "the pod identity webhook mutates the pod (AdmissionReview over HTTPS, SA annotated eks.amazonaws.com/role-arn)".into(),
        lines: vec![
            format!("{ops} JSON patch operations: AWS_ROLE_ARN={role_arn}"),
            format!("AWS_WEB_IDENTITY_TOKEN_FILE={token_file}"),
            format!("projected token: audience {audience}, {expiration} s"),
        ],
        expected: Outcome::Success,
        as_expected: role_arn == ROLE_ARN && audience == "sts.amazonaws.com" && !token_file.is_empty(),
    });

    let token_path = lab.token_dir.path().join("token");
    std::fs::write(
        &token_path,
        lab.token(
            &key_a,
            KidMode::Sha256,
            ISSUER,
            &audience,
            lab.now().unix_timestamp(),
        ),
    )?;
    let token = std::fs::read_to_string(&token_path)?;
    let result = client
        .assume_role_with_web_identity(ROLE_ARN, "irsa-lab-walkthrough", &token)
        .await?;
    let creds = result.as_ref().ok().map(|xml| Credentials {
        access_key_id: xml_field(xml, "AccessKeyId").unwrap_or_default(),
        secret_access_key: xml_field(xml, "SecretAccessKey").unwrap_or_default(),
        session_token: xml_field(xml, "SessionToken"),
    });
    let assumed = result
        .as_ref()
        .ok()
        .and_then(|xml| xml_field(xml, "Arn"))
        .unwrap_or_default();
    reports.push(report(
        "AssumeRoleWithWebIdentity with the projected token (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)",
        Outcome::Success,
        &result,
        vec![format!("the kubelet's token for {token_file} (here {})", token_path.display()), format!("assumed {assumed}")],
    ));

    let result = match &creds {
        Some(creds) => client.get_caller_identity(creds, lab.now()).await?,
        None => Err(AwsFailure {
            code: "Skipped".into(),
            message: "no credentials".into(),
            diagnosis: None,
        }),
    };
    let caller = result
        .as_ref()
        .ok()
        .and_then(|xml| xml_field(xml, "Arn"))
        .unwrap_or_default();
    let mut step = report(
        "GetCallerIdentity signed with the temporary credentials",
        Outcome::Success,
        &result,
        vec![format!("caller {caller}")],
    );
    step.as_expected &= !caller.is_empty() && caller == assumed;
    reports.push(step);

    // The failures support engineers are asked about.
    let assume = |token: String| async move {
        client
            .assume_role_with_web_identity(ROLE_ARN, "irsa-lab-walkthrough", &token)
            .await
    };
    let now = || lab.now().unix_timestamp();

    let result = assume(lab.token(&key_a, KidMode::Sha256, ISSUER, "vault", now())).await?;
    reports.push(report(
        "audience mismatch: the webhook's --token-audience is not the provider's client id",
        Outcome::Error("InvalidIdentityToken", "Incorrect token audience"),
        &result,
        vec![],
    ));

    let result = assume(lab.token(
        &key_a,
        KidMode::Sha256,
        &format!("{ISSUER}/"),
        "sts.amazonaws.com",
        now(),
    ))
    .await?;
    reports.push(report(
        "issuer with a trailing slash: --service-account-issuer differs from the provider URL",
        Outcome::Error(
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account for",
        ),
        &result,
        vec![],
    ));

    let key_b = PrivateKey::generate(KeyAlgorithm::Rsa2048);
    let result =
        assume(lab.token(&key_b, KidMode::Sha256, ISSUER, "sts.amazonaws.com", now())).await?;
    reports.push(report(
        "key rotation gone wrong: the signer switched to key-b before keys.json lists it",
        Outcome::Error("InvalidIdentityToken", "Couldn't retrieve verification key"),
        &result,
        vec![format!("token kid {}", key_b.public_key().kid())],
    ));

    must(
        publish(
            lab,
            &[key_a.public_key(), key_b.public_key()],
            false,
            "public-read",
        )
        .await?,
    )?;
    let result =
        assume(lab.token(&key_b, KidMode::Sha256, ISSUER, "sts.amazonaws.com", now())).await?;
    reports.push(report(
        "keys.json republished with both keys, but STS refetches an unknown kid at most every 5 minutes",
        Outcome::Error("InvalidIdentityToken", "Couldn't retrieve verification key"),
        &result,
        vec![],
    ));

    lab.advance(Duration::from_secs(6 * 60));
    let result =
        assume(lab.token(&key_b, KidMode::Sha256, ISSUER, "sts.amazonaws.com", now())).await?;
    reports.push(report(
        "6 minutes later STS refetches keys.json: key-b verifies",
        Outcome::Success,
        &result,
        vec![],
    ));

    let result =
        assume(lab.token(&key_b, KidMode::Omitted, ISSUER, "sts.amazonaws.com", now())).await?;
    reports.push(report(
        "pre-1.16 apiserver: tokens carry no kid, and keys.json has no \"kid\": \"\" key",
        Outcome::Error("InvalidIdentityToken", "Couldn't retrieve verification key"),
        &result,
        vec![],
    ));

    must(
        publish(
            lab,
            &[key_b.public_key(), key_a.public_key()],
            true,
            "public-read",
        )
        .await?,
    )?;
    lab.advance(Duration::from_secs(6 * 60));
    let result =
        assume(lab.token(&key_b, KidMode::Omitted, ISSUER, "sts.amazonaws.com", now())).await?;
    reports.push(report("the guide's bridge: keys.json with the signing key twice, once with kid \"\" (keys jwks --with-empty-kid)", Outcome::Success, &result, vec![]));

    let result = assume(lab.token(
        &key_b,
        KidMode::Sha256,
        ISSUER,
        "sts.amazonaws.com",
        now() - 86_400 - 600,
    ))
    .await?;
    reports.push(report(
        "a token that expired 10 minutes ago (a stuck kubelet refresh)",
        Outcome::Error("ExpiredTokenException", "Token expired: current date/time"),
        &result,
        vec![],
    ));

    must(publish(lab, &[key_b.public_key()], false, "private").await?)?;
    lab.advance(Duration::from_secs(61 * 60));
    let result =
        assume(lab.token(&key_b, KidMode::Sha256, ISSUER, "sts.amazonaws.com", now())).await?;
    reports.push(report(
        "keys.json uploaded without --acl public-read (seen once STS's 1 h cache expires)",
        Outcome::Error("InvalidIdentityToken", "Couldn't retrieve verification key"),
        &result,
        vec![],
    ));
    Ok(reports)
}

/// Setup uploads between steps must succeed; their failure is a broken emulator.
fn must(result: AwsResult) -> anyhow::Result<()> {
    result
        .map(|_| ())
        .map_err(|f| anyhow::anyhow!("publishing the issuer failed: {}: {}", f.code, f.message))
}

/// Uploads discovery + keys.json for `keys` through the S3 API, as the guide does.
async fn publish(
    lab: &WalkthroughLab,
    keys: &[PublicKey],
    with_empty_kid: bool,
    acl: &str,
) -> anyhow::Result<AwsResult> {
    let admin = Credentials::admin();
    let doc = DiscoveryDocument::for_keys(ISSUER, Some(&format!("{ISSUER}/keys.json")), keys);
    let first = lab
        .client
        .s3_put(
            &admin,
            lab.now(),
            &format!("/{BUCKET}/.well-known/openid-configuration"),
            serde_json::to_vec_pretty(&doc)?,
            Some("public-read"),
        )
        .await?;
    if first.is_err() {
        return Ok(first);
    }
    let set = jwks(keys, with_empty_kid);
    lab.client
        .s3_put(
            &admin,
            lab.now(),
            &format!("/{BUCKET}/keys.json"),
            serde_json::to_vec_pretty(&set)?,
            Some(acl),
        )
        .await
}
