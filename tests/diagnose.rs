//! `irsa-lab diagnose` and `irsa-lab scenario from-bundle` against the support-bundle
//! corpus `tests/bundles/<failure-class>/` (made by `tests/bundles/generate.py`), one named
//! test per bundle and purpose:
//! - `diagnose::<bundle>`: the CLI's `--json` report picks the bundle's `expected-cause`,
//!   confirmed by the inputs, in the documented JSON shape;
//! - `from-bundle::<bundle>`: the generated scenario keeps the customer's identifiers,
//!   loads, and run on the emulated backend ends with the error the customer reported;
//! - `cli::*`: bad input exits 2 with a message naming the file and the problem.
//!
//! `cargo test --test diagnose -- from-bundle::cdn-stale-jwks` runs one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use irsa_lab::backend::emulated::EmulatedBackend;
use irsa_lab::runner::{Quiet, run_scenario};
use irsa_lab::scenario::expect::glob_matches;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_irsa-lab");

fn bundles_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bundles")
}

fn irsa_lab(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("irsa-lab runs")
}

fn text(path: &Path) -> Result<String, Failed> {
    Ok(std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .trim()
        .to_owned())
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

/// The report's documented shape: every key a tool may read, with its JSON type.
fn check_shape(report: &Value) -> Result<(), Failed> {
    let object = |v: &Value, what: &str| -> Result<(), Failed> {
        ensure(v.is_object(), || format!("{what} is not an object: {v}"))
    };
    object(report, "the report")?;
    ensure(report["at"].is_i64(), || "at is not an integer".into())?;
    ensure(report["atSource"].is_string(), || "atSource".into())?;
    ensure(report["failed"].is_boolean(), || "failed".into())?;
    ensure(
        report["inputs"]
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        || "inputs".into(),
    )?;
    let checks = report["checks"]
        .as_array()
        .ok_or("checks is not an array")?;
    ensure(checks.len() >= 20, || {
        format!("only {} checks", checks.len())
    })?;
    for check in checks {
        for key in ["id", "group", "title", "status", "reason"] {
            ensure(check[key].is_string(), || {
                format!("check without string {key}: {check}")
            })?;
        }
        let status = check["status"].as_str().unwrap_or_default();
        ensure(
            ["pass", "fail", "warn", "unknown"].contains(&status),
            || format!("status {status}"),
        )?;
        ensure(
            ["sts", "webhook"].contains(&check["group"].as_str().unwrap_or_default()),
            || format!("group of {check}"),
        )?;
    }
    // STS's checks come first, in AWS's order: the token before the provider before the keys.
    let ids: Vec<&str> = checks.iter().filter_map(|c| c["id"].as_str()).collect();
    let position = |id: &str| ids.iter().position(|i| *i == id).unwrap_or(usize::MAX);
    ensure(
        position("sts.jwt") < position("sts.provider")
            && position("sts.provider") < position("sts.audience")
            && position("sts.audience") < position("sts.kid")
            && position("sts.kid") < position("sts.signature")
            && position("sts.signature") < position("sts.exp")
            && position("sts.exp") < position("sts.trust-conditions")
            && position("sts.trust-conditions") < position("webhook.flags"),
        || format!("checks out of AWS's order: {ids:?}"),
    )?;
    let errors = report["errors"]
        .as_array()
        .ok_or("errors is not an array")?;
    ensure(!errors.is_empty(), || "no error found in error.txt".into())?;
    for error in errors {
        ensure(
            error["id"].is_string() && error["code"].is_string() && error["predicted"] == false,
            || format!("error {error}"),
        )?;
        for cause in error["causes"].as_array().ok_or("causes is not an array")? {
            for key in ["id", "title", "because", "fix"] {
                ensure(cause[key].is_string(), || {
                    format!("cause without {key}: {cause}")
                })?;
            }
            let verdict = cause["verdict"].as_str().unwrap_or_default();
            ensure(
                ["confirmed", "possible", "ruledOut"].contains(&verdict),
                || format!("verdict {verdict}"),
            )?;
        }
    }
    object(&report["mostLikelyCause"], "mostLikelyCause")
}

fn diagnose_bundle(dir: &Path) -> Result<(), Failed> {
    let expected = text(&dir.join("expected-cause"))?;
    let out = irsa_lab(&["diagnose", "--json", "--bundle", &dir.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure(matches!(out.status.code(), Some(0 | 1)), || {
        format!("exit {:?}: {stderr}", out.status.code())
    })?;
    let report: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("not JSON: {e}; stderr: {stderr}"))?;
    check_shape(&report)?;
    let cause = &report["mostLikelyCause"];
    ensure(cause["id"] == expected.as_str(), || {
        format!(
            "picked {} ({}), expected {expected}; causes: {}",
            cause["id"], cause["because"], report["errors"]
        )
    })?;
    // Everything checkable offline confirms the cause; only what needs the network is "possible".
    let verdict = if expected == "documents-not-public" {
        "possible"
    } else {
        "confirmed"
    };
    ensure(cause["verdict"] == verdict, || {
        format!(
            "verdict {} (expected {verdict}): {}",
            cause["verdict"], cause["because"]
        )
    })?;
    // The exit status says whether a check failed.
    let failed = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["status"] == "fail");
    ensure(
        report["failed"] == failed && out.status.code() == Some(i32::from(failed)),
        || {
            format!(
                "exit {:?} but failed = {}",
                out.status.code(),
                report["failed"]
            )
        },
    )
}

fn reproduce_bundle(dir: &Path) -> Result<(), Failed> {
    let out = irsa_lab(&["scenario", "from-bundle", &dir.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure(out.status.success(), || {
        format!("from-bundle exit {:?}: {stderr}", out.status.code())
    })?;
    let yaml = String::from_utf8(out.stdout)?;
    ensure(yaml.starts_with(irsa_lab::scenario::SCHEMA_LINE), || {
        "no schema line".into()
    })?;
    let loaded = irsa_lab::scenario::parse("replay.yaml", &yaml)
        .map_err(|e| format!("does not load: {e}\n{yaml}"))?;
    // The customer's identifiers are kept.
    let token = text(&dir.join("token"))?;
    let (header, claims) =
        irsa_lab::runner::token::decode(&token).ok_or("the bundle's token does not decode")?;
    let scenario = &loaded.scenario;
    ensure(
        scenario.cluster.issuers.first().map(String::as_str) == claims["iss"].as_str(),
        || {
            format!(
                "issuer {:?} not the token's {}",
                scenario.cluster.issuers, claims["iss"]
            )
        },
    )?;
    let signer = scenario
        .cluster
        .keys
        .iter()
        .find(|k| Some(&k.name) == scenario.cluster.signing_key.as_ref())
        .ok_or("no signing key")?;
    ensure(signer.kid.as_deref() == header["kid"].as_str(), || {
        format!("kid {:?} not the token's {}", signer.kid, header["kid"])
    })?;
    if let Ok(arn) = text(&dir.join("role.json"))
        .map(|r| serde_json::from_str::<Value>(&r).unwrap_or_default()["Role"]["Arn"].clone())
    {
        let account = arn
            .as_str()
            .and_then(|a| a.split(':').nth(4))
            .unwrap_or_default();
        ensure(scenario.aws.account_id == account, || {
            format!("account {} not {account}", scenario.aws.account_id)
        })?;
    }
    ensure(
        yaml.contains("generated here and signs under the customer's"),
        || "the comment on the new key is missing".into(),
    )?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(run_scenario::<EmulatedBackend>(&loaded, &mut Quiet))
        .map_err(|e| format!("the backend could not run it: {e:#}"))?;
    let mut problems = String::new();
    for step in report.steps.iter().filter(|s| !s.passed()) {
        problems.push_str(&format!(
            "step {} ({}): seen {}; {}\n",
            step.index + 1,
            step.title,
            step.outcome,
            step.mismatches.join("; ")
        ));
    }
    ensure(problems.is_empty(), || format!("{problems}\n{yaml}"))?;
    // It ends with the reported error: the last step expects it, and AWS (or the SDK, or
    // the apiserver) answered it.
    let last_step = scenario.steps.last().ok_or("no steps")?;
    let expected = last_step
        .expect
        .as_ref()
        .and_then(|e| e.error.as_ref())
        .ok_or("the last step expects no error")?;
    let seen = &report.steps.last().ok_or("no step ran")?.outcome;
    ensure(seen.contains(&expected.code), || {
        format!("the last step answered {seen}, not {}", expected.code)
    })?;
    let reported = text(&dir.join("error.txt"))?;
    let message = expected.message.as_deref().unwrap_or("*");
    ensure(
        reported
            .lines()
            .any(|line| glob_matches(&format!("*{message}*"), line)),
        || {
            format!(
                "the expected message {message:?} is not what the customer reported:\n{reported}"
            )
        },
    )
}

/// `args` is bad input: exit status 2, and stderr says `needle` (the file and the problem).
fn bad_input(args: &[&str], needle: &str) -> Result<(), Failed> {
    let out = irsa_lab(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure(out.status.code() == Some(2), || {
        format!("exit {:?}: {stderr}", out.status.code())
    })?;
    ensure(stderr.contains(needle), || {
        format!("stderr lacks {needle:?}: {stderr}")
    })
}

/// The check `id` of a JSON report (`null` when absent).
fn check_of(report: &Value, id: &str) -> Value {
    report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_default()
}

/// One CLI case: its test name and body.
type CliCase = (&'static str, fn() -> Result<(), Failed>);

fn cli_trials() -> Vec<Trial> {
    let cases: Vec<CliCase> = vec![
        ("cli::missing-token-file", || {
            bad_input(
                &["diagnose", "--token", "/nonexistent/token"],
                "/nonexistent/token: cannot read it",
            )
        }),
        ("cli::malformed-jwt", || {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("token");
            std::fs::write(&path, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0")?;
            bad_input(
                &["diagnose", "--token", &path.display().to_string()],
                &format!(
                    "{}: not a JWT: a JWT is three base64url parts separated by dots, this has 2 part(s)",
                    path.display()
                ),
            )
        }),
        ("cli::bundle-without-token", || {
            let dir = tempfile::tempdir()?;
            std::fs::write(dir.path().join("error.txt"), "Incorrect token audience")?;
            bad_input(
                &["diagnose", "--bundle", &dir.path().display().to_string()],
                "no token in the bundle",
            )
        }),
        ("cli::role-json-without-arn", || {
            let dir = tempfile::tempdir()?;
            let bundle = bundles_dir().join("trust-policy-wrong-namespace");
            let role = dir.path().join("role.json");
            std::fs::write(&role, r#"{"Role": {"RoleName": "x"}}"#)?;
            let (bundle, role_arg) = (bundle.display().to_string(), role.display().to_string());
            bad_input(
                &["diagnose", "--bundle", &bundle, "--role", &role_arg],
                &format!("{role_arg}: no `Role.Arn`"),
            )
        }),
        ("cli::unknown-webhook-flag", || {
            let bundle = bundles_dir()
                .join("documents-not-public")
                .display()
                .to_string();
            bad_input(
                &[
                    "diagnose",
                    "--bundle",
                    &bundle,
                    "--webhook-flags",
                    "--no-such-flag",
                ],
                "webhook flags: the webhook would refuse them: error: unexpected argument '--no-such-flag'",
            )
        }),
        ("cli::from-bundle-missing-directory", || {
            bad_input(
                &["scenario", "from-bundle", "/nonexistent/bundle"],
                "/nonexistent/bundle: not a directory",
            )
        }),
        ("cli::from-bundle-with-nothing-to-reproduce", || {
            // No error text and every check passes: there is no failure to replay.
            let dir = tempfile::tempdir()?;
            let source = bundles_dir().join("documents-not-public");
            for entry in std::fs::read_dir(&source)? {
                let path = entry?.path();
                let name = path.file_name().unwrap_or_default();
                if name != "error.txt" {
                    std::fs::copy(&path, dir.path().join(name))?;
                }
            }
            let out = irsa_lab(&["scenario", "from-bundle", &dir.path().display().to_string()]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            ensure(out.status.code() == Some(1), || {
                format!("exit {:?}: {stderr}", out.status.code())
            })?;
            ensure(
                stderr.contains(
                    "nothing to reproduce: no error text was given (error.txt) and no check fails",
                ),
                || stderr.to_string(),
            )
        }),
        ("cli::decoded-claims-only", || {
            // Only the decoded header and claims: every check but the signature still runs.
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("token.json");
            std::fs::write(
                &path,
                r#"{"header": {"alg": "RS256", "kid": "k1"}, "claims": {"iss": "https://oidc.example.com", "aud": ["sts.amazon.com"], "sub": "system:serviceaccount:a:b", "exp": 2000000000, "iat": 1999990000}}"#,
            )?;
            let out = irsa_lab(&[
                "diagnose",
                "--json",
                "--token",
                &path.display().to_string(),
                "--at",
                "1999990060",
            ]);
            let report: Value = serde_json::from_slice(&out.stdout)?;
            ensure(
                check_of(&report, "sts.jwt")["status"] == "pass"
                    && check_of(&report, "sts.signature")["status"] == "unknown",
                || report.to_string(),
            )?;
            ensure(out.status.code() == Some(0), || {
                format!("exit {:?}", out.status.code())
            })
        }),
        (
            "cli::expired-by-now-without-a-time-is-only-a-warning",
            || {
                // A token pasted days later has expired since: without --at that proves nothing.
                let dir = tempfile::tempdir()?;
                let path = dir.path().join("token.json");
                std::fs::write(
                    &path,
                    r#"{"header": {"alg": "RS256", "kid": "k1"}, "claims": {"iss": "https://oidc.example.com", "aud": "sts.amazonaws.com", "sub": "system:serviceaccount:a:b", "exp": 1700000000, "iat": 1699996400}}"#,
                )?;
                let out = irsa_lab(&["diagnose", "--json", "--token", &path.display().to_string()]);
                let report: Value = serde_json::from_slice(&out.stdout)?;
                let exp = check_of(&report, "sts.exp");
                ensure(
                    exp["status"] == "warn"
                        && exp["reason"]
                            .as_str()
                            .unwrap_or_default()
                            .contains("expired by now"),
                    || exp.to_string(),
                )?;
                let out = irsa_lab(&[
                    "diagnose",
                    "--json",
                    "--token",
                    &path.display().to_string(),
                    "--at",
                    "1700000400",
                ]);
                let report: Value = serde_json::from_slice(&out.stdout)?;
                let exp = check_of(&report, "sts.exp");
                ensure(exp["status"] == "fail", || exp.to_string())
            },
        ),
        (
            "cli::without-error-text-the-first-failure-predicts-the-error",
            || {
                let bundle = bundles_dir().join("trust-policy-wrong-namespace");
                let out = irsa_lab(&[
                    "diagnose",
                    "--json",
                    "--bundle",
                    &bundle.display().to_string(),
                    "--error",
                    "",
                ]);
                let report: Value = serde_json::from_slice(&out.stdout)?;
                let error = &report["errors"][0];
                ensure(
                    error["id"] == "access-denied" && error["predicted"] == true,
                    || report["errors"].to_string(),
                )?;
                ensure(
                    report["mostLikelyCause"]["id"] == "trust-condition-mismatch",
                    || report["mostLikelyCause"].to_string(),
                )?;
                ensure(out.status.code() == Some(1), || {
                    format!("exit {:?}", out.status.code())
                })
            },
        ),
        ("cli::help-lists-the-bundle-files", || {
            let out = irsa_lab(&["diagnose", "--help"]);
            let help = String::from_utf8_lossy(&out.stdout);
            for (name, _) in irsa_lab::diagnose::bundle_files::ALL
                .iter()
                .filter(|(n, _)| *n != "expected-cause" && !n.starts_with("token."))
            {
                ensure(help.contains(name), || {
                    format!("--help does not list {name}:\n{help}")
                })?;
            }
            Ok(())
        }),
    ];
    cases
        .into_iter()
        .map(|(name, f)| Trial::test(name, f))
        .collect()
}

fn main() {
    let args = Arguments::from_args();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(bundles_dir())
        .expect("tests/bundles exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut trials = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let (a, b) = (dir.clone(), dir);
        trials.push(Trial::test(format!("diagnose::{name}"), move || {
            diagnose_bundle(&a)
        }));
        trials.push(Trial::test(format!("from-bundle::{name}"), move || {
            reproduce_bundle(&b)
        }));
    }
    trials.extend(cli_trials());
    trials.push(Trial::test("readme::example-is-the-corpus-bundle", || {
        // The README walks this bundle with its real output: its kids must be this token's.
        let readme = text(&Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))?;
        let token = text(&bundles_dir().join("rotation-signer-before-republish/token"))?;
        let (header, _) = irsa_lab::runner::token::decode(&token).ok_or("the token does not decode")?;
        let kid = header["kid"].as_str().ok_or("no kid")?;
        ensure(readme.contains(&format!("kid \"{kid}\"")), || {
            format!("README.md's example shows other kids than tests/bundles/rotation-signer-before-republish/token ({kid}): refresh it")
        })
    }));
    libtest_mimic::run(&args, trials).exit();
}
