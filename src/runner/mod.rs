//! The step loop: start the backend and the fake AWS for a scenario, play each step,
//! compare with its expectation, and record the transcript. The runner is generic over
//! [`Backend`] and never asks which one runs.

pub mod actions;
pub mod equality;
pub mod expectations;
pub mod junit;
pub mod outcome;
pub mod title;
pub mod token;
pub mod transcript;

use std::sync::Arc;
use std::time::{Duration, Instant};

use irsa_emulator::clock::{Clock, ManualClock};
use serde_json::{Value, json};

use self::actions::World;
use self::outcome::{Failure, Origin, StepOutcome};
use self::transcript::{Redactor, step_entry};
use crate::aws::FakeAws;
use crate::backend::{Backend, BackendContext, ClusterState};
use crate::scenario::LoadedScenario;
use crate::scenario::limits::{self, BackendKind};

/// How one step went.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub index: usize,
    pub title: String,
    /// `ok`, or `CODE: message`.
    pub outcome: String,
    pub diagnosis: Option<String>,
    /// Empty when the step behaved as expected.
    pub mismatches: Vec<String>,
    pub elapsed: Duration,
}

impl StepReport {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// How one scenario went.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    pub name: String,
    pub file: String,
    pub steps: Vec<StepReport>,
    /// The redacted transcript (what snapshots compare).
    pub transcript: Value,
    pub elapsed: Duration,
    /// Where the run stopped before the end, as the scenario declares for this backend.
    pub stopped: Option<Stopped>,
}

/// A declared step the backend could not play: the run ended before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// 1-based.
    pub step: usize,
    pub reason: String,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.steps.iter().all(StepReport::passed)
    }
}

/// Called as the run goes (the CLI prints; tests ignore).
pub trait Progress {
    fn step(&mut self, _report: &StepReport) {}
}

/// A progress sink that shows nothing.
#[derive(Debug, Default)]
pub struct Quiet;
impl Progress for Quiet {}

/// Runs one scenario on backend `B`. Errors are environment failures (a component that
/// does not start); a step that misbehaves is a report with mismatches.
pub async fn run_scenario<B: Backend>(
    loaded: &LoadedScenario,
    progress: &mut dyn Progress,
) -> anyhow::Result<ScenarioReport> {
    let started = Instant::now();
    let scenario = &loaded.scenario;
    let start = time::OffsetDateTime::parse(
        &scenario.clock.start,
        &time::format_description::well_known::Rfc3339,
    )?;
    let clock = Arc::new(ManualClock::new(start));
    let mut cluster = ClusterState::new(&scenario.cluster);
    let declared = limits::stop_at(&scenario.limits, B::KIND);
    if let Some((1, reason)) = declared {
        return Ok(not_played(loaded, B::KIND, reason, started));
    }
    if let Some(why) = B::cannot_start(&cluster) {
        anyhow::bail!(
            "the {} backend cannot run this scenario: {why}. If that is expected, declare it in the scenario file: `limits: [{{backend: {}, notPlayableFrom: 1, reason: ...}}]`",
            B::KIND,
            B::KIND
        );
    }
    let mut backend = B::start(
        &cluster,
        BackendContext {
            clock: clock.clone(),
            webhook: scenario.webhook.clone(),
        },
    )
    .await?;
    // A backend with real binaries sets the clock to the real time: read the start after.
    let start = clock.now();
    let aws = match FakeAws::start(scenario, clock.clone(), backend.discovery_endpoint()).await {
        Ok(aws) => aws,
        Err(error) => {
            backend.stop().await;
            return Err(error);
        }
    };
    let result = play_all(
        loaded,
        &mut backend,
        &aws,
        &mut cluster,
        start.unix_timestamp(),
        progress,
    )
    .await;
    aws.stop().await;
    backend.stop().await;
    let (steps, entries, stopped) = result?;
    Ok(ScenarioReport {
        name: loaded.name.clone(),
        file: loaded.file.clone(),
        steps,
        transcript: transcript(loaded, entries),
        elapsed: started.elapsed(),
        stopped,
    })
}

/// The transcript: the steps, and the scenario's declared backend limits (so that every
/// backend's snapshot says what the heavier ones do not play).
fn transcript(loaded: &LoadedScenario, entries: Vec<Value>) -> Value {
    let mut transcript = json!({"scenario": loaded.name});
    if !loaded.scenario.limits.is_empty() {
        transcript["limits"] = json!(loaded.scenario.limits);
    }
    transcript["steps"] = json!(entries);
    transcript
}

