//! The AWS SDK for Rust, configured like a pod: `AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`
//! and `AWS_ENDPOINT_URL` in the environment and nothing else. Its default credential
//! chain calls AssumeRoleWithWebIdentity on the emulator, then GetCallerIdentity.
//!
//! The SDK reads those variables from the process environment only, and a test must not
//! change its own process's environment; so the test serves the emulator and re-runs
//! itself (this test binary, this one test) as a child with the pod's environment, where
//! it plays the pod. No separate, ignored "child" test passes silently when run alone.

use std::process::Stdio;

use irsa_emulator::clock;
use irsa_emulator::issuer::{
    BoundTokenRequest, DiscoveryDocument, KeyAlgorithm, KidMode, ObjectRef, PrivateKey, jwks,
    sign_bound_token,
};
use irsa_emulator::s3::Acl;
use irsa_emulator::server::{Emulator, EmulatorConfig};

const ISSUER: &str = "https://oidc-test.s3.us-west-2.amazonaws.com/o7k";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/sdk-reader";
const CHILD: &str = "IRSA_LAB_SDK_CHILD";

fn emulator_with_issuer(key: &PrivateKey) -> Emulator {
    // Public-read objects, as the upstream guide publishes them (pre-2023 bucket defaults).
    let emulator = Emulator::new(EmulatorConfig {
        clock: clock::system(),
        s3_bucket_defaults: irsa_emulator::s3::BucketDefaults::Legacy,
        ..EmulatorConfig::default()
    });
    let s3 = emulator.s3();
    s3.create_bucket("oidc-test", Some("us-west-2")).unwrap();
    let doc = DiscoveryDocument::for_keys(
        ISSUER,
        Some(&format!("{ISSUER}/keys.json")),
        &[key.public_key()],
    );
    s3.put_object(
        "oidc-test",
        "o7k/.well-known/openid-configuration",
        serde_json::to_vec(&doc).unwrap().into(),
        None,
        Acl::PublicRead,
    )
    .unwrap();
    s3.put_object(
        "oidc-test",
        "o7k/keys.json",
        serde_json::to_vec(&jwks(&[key.public_key()], false))
            .unwrap()
            .into(),
        None,
        Acl::PublicRead,
    )
    .unwrap();
    emulator
        .iam()
        .create_provider(ISSUER, &["sts.amazonaws.com".into()], &[])
        .unwrap();
    let key_prefix = ISSUER.trim_start_matches("https://");
    let trust = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/{key_prefix}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringLike":{{"{key_prefix}:sub":"system:serviceaccount:apps:*"}}}}}}]}}"#
    );
    emulator
        .iam()
        .create_role("sdk-reader", None, &trust, None)
        .unwrap();
    emulator
}

#[tokio::test]
async fn aws_sdk_for_rust_assumes_the_role_like_a_pod() {
    if std::env::var_os(CHILD).is_some() {
        return pod().await;
    }
    let key = PrivateKey::generate(KeyAlgorithm::EcP256);
    let emulator = emulator_with_issuer(&key);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let router = emulator.router();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let request = BoundTokenRequest {
        issuer: ISSUER.into(),
        audiences: vec!["sts.amazonaws.com".into()],
        namespace: "apps".into(),
        service_account: ObjectRef::new("reader", "u1"),
        pod: Some(ObjectRef::new("reader-0", "u2")),
        node: None,
        secret: None,
        issued_at: now,
        expiration_seconds: 3600,
        warn_after: None,
        jti: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        sign_bound_token(&request, &key, KidMode::Sha256),
    )
    .unwrap();

    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            child.env_remove(name);
        }
    }
    let out = child
        .args([
            "--exact",
            "aws_sdk_for_rust_assumes_the_role_like_a_pod",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ROLE_ARN", ROLE_ARN)
        .env("AWS_ROLE_SESSION_NAME", "sdk-rust")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_REGION", "us-west-2")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("caller arn:aws:sts::111122223333:assumed-role/sdk-reader/sdk-rust"),
        "{stdout}"
    );
}

/// The pod: the test above in its child process, with the pod's environment.
async fn pod() {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sts = aws_sdk_sts::Client::new(&config);
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity with web-identity credentials");
    println!("caller {}", me.arn().unwrap_or_default());
    assert_eq!(me.account(), Some("111122223333"));
}
