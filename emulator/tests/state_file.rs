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