/// The report of a scenario the backend plays nothing of, as declared.
fn not_played(
    loaded: &LoadedScenario,
    kind: BackendKind,
    reason: &str,
    started: Instant,
) -> ScenarioReport {
    let entry = json!({"name": "1. (not played)", "notPlayed": format!("on {kind}: {reason}")});
    ScenarioReport {
        name: loaded.name.clone(),
        file: loaded.file.clone(),
        steps: Vec::new(),
        transcript: transcript(loaded, vec![entry]),
        elapsed: started.elapsed(),
        stopped: Some(Stopped {
            step: 1,
            reason: reason.to_owned(),
        }),
    }
}

async fn play_all<B: Backend>(
    loaded: &LoadedScenario,
    backend: &mut B,
    aws: &FakeAws,
    cluster: &mut ClusterState,
    start: i64,
    progress: &mut dyn Progress,
) -> anyhow::Result<(Vec<StepReport>, Vec<Value>, Option<Stopped>)> {
    let scenario = &loaded.scenario;
    let mut redactor = Redactor::new(start, cluster);
    let mut reports = Vec::new();
    let mut entries = Vec::new();
    // The account as the guides create it: a failure here is the scenario's first step.
    if let Err(failure) = aws.setup(&scenario.aws).await? {
        let outcome: StepOutcome = Err((Failure::from(failure), Default::default()));
        entries.push(step_entry(0, "setup", &outcome, &redactor));
        let report = report_for(
            0,
            "setup".into(),
            &outcome,
            vec!["the AWS setup failed".into()],
            Duration::ZERO,
        );
        progress.step(&report);
        reports.push(report);
        return Ok((reports, entries, None));
    }
    let declared = limits::stop_at(&scenario.limits, B::KIND);
    let mut world = World {
        scenario,
        backend,
        aws,
        cluster,
        last_pod: None,
        read_tokens: Default::default(),
        credentials: Default::default(),
    };
    for (index, step) in scenario.steps.iter().enumerate() {
        let began = Instant::now();
        let title = title::of(step);
        if let Some((at, reason)) = declared
            && at == index + 1
        {
            entries.push(json!({
                "name": format!("{at}. {title}"),
                "notPlayed": format!("on {}: {reason}", B::KIND),
            }));
            let stopped = Stopped {
                step: at,
                reason: reason.to_owned(),
            };
            return Ok((reports, entries, Some(stopped)));
        }
        if let Some(why) = world.backend.cannot_play(step, world.cluster) {
            anyhow::bail!(
                "step {} ({title}) cannot be played on the {kind} backend: {why}. If that is expected, declare it in the scenario file: `limits: [{{backend: {kind}, notPlayableFrom: {}, reason: ...}}]`",
                index + 1,
                index + 1,
                kind = B::KIND,
            );
        }
        world.backend.step_begins().await;
        let outcome = actions::play(&mut world, step).await?;
        redactor.learn(world.cluster);
        let context = expectations::Context {
            cluster: world.cluster,
            sts_fetches: aws.emulator.jwks_cache().fetch_count(),
        };
        let mismatches = expectations::check(step.expect.as_ref(), &outcome, &context);
        entries.push(step_entry(index, &title, &outcome, &redactor));
        let report = report_for(index, title, &outcome, mismatches, began.elapsed());
        progress.step(&report);
        reports.push(report);
    }
    Ok((reports, entries, None))
}

fn report_for(
    index: usize,
    title: String,
    outcome: &StepOutcome,
    mismatches: Vec<String>,
    elapsed: Duration,
) -> StepReport {
    let (line, diagnosis) = match outcome {
        Ok(seen) => (
            seen.arn
                .clone()
                .map_or_else(|| "ok".to_owned(), |arn| format!("ok: {arn}")),
            None,
        ),
        Err((failure, _)) => {
            let who = match failure.origin {
                Origin::Aws => "AWS",
                Origin::Kubernetes => "Kubernetes",
                Origin::Sdk => "the SDK",
            };
            (
                format!("{who} answers {}: {}", failure.code, failure.message),
                failure.diagnosis.clone(),
            )
        }
    };
    StepReport {
        index,
        title,
        outcome: line,
        diagnosis,
        mismatches,
        elapsed,
    }
}
