//! What the real-cluster tiers (control-plane, kind) share: every library scenario run on
//! the backend, its transcript compared with the emulated snapshot in `tests/snapshots/`
//! (the comparison is `irsa_lab::runner::equality`), and a summary of how many were equal.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use irsa_lab::runner::ScenarioReport;
use irsa_lab::runner::equality::{Comparison, compare};
use irsa_lab::scenario::LoadedScenario;
use irsa_lab::scenario::limits::BackendKind;
use libtest_mimic::Failed;
use serde_json::Value;

/// Per scenario: (name, comparison, seconds).
static RESULTS: Mutex<Vec<(String, Comparison, f64)>> = Mutex::new(Vec::new());

/// The library's scenario files, sorted.
pub fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// A scenario file's name without `.yaml`.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned()
}

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

/// Fails on every unmet expectation of the run and every difference from the emulated
/// snapshot; records the comparison for [`summary`]. `transcript` is the report's,
/// after whatever the tier declares as an expected difference.
pub fn judge(
    loaded: &LoadedScenario,
    report: &ScenarioReport,
    transcript: &Value,
    backend: BackendKind,
) -> Result<(), Failed> {
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
        transcript,
        &loaded.scenario.limits,
        backend,
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
        Err(format!("{}:\n{problems}", loaded.file).into())
    }
}

/// One line: how many scenarios ran and how they compared.
pub fn summary(backend: BackendKind) {
    let results = RESULTS.lock().unwrap_or_else(|e| e.into_inner());
    if results.is_empty() {
        return;
    }
    let whole = results
        .iter()
        .filter(|(_, c, _)| c.equal() && c.stopped_at.is_none() && c.declared_different.is_empty())
        .count();
    let declared = results
        .iter()
        .filter(|(_, c, _)| c.equal() && c.stopped_at.is_none() && !c.declared_different.is_empty())
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
        "\n{backend} equality: {} scenarios; {whole} equal to their emulated snapshot end to end, {declared} equal but for a declared difference, {prefix} equal up to a declared step they cannot play, {none} declared not playable at all, {different} different; {seconds:.0} s of scenario time",
        results.len()
    );
}
