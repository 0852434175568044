//! The OpenUnison guide's commands with the real `aws` CLI (from PyPI) against
//! `irsa-lab serve`, unchanged except for the endpoint: a bucket with S3's current
//! defaults, an Origin Access Control, a CloudFront distribution, the bucket policy for it,
//! `aws s3 sync`, and a key rotation that needs `aws cloudfront create-invalidation`.
//! Then STS validates tokens through the distribution.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::*;

const BUCKET: &str = "openunison-sts-docs";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/openunison-sts-docs";
/// STS refetches an unknown kid at most this often (the flag below); the test waits it out.
const REFETCH: Duration = Duration::from_secs(1);

fn aws_cli(aws: &Path, endpoint: &str, home: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(aws);
    aws_env(&mut command, endpoint, home);
    command.current_dir(cwd);
    command
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The guide's cf-config.json for `oac_id`.
fn cf_config(oac_id: &str) -> String {
    serde_json::json!({
        "CallerReference": "ou-sts-001",
        "Comment": "My ou sts 001",
        "Enabled": true,
        "Origins": {
            "Items": [{
                "Id": "S3-openunison-sts-docs",
                "DomainName": "openunison-sts-docs.s3.us-east-1.amazonaws.com",
                "S3OriginConfig": {"OriginAccessIdentity": ""},
                "OriginAccessControlId": oac_id
            }],
            "Quantity": 1
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "S3-openunison-sts-docs",
            "ViewerProtocolPolicy": "redirect-to-https",
            "TrustedSigners": {"Enabled": false, "Quantity": 0},
            "ForwardedValues": {"QueryString": false, "Cookies": {"Forward": "none"}},
            "MinTTL": 0
        }
    })
    .to_string()
}

/// The guide's bucket policy for the distribution's ARN.
fn bucket_policy(distribution_arn: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "PolicyForCloudFrontPrivateContent",
        "Statement": [{
            "Sid": "AllowCloudFrontServicePrincipal",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{BUCKET}/*"),
            "Condition": {"ArnLike": {"AWS:SourceArn": distribution_arn}}
        }]
    })
    .to_string()
}

/// OpenUnison's issuer-docs for `issuer` and the key in `key_dir`, written as the guide's
/// `curl .../issuer-docs | jq` lines write them.
fn write_issuer_docs(dir: &Path, issuer: &str, key_dir: &Path) {
    std::fs::create_dir_all(dir.join(".well-known")).unwrap();
    let discovery = serde_json::json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/certs"),
        "response_types_supported": ["code", "token", "id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "aud", "iss", "exp", "cluster", "namespace", "saname"]
    });
    std::fs::write(
        dir.join(".well-known/openid-configuration"),
        serde_json::to_string_pretty(&discovery).unwrap(),
    )
    .unwrap();
    let public = key_dir.join("sa-signer-pkcs8.pub");
    let certs = irsa_lab(key_dir, &["keys", "jwks", public.to_str().unwrap()]);
    std::fs::write(dir.join("certs"), certs).unwrap();
}

fn token(key_dir: &Path, issuer: &str) -> String {
    irsa_lab(
        key_dir,
        &[
            "keys",
            "token",
            "--key",
            "sa-signer.key",
            "--issuer",
            issuer,
            "--namespace",
            "myns",
            "--service-account",
            "app",
            "--audience",
            "sts.aws.com",
        ],
    )
    .trim()
    .to_owned()
}

#[test]
#[ignore = "needs the aws CLI: bash .ci/install-tools, then cargo test -- --include-ignored"]
fn aws_cli_runs_the_openunison_cloudfront_guide() {
    let aws = real_client("aws");
    let served = Served::start(&["--jwks-refetch-interval", "1s"]);
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let s3dir = home.join("s3dir");
    std::fs::create_dir_all(&s3dir).unwrap();
    let cli = |args: &[&str]| ok(aws_cli(&aws, &served.endpoint, home, home).args(args));
    let cli_in =
        |cwd: &Path, args: &[&str]| ok(aws_cli(&aws, &served.endpoint, home, cwd).args(args));

    cli(&["s3api", "create-bucket", "--bucket", BUCKET]);
    let oac = json(&cli(&[
        "cloudfront",
        "create-origin-access-control",
        "--origin-access-control-config",
        r#"{"Name": "oac-openunison-sts-1", "Description": "OAC for S3 origin", "SigningProtocol": "sigv4", "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"}"#,
    ]));
    let oac_id = oac["OriginAccessControl"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(oac["ETag"].is_string(), "{oac}");

    std::fs::write(home.join("cf-config.json"), cf_config(&oac_id)).unwrap();
    let created = json(&cli(&[
        "cloudfront",
        "create-distribution",
        "--distribution-config",
        "file://cf-config.json",
    ]));
    let distribution = &created["Distribution"];
    let arn = distribution["ARN"].as_str().unwrap().to_owned();
    let domain = distribution["DomainName"].as_str().unwrap().to_owned();
    let id = distribution["Id"].as_str().unwrap().to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:cloudfront::111122223333:distribution/{id}")
    );
    assert!(domain.ends_with(".cloudfront.net"), "{domain}");

    let got = json(&cli(&["cloudfront", "get-distribution", "--id", &id]));
    assert_eq!(got["Distribution"]["Status"], "Deployed", "{got}");
    assert_eq!(
        got["Distribution"]["DistributionConfig"]["Origins"]["Items"][0]["OriginAccessControlId"],
        oac_id.as_str()
    );
    assert!(got["ETag"].is_string(), "{got}");

    std::fs::write(home.join("policy.json"), bucket_policy(&arn)).unwrap();
    cli(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        BUCKET,
        "--policy",
        "file://policy.json",
    ]);

    let issuer = format!("https://{domain}");
    let key1 = home.join("key1");
    let key2 = home.join("key2");
    for dir in [&key1, &key2] {
        std::fs::create_dir_all(dir).unwrap();
        irsa_lab(dir, &["keys", "generate"]);
    }
    write_issuer_docs(&s3dir, &issuer, &key1);
    // A stray file, removed before the next sync: `--delete` must remove it from the bucket.
    std::fs::write(s3dir.join("keys-draft.json"), "{}").unwrap();
    cli_in(
        &s3dir,
        &[
            "s3",
            "sync",
            ".",
            &format!("s3://{BUCKET}/"),
            "--exact-timestamps",
        ],
    );
    let listing = cli(&["s3", "ls", &format!("s3://{BUCKET}/"), "--recursive"]);
    assert!(
        listing.contains(".well-known/openid-configuration") && listing.contains("certs"),
        "{listing}"
    );

    let provider = json(&cli(&[
        "iam",
        "create-open-id-connect-provider",
        "--url",
        &issuer,
        "--client-id-list",
        "sts.aws.com",
    ]));
    let provider_arn = provider["OpenIDConnectProviderArn"].as_str().unwrap();
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{domain}:aud"): "sts.aws.com"}}
        }]
    });
    std::fs::write(home.join("trust.json"), trust.to_string()).unwrap();
    cli(&[
        "iam",
        "create-role",
        "--role-name",
        "openunison-sts-docs",
        "--assume-role-policy-document",
        "file://trust.json",
    ]);

    let assume = |token: &str| {
        run(aws_cli(&aws, &served.endpoint, home, home).args([
            "sts",
            "assume-role-with-web-identity",
            "--role-arn",
            ROLE_ARN,
            "--role-session-name",
            "ou",
            "--web-identity-token",
            token,
        ]))
    };
    let first = assume(&token(&key1, &issuer));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let answer = json(&String::from_utf8_lossy(&first.stdout));
    assert_eq!(
        answer["AssumedRoleUser"]["Arn"],
        "arn:aws:sts::111122223333:assumed-role/openunison-sts-docs/ou"
    );
    assert_eq!(answer["Audience"], "sts.aws.com");

    // Rotation: the new key's documents synced; CloudFront still serves the cached certs.
    write_issuer_docs(&s3dir, &issuer, &key2);
    std::fs::remove_file(s3dir.join("keys-draft.json")).unwrap();
    let synced = cli_in(
        &s3dir,
        &[
            "s3",
            "sync",
            ".",
            &format!("s3://{BUCKET}/"),
            "--exact-timestamps",
            "--delete",
        ],
    );
    assert!(
        synced.contains("upload: ./certs")
            && synced.contains("delete: s3://openunison-sts-docs/keys-draft.json"),
        "{synced}"
    );
    let listing = cli(&["s3", "ls", &format!("s3://{BUCKET}/"), "--recursive"]);
    assert!(!listing.contains("keys-draft.json"), "{listing}");
    let rotated = token(&key2, &issuer);
    std::thread::sleep(REFETCH + Duration::from_millis(200));
    let stale = assume(&rotated);
    assert!(!stale.status.success());
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("(InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"),
        "{}",
        String::from_utf8_lossy(&stale.stderr)
    );

    let invalidation = json(&cli(&[
        "cloudfront",
        "create-invalidation",
        "--distribution-id",
        &id,
        "--paths",
        "/certs",
    ]));
    let invalidation_id = invalidation["Invalidation"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        invalidation["Location"]
            .as_str()
            .unwrap()
            .ends_with(&invalidation_id),
        "{invalidation}"
    );
    let status = json(&cli(&[
        "cloudfront",
        "get-invalidation",
        "--distribution-id",
        &id,
        "--id",
        &invalidation_id,
    ]));
    assert_eq!(status["Invalidation"]["Status"], "Completed", "{status}");
    assert_eq!(
        status["Invalidation"]["InvalidationBatch"]["Paths"]["Items"][0],
        "/certs"
    );

    std::thread::sleep(REFETCH + Duration::from_millis(200));
    let fresh = assume(&rotated);
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
}

#[test]
#[ignore = "needs the aws CLI: bash .ci/install-tools, then cargo test -- --include-ignored"]
fn aws_cli_public_read_upload_to_a_new_bucket_is_refused() {
    let aws = real_client("aws");
    let served = Served::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    std::fs::write(home.join("keys.json"), "{\"keys\":[]}").unwrap();
    ok(aws_cli(&aws, &served.endpoint, home, home).args([
        "s3api",
        "create-bucket",
        "--bucket",
        "oidc-test",
    ]));
    let out = run(aws_cli(&aws, &served.endpoint, home, home).args([
        "s3",
        "cp",
        "--acl",
        "public-read",
        "./keys.json",
        "s3://oidc-test/keys.json",
    ]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("An error occurred (AccessControlListNotSupported) when calling the PutObject operation: The bucket does not allow ACLs"),
        "{stderr}"
    );
}
