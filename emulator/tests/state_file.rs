//! `irsa-lab serve --state FILE`: a state file preloads provider, role and a published
//! issuer, and the emulator then answers AssumeRoleWithWebIdentity from it.

use std::path::Path;

use irsa_emulator::issuer::{DiscoveryDocument, KeyAlgorithm, KidMode, PrivateKey, jwks};
use irsa_emulator::query::QueryRequest;
use irsa_emulator::server::state::StateFile;
use irsa_emulator::server::{Emulator, EmulatorConfig};
use irsa_emulator::sts::AssumeRoleWithWebIdentityInput;

const ISSUER: &str = "https://s3.us-east-1.amazonaws.com/oidc-test";

#[tokio::test]
async fn a_state_file_sets_up_the_whole_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcP256);
    let doc = DiscoveryDocument::for_keys(
        ISSUER,
        Some(&format!("{ISSUER}/keys.json")),
        &[key.public_key()],
    );
    std::fs::write(
        dir.path().join("discovery.json"),
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("keys.json"),
        serde_json::to_vec(&jwks(&[key.public_key()], false)).unwrap(),
    )
    .unwrap();
    let state_path = dir.path().join("state.yaml");
    std::fs::write(
        &state_path,
        format!(
            r#"accountId: "444455556666"
oidcProviders:
  - url: {ISSUER}
    clientIds: [sts.amazonaws.com]
roles:
  - name: s3-reader
    trust: {{sub: "system:serviceaccount:default:app", aud: sts.amazonaws.com}}
bucketDefaults: legacy
buckets:
  - name: oidc-test
    objects:
      - {{key: .well-known/openid-configuration, file: discovery.json, acl: public-read}}
      - {{key: keys.json, file: keys.json, acl: public-read}}
"#
        ),
    )
    .unwrap();
    let state = StateFile::load(&state_path).unwrap();
    let mut config = EmulatorConfig::default();
    state.configure(&mut config).unwrap();
    let emulator = Emulator::new(config);
    state.apply(&emulator).unwrap();

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let request = irsa_emulator::issuer::BoundTokenRequest {
        issuer: ISSUER.into(),
        audiences: vec!["sts.amazonaws.com".into()],
        namespace: "default".into(),
        service_account: irsa_emulator::issuer::ObjectRef::new("app", "u"),
        pod: None,
        node: None,
        secret: None,
        issued_at: now,
        expiration_seconds: 3600,
        warn_after: None,
        jti: None,
    };
    let token = irsa_emulator::issuer::sign_bound_token(&request, &key, KidMode::Sha256);
    let query = QueryRequest::new(
        "AssumeRoleWithWebIdentity",
        [
            ("RoleArn", "arn:aws:iam::444455556666:role/s3-reader"),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", token.as_str()),
        ],
    );
    let out = emulator
        .sts()
        .assume_role_with_web_identity(&AssumeRoleWithWebIdentityInput::from_query(&query).unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.assumed_role_arn,
        "arn:aws:sts::444455556666:assumed-role/s3-reader/s1"
    );
}

#[test]
fn state_file_errors_name_the_file_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.yaml");
    std::fs::write(
        &path,
        "buckets:\n  - name: b-1\n    objects:\n      - {key: k, file: missing.json}\n",
    )
    .unwrap();
    let state = StateFile::load(&path).unwrap();
    let emulator = Emulator::new(EmulatorConfig::default());
    let err = state.apply(&emulator).unwrap_err().to_string();
    assert!(
        err.contains("state.yaml")
            && err.contains("buckets[b-1].objects[k]")
            && err.contains("missing.json"),
        "{err}"
    );

    std::fs::write(&path, "roles:\n  - name: r\n").unwrap();
    let err = StateFile::load(&path)
        .unwrap()
        .apply(&emulator)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("roles[r]") && err.contains("trustPolicy"),
        "{err}"
    );
    assert!(
        StateFile::load(Path::new("/nonexistent/state.yaml"))
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/state.yaml")
    );
}

#[test]
fn public_read_object_in_a_bucket_with_current_defaults_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.yaml");
    std::fs::write(
        &path,
        "buckets:\n  - name: b-1\n    objects:\n      - {key: k, content: x, acl: public-read}\n",
    )
    .unwrap();
    let state = StateFile::load(&path).unwrap();
    let emulator = Emulator::new(EmulatorConfig::default());
    let err = state.apply(&emulator).unwrap_err().to_string();
    assert!(
        err.contains("buckets[b-1].objects[k]")
            && err.contains("AccessControlListNotSupported")
            && err.contains("bucketDefaults: legacy"),
        "{err}"
    );
}

#[test]
fn state_file_bucket_policy_grants_anonymous_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.yaml");
    std::fs::write(
        &path,
        r#"buckets:
  - name: b-1
    publicAccessBlock: {blockPublicAcls: true, ignorePublicAcls: true}
    policy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b-1/*"}]}
    objects:
      - {key: k, content: x}
"#,
    )
    .unwrap();
    let state = StateFile::load(&path).unwrap();
    let emulator = Emulator::new(EmulatorConfig::default());
    state.apply(&emulator).unwrap();
    use irsa_emulator::oidc::AnonymousObjects;
    assert_eq!(
        emulator.s3().get_anonymous("b-1", "k").unwrap(),
        bytes::Bytes::from_static(b"x")
    );
}
