//! `irsa-lab run`: scenario files on a backend, with progress, diffs and JUnit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::backend::control_plane::ControlPlaneBackend;
use crate::backend::emulated::EmulatedBackend;
use crate::backend::kind::KindBackend;
use crate::backend::kind::cluster as kind_cluster;
use crate::runner::{Progress, ScenarioReport, StepReport, junit, run_scenario};
use crate::scenario::{LoadedScenario, ScenarioErrors, library, load};

/// Run scenario files: the built-in library by default, or the files and directories given.
///
/// Each scenario sets up a cluster, an AWS account and the webhook, then plays its steps
/// and checks each step's `expect`. Exit status: 0 every expectation held, 1 one did not,
/// 2 a scenario file is invalid or the environment cannot run it.
///
/// Examples:
///   irsa-lab run                               # the built-in library (irsa-lab scenario list)
///   irsa-lab run scenarios/rotation.yaml       # one file
///   irsa-lab run my-scenarios/ --junit out.xml # a directory, with a JUnit report
///   irsa-lab run --backend control-plane       # real etcd + kube-apiserver (tools/build-kube)
///   irsa-lab run --backend kind                # a real kind cluster, created and deleted
///   irsa-lab run --backend kind --keep         # ... left up for the next run (kind down)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RunArgs {
    /// Scenario files, or directories of `*.yaml` files. None: the built-in library.
    pub paths: Vec<PathBuf>,
    /// Which cluster plays the Kubernetes side.
    #[arg(long, value_enum, default_value_t = BackendChoice::Emulated)]
    pub backend: BackendChoice,
    /// Write a JUnit XML report here (one test case per scenario).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write each scenario's redacted transcript (what snapshots hold) to DIR/NAME.yaml, to
    /// compare backends or attach to a bug report.
    #[arg(long, value_name = "DIR")]
    pub transcripts: Option<PathBuf>,
    /// Only scenarios whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Print every step, not only failures and refusals.
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub kind: KindArgs,
}

/// How `--backend kind` gets its cluster.
#[derive(Debug, Clone, Args)]
pub struct KindArgs {
    /// The kind cluster to run on: used when it exists (`irsa-lab kind up`), else created
    /// for this run and deleted after it.
    #[arg(long = "cluster", value_name = "NAME", default_value = crate::backend::kind::cluster::DEFAULT_NAME)]
    pub cluster: String,
    /// Leave a cluster this run created up afterwards (`irsa-lab kind down` removes it).
    #[arg(long)]
    pub keep: bool,
    /// The kind node image for a new cluster. Default: $IRSA_LAB_KIND_NODE_IMAGE, else
    /// irsa-lab's offline image when `tools/build-node-image` made it, else kind's own.
    #[arg(long, value_name = "IMAGE")]
    pub node_image: Option<String>,
}

/// The backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// Everything in this process: apiserver and kubelet models, the real webhook over HTTPS.
    Emulated,
    /// Real etcd and kube-apiserver processes (build them with `tools/build-kube`), our
    /// webhook binary registered by a MutatingWebhookConfiguration, the harness as kubelet.
    ControlPlane,
    /// A real kind cluster (Docker, and kind + kubectl from `tools/build-kube kind
    /// kubectl`): kubeadm's apiserver with the scenario's flags, our webhook deployed in it
    /// (`tools/build-images`), the real kubelet's tokens read from inside the pods.
    Kind,
}

impl BackendChoice {
    fn name(self) -> &'static str {
        match self {
            Self::Emulated => "emulated",
            Self::ControlPlane => "control-plane",
            Self::Kind => "kind",
        }
    }
}

/// The scenarios named by `paths` (files, or directories of `*.yaml`), sorted.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<LoadedScenario>, ScenarioErrors> {
    if paths.is_empty() {
        return library::load_all();
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            found.retain(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"));
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match load(Path::new(&file)) {
            Ok(scenario) => loaded.push(scenario),
            Err(ScenarioErrors(mut found)) => errors.append(&mut found),
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(ScenarioErrors(errors))
    }
}

struct Printer<'a> {
    out: &'a mut dyn Write,
    verbose: bool,
}

impl Progress for Printer<'_> {
    fn step(&mut self, step: &StepReport) {
        let shown = self.verbose
            || !step.passed()
            || step.outcome != "ok" && !step.outcome.starts_with("ok:");
        let mark = if step.passed() { "ok  " } else { "FAIL" };
        let _ = writeln!(
            self.out,
            "  {mark} {:>2}. {:<58} {:>6.1} ms",
            step.index + 1,
            step.title,
            step.elapsed.as_secs_f64() * 1e3
        );
        if shown {
            let _ = writeln!(self.out, "            {}", step.outcome);
            if let Some(why) = &step.diagnosis {
                let _ = writeln!(self.out, "            why: {why}");
            }
        }
        for mismatch in &step.mismatches {
            let _ = writeln!(self.out, "            {mismatch}");
        }
    }
}

/// Runs `run` unless Ctrl-C (SIGINT) comes first. Then the run is dropped, which kills
/// every process the backend started (their handles kill on drop) and removes its files.
fn interruptible<T>(
    runtime: &tokio::runtime::Runtime,
    run: impl std::future::Future<Output = T>,
) -> Option<T> {
    runtime.block_on(async {
        tokio::select! {
            done = run => Some(done),
            _ = tokio::signal::ctrl_c() => None,
        }
    })
}

