//! The control-plane tier: every library scenario on real etcd + kube-apiserver processes,
//! its transcript compared with the emulated snapshot in `tests/snapshots/` (the
//! comparison is `irsa_lab::runner::equality`). One named test per scenario, `#[ignore]`d:
//! they need the binaries `tools/build-kube` builds.
//!
//!   tools/build-kube && cargo test --test control_plane -- --ignored
//!
//! At the end it prints how many scenarios ran on both backends and were equal.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use irsa_lab::backend::control_plane::ControlPlaneBackend;
use irsa_lab::backend::control_plane::binaries::Binaries;
use irsa_lab::runner::equality::{Comparison, compare};
use irsa_lab::runner::{Quiet, run_scenario};
use irsa_lab::scenario::limits::BackendKind;
use irsa_lab::scenario::load;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// Per scenario: (name, comparison, seconds).
static RESULTS: Mutex<Vec<(String, Comparison, f64)>> = Mutex::new(Vec::new());

/// The YAML body of an insta snapshot file (after its `---` header).
fn snapshot(name: &str) -> Result<Value, Failed> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.snap"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (run the emulated tier first)", path.display()))?;
    let body = text
        .splitn(3, "---\n")
        .nth(2)
        .ok_or_else(|| format!("{}: not an insta snapshot", path.display()))?;
    Ok(serde_norway::from_str(body).map_err(|e| format!("{}: {e}", path.display()))?)
}

fn run_one(path: &Path) -> Result<(), Failed> {
    if let Err(missing) = Binaries::locate() {
        return Err(format!("the control-plane tier needs real binaries: {missing}").into());
    }
    let loaded = load(path).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(run_scenario::<ControlPlaneBackend>(&loaded, &mut Quiet))
        .map_err(|e| {
            format!(
                "{}: the control-plane backend could not run it: {e:#}",
                path.display()
            )
        })?;
    let mut problems = String::new();
    for step in report.steps.iter().filter(|s| !s.passed()) {
        problems.push_str(&format!(
            "step {} ({}): seen {}\n",
            step.index + 1,
            step.title,
            step.outcome
        ));
        for mismatch in &step.mismatches {
            problems.push_str(&format!("    {mismatch}\n"));
        }
    }
    let reference = snapshot(&loaded.name)?;
    // Real binaries take real time: relative times may drift by the run's duration.
    let tolerance = report.elapsed.as_secs() as i64 + 2;
    let comparison = compare(
        &reference,
        &report.transcript,
        &loaded.scenario.limits,
        BackendKind::ControlPlane,
        tolerance,
    );
    for difference in &comparison.differences {
        problems.push_str(&format!(
            "differs from the emulated snapshot: {difference}\n"
        ));
    }
    RESULTS.lock().unwrap_or_else(|e| e.into_inner()).push((
        loaded.name.clone(),
        comparison,
        report.elapsed.as_secs_f64(),
    ));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}:\n{problems}", path.display()).into())
    }
}

fn summary() {
    let results = RESULTS.lock().unwrap_or_else(|e| e.into_inner());
    if results.is_empty() {
        return;
    }
    let whole = results
        .iter()
        .filter(|(_, c, _)| c.equal() && c.stopped_at.is_none() && c.declared_different.is_empty())
        .count();
    let prefix = results
        .iter()
        .filter(|(_, c, _)| c.equal() && c.stopped_at.is_some_and(|n| n > 1))
        .count();
    let none = results
        .iter()
        .filter(|(_, c, _)| c.stopped_at == Some(1))
        .count();
    let different = results.iter().filter(|(_, c, _)| !c.equal()).count();
    let seconds: f64 = results.iter().map(|(_, _, s)| s).sum();
    println!(
        "\ncontrol-plane equality: {} scenarios; {whole} equal to their emulated snapshot end to end, {prefix} equal up to a declared step they cannot play, {none} declared not playable at all, {different} different; {seconds:.0} s of scenario time",
        results.len()
    );
}

fn main() {
    let mut args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    if !args.ignored && !args.include_ignored {
        eprintln!(
            "control-plane tier: {} scenarios ignored (they run real etcd and kube-apiserver); run them with\n  tools/build-kube && cargo test --test control_plane -- --ignored",
            files.len()
        );
    }
    // Two control planes at once fill two cores; more only queue.
    if args.test_threads.is_none() {
        args.test_threads = Some(2);
    }
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            Trial::test(name, move || run_one(&path)).with_ignored_flag(true)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    summary();
    conclusion.exit();
}
