//! `irsa-lab scenario`: start a new scenario file, list the built-in library, print the
//! schema, turn a support bundle into a scenario (`from-bundle`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::scenario::{library, schema};

/// Work with scenario files.
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Write a commented scaffold to NAME.yaml (in --dir), ready to edit and run.
    New {
        /// File name without `.yaml`; also the scenario's name.
        name: String,
        /// Where to write it.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// List the built-in scenarios with their one-line story.
    List,
    /// Print the JSON Schema of scenario files (what `schema.json` holds).
    Schema,
    /// Turn a support bundle (the files `irsa-lab diagnose --bundle` reads) into a scenario
    /// that replays the customer's setup and ends with the error they reported.
    ///
    /// The customer's identifiers are kept (issuer, account, role, namespace and
    /// ServiceAccount, kid, audiences, client ids, thumbprints); no secret is needed: a new
    /// key is generated under the customer's kid. Run it with `irsa-lab run FILE`.
    FromBundle {
        /// The bundle directory (see `irsa-lab diagnose --help` for its file names).
        dir: PathBuf,
        /// Write the scenario here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

const SCAFFOLD: &str = include_str!("scaffold.yaml");

pub fn run(command: ScenarioCommand) -> anyhow::Result<ExitCode> {
    match command {
        ScenarioCommand::New { name, dir } => {
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                anyhow::bail!("invalid scenario name {name:?}: use letters, digits, - and _");
            }
            let path = dir.join(format!("{name}.yaml"));
            if path.exists() {
                anyhow::bail!(
                    "{} exists already: pick another name or remove it",
                    path.display()
                );
            }
            std::fs::write(&path, SCAFFOLD.replace("NAME", &name))
                .with_context(|| format!("failed to write {}", path.display()))?;
            println!(
                "wrote {}: edit it, then run `irsa-lab run {}`",
                path.display(),
                path.display()
            );
            println!(
                "(editors complete and check it with schema.json: `irsa-lab scenario schema > {}`)",
                dir.join("schema.json").display()
            );
        }
        ScenarioCommand::List => {
            let scenarios = library::load_all().map_err(|e| anyhow::anyhow!("{e}"))?;
            let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for scenario in scenarios {
                let story = scenario
                    .scenario
                    .description
                    .lines()
                    .next()
                    .unwrap_or_default();
                println!("{:<width$}  {story}", scenario.name);
            }
        }
        ScenarioCommand::Schema => print!("{}", schema::json()),
        ScenarioCommand::FromBundle { dir, output } => return from_bundle(&dir, output.as_deref()),
    }
    Ok(ExitCode::SUCCESS)
}

/// `scenario from-bundle`: exit 2 on an unreadable bundle, 1 when it cannot be replayed.
fn from_bundle(
    dir: &std::path::Path,
    output: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use crate::diagnose::{Context as Diagnosis, Sources, diagnose, scenario};
    let inputs = match super::diagnose::load(Sources::default().with_bundle(dir)) {
        Ok(inputs) => inputs,
        Err(code) => return Ok(code),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let report = diagnose(&inputs, now);
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "bundle".into());
    let text = match scenario::from_inputs(&Diagnosis::new(&inputs, now), &report, &name) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: {}: {error}", dir.display());
            return Ok(ExitCode::from(1));
        }
    };
    match output {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("failed to write {}", path.display()))?;
            println!(
                "wrote {}: run it with `irsa-lab run {}`",
                path.display(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
