//! The control-plane tier: every library scenario on real etcd + kube-apiserver processes,
//! its transcript compared with the emulated snapshot in `tests/snapshots/`. One named test
//! per scenario, `#[ignore]`d: they need the binaries `tools/build-kube` builds.
//!
//!   tools/build-kube && cargo test --test control_plane -- --ignored
//!
//! At the end it prints how many scenarios ran on both backends and were equal.

mod tier;

use std::path::Path;

use irsa_lab::backend::control_plane::ControlPlaneBackend;
use irsa_lab::backend::control_plane::binaries::Binaries;
use irsa_lab::runner::{Quiet, run_scenario};
use irsa_lab::scenario::limits::BackendKind;
use irsa_lab::scenario::load;
use libtest_mimic::{Arguments, Failed, Trial};

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
    tier::judge(
        &loaded,
        &report,
        &report.transcript,
        BackendKind::ControlPlane,
    )
}

fn main() {
    let mut args = Arguments::from_args();
    let files = tier::scenario_files();
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
        .map(|path| Trial::test(tier::stem(&path), move || run_one(&path)).with_ignored_flag(true))
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    tier::summary(BackendKind::ControlPlane);
    conclusion.exit();
}
