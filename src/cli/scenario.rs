//! `irsa-lab scenario`: start a new scenario file, list the built-in library, print the schema.

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
    }
    Ok(ExitCode::SUCCESS)
}