fn write_transcript(dir: &Path, report: &ScenarioReport) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "failed to create the transcripts directory {}",
            dir.display()
        )
    })?;
    let path = dir.join(format!("{}.yaml", report.name));
    let text = serde_norway::to_string(&report.transcript)?;
    std::fs::write(&path, text)
        .with_context(|| format!("failed to write the transcript {}", path.display()))
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut scenarios = match collect(&args.paths) {
        Ok(found) => found,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "error: {} problem(s) in scenario files; nothing was run",
                errors.0.len()
            );
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(filter) = &args.filter {
        scenarios.retain(|s| s.name.contains(filter.as_str()));
    }
    if scenarios.is_empty() {
        eprintln!("error: no scenario to run (check the paths and --filter)");
        return Ok(ExitCode::from(2));
    }
    let runtime = tokio::runtime::Runtime::new()?;
    if args.backend != BackendChoice::Kind {
        return run_all(&args, &scenarios, &runtime);
    }
    // Same flags together: one apiserver restart and one webhook rollout for all of them.
    scenarios.sort_by_cached_key(|s| (crate::backend::kind::setup_key(s), s.name.clone()));
    // One cluster for the whole run, opened before any scenario holds a key.
    let say = |line: &str| eprintln!("[kind] {line}");
    let options = kind_cluster::Options {
        node_image: args.kind.node_image.clone(),
        config: None,
    };
    let existed = runtime
        .block_on(kind_cluster::exists(&args.kind.cluster))
        .unwrap_or(true);
    match interruptible(
        &runtime,
        kind_cluster::open(&args.kind.cluster, &options, args.kind.keep, &say),
    ) {
        // Ctrl-C while the cluster was being made: what this run made goes (during `kind
        // create` itself the creation's guard has done it already).
        None => {
            if !existed {
                say(&format!(
                    "interrupted: deleting kind cluster {}",
                    args.kind.cluster
                ));
                let _ = runtime.block_on(kind_cluster::delete_by_name(&args.kind.cluster));
            }
            return Ok(ExitCode::from(130));
        }
        Some(Err(error)) => {
            eprintln!("error: the kind backend cannot start: {error:#}");
            return Ok(ExitCode::from(2));
        }
        Some(Ok(_)) => {}
    }
    let code = run_all(&args, &scenarios, &runtime);
    runtime.block_on(kind_cluster::close(&say));
    code
}

/// Every scenario on the chosen backend, then the summary.
fn run_all(
    args: &RunArgs,
    scenarios: &[LoadedScenario],
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<ExitCode> {
    let stdout = &mut std::io::stdout().lock();
    let began = Instant::now();
    let backend = args.backend.name();
    writeln!(
        stdout,
        "irsa-lab run: {} scenario(s) on the {backend} backend",
        scenarios.len()
    )?;
    let mut reports: Vec<ScenarioReport> = Vec::new();
    let mut unrunnable: Vec<String> = Vec::new();
    for (i, scenario) in scenarios.iter().enumerate() {
        let summary = scenario
            .scenario
            .description
            .lines()
            .next()
            .unwrap_or_default();
        writeln!(
            stdout,
            "\n[{:>2}/{}] {} ({})\n        {summary}",
            i + 1,
            scenarios.len(),
            scenario.name,
            scenario.file
        )?;
        let mut printer = Printer {
            out: stdout,
            verbose: args.verbose,
        };
        let played = match args.backend {
            BackendChoice::Emulated => interruptible(
                runtime,
                run_scenario::<EmulatedBackend>(scenario, &mut printer),
            ),
            BackendChoice::ControlPlane => interruptible(
                runtime,
                run_scenario::<ControlPlaneBackend>(scenario, &mut printer),
            ),
            BackendChoice::Kind => {
                interruptible(runtime, run_scenario::<KindBackend>(scenario, &mut printer))
            }
        };
        let Some(report) = played else {
            writeln!(
                stdout,
                "\ninterrupted: {} stopped, every process it started is gone",
                scenario.name
            )?;
            return Ok(ExitCode::from(130));
        };
        match report {
            Ok(report) => {
                if let Some(dir) = &args.transcripts {
                    write_transcript(dir, &report)?;
                }
                if let Some(stopped) = &report.stopped {
                    writeln!(
                        stdout,
                        "  --   {:>2}. not played on {backend}: {}",
                        stopped.step, stopped.reason
                    )?;
                }
                reports.push(report);
            }
            // The others still run: one scenario the backend cannot play says nothing
            // about the rest.
            Err(error) => {
                eprintln!(
                    "error: {}: the backend could not run it: {error:#}",
                    scenario.file
                );
                unrunnable.push(scenario.file.clone());
            }
        }
    }
    let failed: Vec<&ScenarioReport> = reports.iter().filter(|r| !r.passed()).collect();
    writeln!(
        stdout,
        "\n{} scenario(s): {} passed, {} failed ({:.1} s)",
        reports.len(),
        reports.len() - failed.len(),
        failed.len(),
        began.elapsed().as_secs_f64()
    )?;
    for report in &failed {
        writeln!(stdout, "  failed: {} ({})", report.name, report.file)?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::render(&reports, backend))
            .with_context(|| format!("failed to write the JUnit report {}", path.display()))?;
    }
    for file in &unrunnable {
        writeln!(stdout, "  could not run: {file}")?;
    }
    let stopped = reports.iter().filter(|r| r.stopped.is_some()).count();
    if stopped > 0 {
        writeln!(
            stdout,
            "  {stopped} scenario(s) stopped early where they declare {backend} cannot play a step"
        )?;
    }
    Ok(if !unrunnable.is_empty() {
        ExitCode::from(2)
    } else if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
