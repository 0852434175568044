//! Every scenario file of the library is one named test (`cargo test --test scenarios --
//! rotation` runs one): it must meet every expectation on the emulated backend, and its
//! redacted transcript must equal the reviewed snapshot in `tests/snapshots/`.
//! Snapshots are written only on request (`INSTA_UPDATE=always` or `cargo insta review`);
//! CI sets `INSTA_UPDATE=no`.

use std::path::Path;

use irsa_lab::backend::emulated::EmulatedBackend;
use irsa_lab::runner::{Quiet, run_scenario};
use irsa_lab::scenario::{SCHEMA_LINE, load};
use libtest_mimic::{Arguments, Failed, Trial};

fn run_one(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    if !text.starts_with(SCHEMA_LINE) {
        return Err(format!("{}: the first line must be `{SCHEMA_LINE}`", path.display()).into());
    }
    let loaded = load(path).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(run_scenario::<EmulatedBackend>(&loaded, &mut Quiet))
        .map_err(|e| format!("{}: the backend could not run it: {e:#}", path.display()))?;
    let mut problems = String::new();
    for step in report.steps.iter().filter(|s| !s.passed()) {
        problems.push_str(&format!(
            "{}: step {} ({}):\n    seen: {}\n",
            path.display(),
            step.index + 1,
            step.title,
            step.outcome
        ));
        for mismatch in &step.mismatches {
            problems.push_str(&format!("    {mismatch}\n"));
        }
    }
    if !problems.is_empty() {
        return Err(problems.into());
    }
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario")
        .to_owned();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_sort_maps(true);
    settings.set_input_file(path);
    settings.set_description(
        loaded
            .scenario
            .description
            .lines()
            .next()
            .unwrap_or_default(),
    );
    settings.bind(|| insta::assert_yaml_snapshot!(name, report.transcript));
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            Trial::test(name, move || run_one(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
