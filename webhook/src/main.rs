use std::process::ExitCode;

use clap::Parser;
use pod_identity_webhook::flags::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    pod_identity_webhook::logging::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match &cli.command {
        Some(Command::Mutate(args)) => {
            match runtime.block_on(pod_identity_webhook::offline::run(&cli.flags, args)) {
                Ok(printed) => {
                    println!("{printed}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        None => match runtime.block_on(pod_identity_webhook::app::run_server(&cli.flags)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
