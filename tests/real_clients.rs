//! The real `aws` CLI (from PyPI), boto3 and the AWS SDK for Rust against `irsa-lab serve`,
//! unchanged except for the endpoint: the self-hosted setup guide's workflow. Its
//! `aws s3 cp --acl public-read` needs buckets as S3 made them before April 2023, so the
//! emulator runs with `--s3-bucket-defaults legacy` (`real_cloudfront.rs` has today's).

mod support;

use std::process::Command;

use support::*;

const ISSUER: &str = "https://s3.us-east-1.amazonaws.com/oidc-test";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/s3-reader";

/// The guide's discovery.json, verbatim but for the issuer.
fn discovery_json() -> String {
    format!(
        r#"{{
    "issuer": "{ISSUER}",
    "jwks_uri": "{ISSUER}/keys.json",
    "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
    "response_types_supported": ["id_token"],
    "subject_types_supported": ["public"],
    "id_token_signing_alg_values_supported": ["RS256"],
    "claims_supported": ["sub", "iss"]
}}"#
    )
}

fn trust_json() -> String {
    let key = ISSUER.trim_start_matches("https://");
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/{key}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{key}:sub":"system:serviceaccount:default:app","{key}:aud":"sts.amazonaws.com"}}}}}}]}}"#
    )
}

/// The real CLI with a clean environment pointing at the emulator.
fn aws_cli(aws: &std::path::Path, endpoint: &str, dir: &std::path::Path) -> Command {
    let mut command = Command::new(aws);
    aws_env(&mut command, endpoint, dir);
    command
}

/// The guide's steps with the real CLI; returns the work directory (keys, token file).
fn seed_guide(aws: &std::path::Path, endpoint: &str, dir: &std::path::Path) {
    let cli = |args: &[&str]| ok(aws_cli(aws, endpoint, dir).args(args));
    irsa_lab(dir, &["keys", "generate"]);
    std::fs::write(dir.join("discovery.json"), discovery_json()).unwrap();
    let keys = irsa_lab(
        dir,
        &["keys", "jwks", "sa-signer-pkcs8.pub", "--with-empty-kid"],
    );
    std::fs::write(dir.join("keys.json"), keys).unwrap();
    std::fs::write(dir.join("trust.json"), trust_json()).unwrap();

    // The guide's bucket existence check prints "None" for a missing bucket.
    let existing = cli(&[
        "s3api",
        "list-buckets",
        "--query",
        "Buckets[?Name=='oidc-test'].Name | [0]",
        "--out",
        "text",
    ]);
    assert_eq!(existing.trim(), "None");
    cli(&["s3api", "create-bucket", "--bucket", "oidc-test"]);
    let existing = cli(&[
        "s3api",
        "list-buckets",
        "--query",
        "Buckets[?Name=='oidc-test'].Name | [0]",
        "--out",
        "text",
    ]);
    assert_eq!(existing.trim(), "oidc-test");
    cli(&[
        "s3",
        "cp",
        "--acl",
        "public-read",
        "./discovery.json",
        "s3://oidc-test/.well-known/openid-configuration",
    ]);
    cli(&[
        "s3",
        "cp",
        "--acl",
        "public-read",
        "./keys.json",
        "s3://oidc-test/keys.json",
    ]);
    let listing = cli(&["s3", "ls", "s3://oidc-test/", "--recursive"]);
    assert!(
        listing.contains(".well-known/openid-configuration") && listing.contains("keys.json"),
        "{listing}"
    );

    let provider = cli(&[
        "iam",
        "create-open-id-connect-provider",
        "--url",
        ISSUER,
        "--client-id-list",
        "sts.amazonaws.com",
    ]);
    assert!(
        provider.contains(
            "arn:aws:iam::111122223333:oidc-provider/s3.us-east-1.amazonaws.com/oidc-test"
        ),
        "{provider}"
    );
    let role = cli(&[
        "iam",
        "create-role",
        "--role-name",
        "s3-reader",
        "--assume-role-policy-document",
        "file://trust.json",
    ]);
    assert!(role.contains(ROLE_ARN), "{role}");
    cli(&[
        "iam",
        "attach-role-policy",
        "--role-name",
        "s3-reader",
        "--policy-arn",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    ]);

    let token = irsa_lab(
        dir,
        &[
            "keys",
            "token",
            "--key",
            "sa-signer.key",
            "--issuer",
            ISSUER,
            "--service-account",
            "app",
        ],
    );
    std::fs::write(dir.join("token"), token.trim()).unwrap();
}

