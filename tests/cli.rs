//! The `irsa-lab` command line as a user runs it.

mod support;

use std::process::Command;

use support::*;

#[test]
fn run_walks_the_whole_chain_and_every_step_behaves_as_on_aws() {
    let out = Command::new(BIN).arg("run").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("FAIL"))
        .collect();
    assert!(steps.len() >= 17, "{stdout}");
    assert!(steps.iter().all(|l| l.starts_with("ok ")), "{stdout}");
    for needle in [
        "AWS_ROLE_ARN=arn:aws:iam::111122223333:role/s3-reader",
        "assumed arn:aws:sts::111122223333:assumed-role/s3-reader/irsa-lab-walkthrough",
        "caller arn:aws:sts::111122223333:assumed-role/s3-reader/irsa-lab-walkthrough",
        "AWS answers InvalidIdentityToken: Incorrect token audience",
        "AWS answers ExpiredTokenException: Token expired: current date/time",
        "every step behaved as on AWS",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
}

#[test]
fn keys_replace_ssh_keygen_go_and_jq() {
    let dir = tempfile::tempdir().unwrap();
    let generated = irsa_lab(dir.path(), &["keys", "generate"]);
    let kid_line = generated.lines().find(|l| l.starts_with("kid:")).unwrap();
    let kid = kid_line.trim_start_matches("kid:").trim();
    assert_eq!(kid.len(), 43);
    let private = std::fs::read_to_string(dir.path().join("sa-signer.key")).unwrap();
    assert!(
        private.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "like ssh-keygen -m pem"
    );
    let public = std::fs::read_to_string(dir.path().join("sa-signer-pkcs8.pub")).unwrap();
    assert!(
        public.starts_with("-----BEGIN PUBLIC KEY-----"),
        "like ssh-keygen -e -m PKCS8"
    );
    assert_eq!(
        irsa_lab(dir.path(), &["keys", "kid", "sa-signer-pkcs8.pub"]).trim(),
        kid
    );
    // The private key yields the same kid.
    assert_eq!(
        irsa_lab(dir.path(), &["keys", "kid", "sa-signer.key"]).trim(),
        kid
    );

    let set: serde_json::Value = serde_json::from_str(&irsa_lab(
        dir.path(),
        &["keys", "jwks", "sa-signer-pkcs8.pub", "--with-empty-kid"],
    ))
    .unwrap();
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        (keys[0]["kid"].as_str(), keys[1]["kid"].as_str()),
        (Some(kid), Some(""))
    );
    assert_eq!(
        (
            keys[0]["use"].as_str(),
            keys[0]["alg"].as_str(),
            keys[0]["n"].clone()
        ),
        (Some("sig"), Some("RS256"), keys[1]["n"].clone())
    );

    let issuer = "https://s3.us-east-1.amazonaws.com/oidc-test";
    let doc: serde_json::Value = serde_json::from_str(&irsa_lab(
        dir.path(),
        &["keys", "discovery", "--issuer", issuer],
    ))
    .unwrap();
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["jwks_uri"], format!("{issuer}/openid/v1/jwks"));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );

    // Never overwrite keys silently; clear errors for bad input.
    let out = run(Command::new(BIN)
        .args(["keys", "generate"])
        .current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists; pass --force"));
    std::fs::write(dir.path().join("not-a-key.txt"), "hello").unwrap();
    let out = run(Command::new(BIN)
        .args(["keys", "jwks", "not-a-key.txt"])
        .current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not-a-key.txt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ec_keys_and_minted_tokens() {
    let dir = tempfile::tempdir().unwrap();
    irsa_lab(
        dir.path(),
        &["keys", "generate", "--algorithm", "ec-p256", "--name", "ec"],
    );
    let token = irsa_lab(
        dir.path(),
        &[
            "keys",
            "token",
            "--key",
            "ec.key",
            "--issuer",
            "https://x.example",
            "--service-account",
            "app",
            "--no-kid",
        ],
    );
    let header = token.split('.').next().unwrap();
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    assert_eq!(String::from_utf8(header).unwrap(), r#"{"alg":"ES256"}"#);
    let out = run(Command::new(BIN)
        .args([
            "keys",
            "token",
            "--key",
            "ec.key",
            "--issuer",
            "https://x",
            "--expiration-seconds",
            "60",
        ])
        .current_dir(dir.path()));
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap rejects lifetimes below the apiserver's 600 s minimum"
    );
}
