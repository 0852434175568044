//! The `irsa-lab` command line. Each subcommand lives in its own file; `main` only parses
//! arguments, sets up logging and maps errors to exit codes.

mod diagnose;
mod keys;
mod kind;
pub mod run;
mod scenario;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Reproduce IRSA (Kubernetes service-account tokens exchanged for AWS credentials) offline.
///
/// irsa-lab plays every part of the chain on this machine: the apiserver that signs
/// projected service-account tokens, the pod identity webhook, the S3 bucket that publishes
/// the issuer's discovery document and JWKS, and AWS STS + IAM validating tokens exactly as
/// AWS does, with AWS's error codes and messages. Nothing ever contacts AWS.
#[derive(Debug, Parser)]
#[command(name = "irsa-lab", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::RunArgs),
    Diagnose(diagnose::DiagnoseArgs),
    #[command(subcommand)]
    Scenario(scenario::ScenarioCommand),
    Serve(serve::ServeArgs),
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    #[command(subcommand)]
    Kind(kind::KindCommand),
}

/// Parses arguments and runs the chosen command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` logs every request; the other commands print their own results and only
    // log problems.
    init_logging(match cli.command {
        Command::Serve(_) => "warn,irsa_emulator=info,irsa_lab=info",
        // The runner prints every refusal with its diagnosis already.
        Command::Run(_) | Command::Scenario(_) => "error",
        Command::Keys(_) | Command::Diagnose(_) | Command::Kind(_) => "warn",
    });
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Diagnose(args) => diagnose::run(args),
        Command::Scenario(command) => scenario::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Keys(command) => keys::run(command),
        Command::Kind(command) => kind::run(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// Logs go to stderr so that command output (JWKS, keys, export lines) stays pipeable.
/// `RUST_LOG` overrides the default level.
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
