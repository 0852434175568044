//! Runs `pod-identity-webhook mutate` as a process on every case under `tests/pods/` and
//! checks concrete fields of the printed pod; then feeds the printed pod back in and
//! requires it to come out unchanged (reinvocation adds nothing).
//!
//! One named test per case file (libtest-mimic, `harness = false`), so the first failure
//! does not hide the rest and one case runs alone:
//! `cargo test -p pod-identity-webhook --test mutate_corpus -- 01-plain-role`.
//!
//! A case file holds `args` (flags), `serviceAccount`, optional `configMap` (the
//! `data.config` entries) and `ccConfig` (container-credentials file), the `pod`, and the
//! expectations: `expect` (JSON pointer -> value), `absent` (pointers that must not exist),
//! `inRange` (pointer -> [min, max]).

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pod-identity-webhook");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    #[serde(default)]
    args: Vec<String>,
    service_account: Option<Value>,
    config_map: Option<Value>,
    cc_config: Option<Value>,
    pod: Value,
    #[serde(default)]
    expect: serde_json::Map<String, Value>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    in_range: serde_json::Map<String, Value>,
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_norway::to_string(value).unwrap()).unwrap();
    path
}

/// Runs `mutate --output pod` and returns the printed pod.
fn mutate(dir: &Path, case: &Case, pod: &Value) -> Result<Value, Failed> {
    let mut command = Command::new(BIN);
    command
        .arg("mutate")
        .arg("--pod")
        .arg(write(dir, "pod.yaml", pod))
        .args(["--output", "pod"]);
    if let Some(sa) = &case.service_account {
        command
            .arg("--service-account")
            .arg(write(dir, "sa.yaml", sa));
    }
    if let Some(config) = &case.config_map {
        let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pod-identity-webhook"}, "data": {"config": config.to_string()}});
        command.arg("--configmap").arg(write(dir, "cm.yaml", &cm));
    }
    if let Some(cc) = &case.cc_config {
        let path = dir.join("cc.json");
        std::fs::write(&path, cc.to_string())?;
        command.arg(format!(
            "--watch-container-credentials-config={}",
            path.display()
        ));
    }
    command.args(&case.args);
    let out = command.output()?;
    if !out.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&out.stdout).map_err(|e| format!("stdout is not JSON: {e}"))?)
}

/// One case file: expectations on the printed pod, then a second pass that changes nothing.
fn run_case(file: &Path) -> Result<(), Failed> {
    let case: Case = serde_norway::from_str(&std::fs::read_to_string(file)?)?;
    if case.expect.is_empty() && case.absent.is_empty() {
        return Err("a case must expect something".into());
    }
    let tmp = tempfile::tempdir()?;
    let out = mutate(tmp.path(), &case, &case.pod)?;
    let shown = || serde_json::to_string_pretty(&out).unwrap_or_default();
    for (pointer, expected) in &case.expect {
        if out.pointer(pointer) != Some(expected) {
            return Err(format!(
                "{pointer}: expected {expected}, got {:?}\n{}",
                out.pointer(pointer),
                shown()
            )
            .into());
        }
    }
    for pointer in &case.absent {
        if out.pointer(pointer).is_some() {
            return Err(format!("{pointer} should be absent\n{}", shown()).into());
        }
    }
    for (pointer, range) in &case.in_range {
        let got = out
            .pointer(pointer)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("{pointer} missing"))?;
        let (lo, hi) = (
            range[0].as_i64().unwrap_or(i64::MIN),
            range[1].as_i64().unwrap_or(i64::MAX),
        );
        if !(lo..=hi).contains(&got) {
            return Err(format!("{pointer} = {got} not in [{lo}, {hi}]").into());
        }
    }
    // Everything the input had is still there, untouched, except what was added.
    let again = mutate(tmp.path(), &case, &out)?;
    if again != out {
        return Err(format!(
            "a second pass changed the pod:\n{}",
            serde_json::to_string_pretty(&again).unwrap_or_default()
        )
        .into());
    }
    Ok(())
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn bad_input_names_the_file_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.yaml");
    let (code, err) = run(&["mutate", "--pod", missing.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nope.yaml"), "{err}");

    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n").unwrap();
    let (code, err) = run(&["mutate", "--pod", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.yaml") && err.contains("line"), "{err}");

    let wrong_kind = tmp.path().join("deploy.yaml");
    std::fs::write(
        &wrong_kind,
        "apiVersion: apps/v1\nkind: Deployment\nspec: {}\n",
    )
    .unwrap();
    let (code, err) = run(&["mutate", "--pod", wrong_kind.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("expected kind Pod, found Deployment"), "{err}");

    let pod = tmp.path().join("pod.json");
    std::fs::write(&pod, r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"serviceAccountName":"app","containers":[{"name":"c"}]}}"#).unwrap();
    let sa = tmp.path().join("sa.yaml");
    std::fs::write(
        &sa,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: other\n",
    )
    .unwrap();
    let (code, err) = run(&[
        "mutate",
        "--pod",
        pod.to_str().unwrap(),
        "--service-account",
        sa.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("sa.yaml") && err.contains("\"other\"") && err.contains("\"app\""),
        "{err}"
    );
}

fn default_output_is_the_json_patch() {
    let tmp = tempfile::tempdir().unwrap();
    let pod = tmp.path().join("pod.yaml");
    std::fs::write(&pod, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  serviceAccountName: app\n  containers: [{name: c}]\n").unwrap();
    let sa = tmp.path().join("sa.yaml");
    std::fs::write(&sa, "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n").unwrap();
    let out = Command::new(BIN)
        .args([
            "mutate",
            "--pod",
            pod.to_str().unwrap(),
            "--service-account",
            sa.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let patch: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(patch[0]["path"], "/spec/volumes");
    assert!(patch.iter().all(|op| op["op"] == "add"));
    assert!(
        patch
            .iter()
            .any(|op| op["path"] == "/spec/containers/0/env")
    );
}

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pods");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let count = files.len();
    let mut trials: Vec<Trial> = files
        .into_iter()
        .map(|file| {
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(name, move || run_case(&file))
        })
        .collect();
    trials.push(Trial::test("corpus_has_at_least_30_cases", move || {
        if count >= 30 {
            Ok(())
        } else {
            Err(format!("the corpus has {count} cases").into())
        }
    }));
    // libtest-mimic reports a panicking test as failed, with the panic message.
    trials.push(Trial::test("bad_input_names_the_file_and_exits_2", || {
        bad_input_names_the_file_and_exits_2();
        Ok(())
    }));
    trials.push(Trial::test("default_output_is_the_json_patch", || {
        default_output_is_the_json_patch();
        Ok(())
    }));
    libtest_mimic::run(&args, trials).exit();
}
