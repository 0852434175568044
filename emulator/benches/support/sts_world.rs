//! What the STS benchmarks share: an emulator whose issuer lives in its own S3, a role
//! trusting it, a valid RS256-2048 token, and the AssumeRoleWithWebIdentity form.

use bytes::Bytes;
use irsa_emulator::clock;
use irsa_emulator::issuer::{
    BoundTokenRequest, DiscoveryDocument, KeyAlgorithm, KidMode, ObjectRef, PrivateKey, jwks,
    sign_bound_token,
};
use irsa_emulator::s3::Acl;
use irsa_emulator::server::{Emulator, EmulatorConfig};

pub const ISSUER: &str = "https://s3.us-east-1.amazonaws.com/oidc-bench";
pub const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/bench";

/// The emulator and a token it accepts for [`ROLE_ARN`].
pub fn emulator() -> (Emulator, String) {
    // Public-read objects, as the upstream guide publishes them (pre-2023 bucket defaults).
    let emulator = Emulator::new(EmulatorConfig {
        clock: clock::system(),
        s3_bucket_defaults: irsa_emulator::s3::BucketDefaults::Legacy,
        ..EmulatorConfig::default()
    });
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048);
    let s3 = emulator.s3();
    s3.create_bucket("oidc-bench", None).expect("bucket");
    let doc = DiscoveryDocument::for_keys(
        ISSUER,
        Some(&format!("{ISSUER}/keys.json")),
        &[key.public_key()],
    );
    s3.put_object(
        "oidc-bench",
        ".well-known/openid-configuration",
        serde_json::to_vec(&doc).expect("json").into(),
        None,
        Acl::PublicRead,
    )
    .expect("put");
    s3.put_object(
        "oidc-bench",
        "keys.json",
        serde_json::to_vec(&jwks(&[key.public_key()], false))
            .expect("json")
            .into(),
        None,
        Acl::PublicRead,
    )
    .expect("put");
    emulator
        .iam()
        .create_provider(ISSUER, &["sts.amazonaws.com".into()], &[])
        .expect("provider");
    let prefix = ISSUER.trim_start_matches("https://");
    let trust = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/{prefix}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{prefix}:sub":"system:serviceaccount:default:app","{prefix}:aud":"sts.amazonaws.com"}}}}}}]}}"#
    );
    emulator
        .iam()
        .create_role("bench", None, &trust, None)
        .expect("role");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let request = BoundTokenRequest {
        issuer: ISSUER.into(),
        audiences: vec!["sts.amazonaws.com".into()],
        namespace: "default".into(),
        service_account: ObjectRef::new("app", "u1"),
        pod: Some(ObjectRef::new("app-0", "u2")),
        node: Some(ObjectRef::new("node-1", "u3")),
        secret: None,
        issued_at: now,
        expiration_seconds: 86_400,
        warn_after: None,
        jti: Some("j".into()),
    };
    (emulator, sign_bound_token(&request, &key, KidMode::Sha256))
}

/// The AssumeRoleWithWebIdentity form for `token`.
pub fn form(token: &str) -> Bytes {
    Bytes::from(
        serde_urlencoded::to_string([
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", ROLE_ARN),
            ("RoleSessionName", "bench"),
            ("WebIdentityToken", token),
        ])
        .expect("form"),
    )
}
