//! The `irsa-lab` command line as a user runs it.

mod support;

use std::process::Command;

use support::*;

const PASSING: &str = "# yaml-language-server: $schema=schema.json
description: A passing scenario.
steps:
  - tokenRequest: {serviceAccount: default, expiration: 10m}
    expect: {tokenLifetime: 10m}
";

const FAILING: &str = "# yaml-language-server: $schema=schema.json
description: An expectation that does not hold.
steps:
  - tokenRequest: {serviceAccount: default, expiration: 5m}
";

fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn run_with_no_argument_runs_the_builtin_library() {
    let out = Command::new(BIN).arg("run").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = irsa_lab::scenario::library::files().len();
    assert!(
        stdout.contains(&format!("{count} scenario(s): {count} passed, 0 failed")),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn run_exits_1_and_shows_the_diff_when_an_expectation_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("failing.yaml"), FAILING).unwrap();
    let out = run_in(dir.path(), &["run", "failing.yaml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  1. tokenRequest for default"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expected success, seen Invalid: TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes"),
        "{stdout}"
    );
    assert!(
        stdout.contains("failed: failing (failing.yaml)"),
        "{stdout}"
    );
}

#[test]
fn run_exits_2_with_file_line_and_column_for_an_invalid_scenario() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "description: x\nsteps:\n  - advanceClok: 1h\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["run", "broken.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("broken.yaml:3:5: steps[0].advanceClok: unknown field `advanceClok`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was run"), "{stderr}");
}

#[test]
fn run_junit_report_is_junit_xml_with_one_case_per_scenario() {
    use quick_xml::events::Event;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-passing.yaml"), PASSING).unwrap();
    std::fs::write(dir.path().join("b-failing.yaml"), FAILING).unwrap();
    let out = run_in(dir.path(), &["run", ".", "--junit", "report.xml"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut stack, mut cases, mut failures) = (Vec::<String>::new(), Vec::new(), Vec::new());
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let attr = |key: &str| {
                    e.try_get_attribute(key)
                        .ok()
                        .flatten()
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                };
                match name.as_str() {
                    "testsuites" => assert!(stack.is_empty(), "testsuites is the root"),
                    "testsuite" => {
                        assert_eq!(stack, ["testsuites"]);
                        assert_eq!(attr("tests").as_deref(), Some("2"));
                        assert_eq!(attr("failures").as_deref(), Some("1"));
                    }
                    "testcase" => {
                        assert_eq!(stack, ["testsuites", "testsuite"]);
                        assert!(attr("time").is_some_and(|t| t.parse::<f64>().is_ok()));
                        cases.push(attr("name").unwrap());
                    }
                    "failure" => {
                        assert_eq!(stack.last().map(String::as_str), Some("testcase"));
                        failures.push(cases.last().cloned().unwrap());
                        assert!(
                            attr("message")
                                .unwrap()
                                .contains("step 1 (tokenRequest for default)")
                        );
                    }
                    _ => {}
                }
                stack.push(name);
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "every element is closed");
    assert_eq!(cases, ["a-passing", "b-failing"]);
    assert_eq!(failures, ["b-failing"]);
}

#[test]
fn scenario_new_writes_a_scaffold_that_runs_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["scenario", "new", "my-setup"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("my-setup.yaml")).unwrap();
    assert!(text.starts_with(irsa_lab::scenario::SCHEMA_LINE));
    let ran = run_in(dir.path(), &["run", "my-setup.yaml"]);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stdout)
    );
    let again = run_in(dir.path(), &["scenario", "new", "my-setup"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

#[test]
fn scenario_list_names_every_builtin_scenario() {
    let out = Command::new(BIN)
        .args(["scenario", "list"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (file, _) in irsa_lab::scenario::library::files() {
        let name = file.trim_end_matches(".yaml");
        assert!(
            stdout.lines().any(|l| l.starts_with(name)),
            "{name} missing from\n{stdout}"
        );
    }
}

#[test]
fn scenario_schema_prints_the_committed_schema() {
    let out = Command::new(BIN)
        .args(["scenario", "schema"])
        .output()
        .unwrap();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/schema.json"
    ))
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), committed);
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