#[test]
#[ignore = "needs the aws CLI and boto3: bash .ci/install-tools, then cargo test -- --include-ignored"]
fn aws_cli_runs_the_setup_guide() {
    let aws = real_client("aws");
    let served = Served::start(&["--s3-bucket-defaults", "legacy"]);
    let dir = tempfile::tempdir().unwrap();
    seed_guide(&aws, &served.endpoint, dir.path());
    let token = std::fs::read_to_string(dir.path().join("token")).unwrap();

    let mut command = aws_cli(&aws, &served.endpoint, dir.path());
    let out = ok(command.args([
        "sts",
        "assume-role-with-web-identity",
        "--role-arn",
        ROLE_ARN,
        "--role-session-name",
        "guide",
        "--web-identity-token",
        &token,
    ]));
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        answer["AssumedRoleUser"]["Arn"],
        "arn:aws:sts::111122223333:assumed-role/s3-reader/guide"
    );
    assert_eq!(
        answer["Provider"],
        "arn:aws:iam::111122223333:oidc-provider/s3.us-east-1.amazonaws.com/oidc-test"
    );
    assert_eq!(answer["Audience"], "sts.amazonaws.com");
    assert_eq!(
        answer["SubjectFromWebIdentityToken"],
        "system:serviceaccount:default:app"
    );
    let creds = &answer["Credentials"];
    let akid = creds["AccessKeyId"].as_str().unwrap();
    assert!(akid.starts_with("ASIA") && akid.len() == 20, "{akid}");

    // get-caller-identity with the returned credentials.
    let mut command = aws_cli(&aws, &served.endpoint, dir.path());
    command
        .env("AWS_ACCESS_KEY_ID", akid)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            creds["SecretAccessKey"].as_str().unwrap(),
        )
        .env("AWS_SESSION_TOKEN", creds["SessionToken"].as_str().unwrap());
    let me: serde_json::Value =
        serde_json::from_str(&ok(command.args(["sts", "get-caller-identity"]))).unwrap();
    assert_eq!(
        me["Arn"],
        "arn:aws:sts::111122223333:assumed-role/s3-reader/guide"
    );
    assert_eq!(me["Account"], "111122223333");

    // A wrong secret for issued credentials is refused as AWS refuses it.
    let mut command = aws_cli(&aws, &served.endpoint, dir.path());
    command
        .env("AWS_ACCESS_KEY_ID", akid)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wrong-secret-wrong-secret-wrong-secret00",
        )
        .env("AWS_SESSION_TOKEN", creds["SessionToken"].as_str().unwrap());
    let out = run(command.args(["sts", "get-caller-identity"]));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(SignatureDoesNotMatch)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A pod's view: no static keys, just AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE; the
    // CLI's own credential chain calls AssumeRoleWithWebIdentity.
    let mut command = aws_cli(&aws, &served.endpoint, dir.path());
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ROLE_ARN", ROLE_ARN)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", dir.path().join("token"));
    let me: serde_json::Value =
        serde_json::from_str(&ok(command.args(["sts", "get-caller-identity"]))).unwrap();
    let arn = me["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::111122223333:assumed-role/s3-reader/botocore-session-"),
        "{arn}"
    );

    // An AWS error reaches the CLI with AWS's code and message.
    let mut command = aws_cli(&aws, &served.endpoint, dir.path());
    let wrong_aud = irsa_lab(
        dir.path(),
        &[
            "keys",
            "token",
            "--key",
            "sa-signer.key",
            "--issuer",
            ISSUER,
            "--service-account",
            "app",
            "--audience",
            "vault",
        ],
    );
    let out = run(command.args([
        "sts",
        "assume-role-with-web-identity",
        "--role-arn",
        ROLE_ARN,
        "--role-session-name",
        "guide",
        "--web-identity-token",
        wrong_aud.trim(),
    ]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Incorrect token audience"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "needs the aws CLI and boto3: bash .ci/install-tools, then cargo test -- --include-ignored"]
fn boto3_web_identity_credentials() {
    let python = real_client("python");
    let aws = real_client("aws");
    let served = Served::start(&["--s3-bucket-defaults", "legacy"]);
    let dir = tempfile::tempdir().unwrap();
    seed_guide(&aws, &served.endpoint, dir.path());
    let script = r#"
import boto3
identity = boto3.client("sts").get_caller_identity()
print(identity["Arn"])
"#;
    let mut command = Command::new(python);
    aws_env(&mut command, &served.endpoint, dir.path());
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ROLE_ARN", ROLE_ARN)
        .env("AWS_ROLE_SESSION_NAME", "boto3-app")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", dir.path().join("token"));
    let arn = ok(command.args(["-c", script]));
    assert_eq!(
        arn.trim(),
        "arn:aws:sts::111122223333:assumed-role/s3-reader/boto3-app"
    );
}
