//! The reference webhook's 24 handler fixtures, restated under `tests/reference/` (see its
//! README), each run as its own named test through the real binary:
//! `pod-identity-webhook mutate --output patch`, the patch applied to the pod with the
//! `json-patch` crate (an oracle independent of our code), compared with `expectedPod`.
//! `--output pod` must print the same pod.
//!
//! Run one: `cargo test -p pod-identity-webhook --test reference_fixtures -- rawPodSkip`.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pod-identity-webhook");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    reference: String,
    #[allow(dead_code)]
    checks: String,
    #[allow(dead_code)]
    differences: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    service_account: Value,
    container_credentials: Option<Value>,
    pod: Value,
    expected_pod: Value,
}

fn write(dir: &Path, name: &str, value: &Value) -> Result<PathBuf, Failed> {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value)?)?;
    Ok(path)
}

fn mutate(fixture: &Fixture, dir: &Path, output: &str) -> Result<Vec<u8>, Failed> {
    let mut command = Command::new(BIN);
    command
        .arg("mutate")
        .arg("--pod")
        .arg(write(dir, "pod.json", &fixture.pod)?)
        .arg("--service-account")
        .arg(write(dir, "sa.json", &fixture.service_account)?)
        .args(["--output", output]);
    if let Some(cc) = &fixture.container_credentials {
        let path = write(dir, "cc.json", cc)?;
        command.arg(format!(
            "--watch-container-credentials-config={}",
            path.display()
        ));
    }
    command.args(&fixture.flags);
    let out = command.output()?;
    if !out.status.success() {
        return Err(format!(
            "mutate --output {output} exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out.stdout)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn check(file: &Path) -> Result<(), Failed> {
    let fixture: Fixture = serde_norway::from_str(&std::fs::read_to_string(file)?)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let dir = tempfile::tempdir()?;

    let patch: json_patch::Patch = serde_json::from_slice(&mutate(&fixture, dir.path(), "patch")?)
        .map_err(|e| format!("the printed patch is not an RFC 6902 patch: {e}"))?;
    let mut pod = fixture.pod.clone();
    json_patch::patch(&mut pod, &patch)
        .map_err(|e| format!("the patch does not apply to the pod: {e}\n{patch}"))?;
    if pod != fixture.expected_pod {
        return Err(format!(
            "the patched pod differs from the reference's\n--- got\n{}\n--- expected\n{}\n--- patch\n{patch}",
            pretty(&pod),
            pretty(&fixture.expected_pod)
        )
        .into());
    }

    let printed: Value = serde_json::from_slice(&mutate(&fixture, dir.path(), "pod")?)?;
    if printed != pod {
        return Err(format!(
            "--output pod differs from the patch applied by json-patch\n{}",
            pretty(&printed)
        )
        .into());
    }
    Ok(())
}

fn fixtures(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()).unwrap_or_default())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            fixtures(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let mut files = Vec::new();
    fixtures(&root, &mut files);
    let mut trials: Vec<Trial> = files
        .into_iter()
        .map(|file| {
            let name = file
                .strip_prefix(&root)
                .unwrap_or(&file)
                .with_extension("")
                .to_string_lossy()
                .replace('\\', "/");
            Trial::test(name, move || check(&file))
        })
        .collect();
    let count = trials.len();
    trials.push(Trial::test(
        "all_24_reference_fixtures_are_present",
        move || {
            if count == 24 {
                Ok(())
            } else {
                Err(format!("tests/reference holds {count} fixtures, the reference has 24").into())
            }
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}
