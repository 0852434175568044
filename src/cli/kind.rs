//! `irsa-lab kind up | run | down`: a kind cluster that outlives one command, for running
//! scenarios again and again, or for following the setup guides by hand against a cluster
//! with our webhook already in it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::run::{BackendChoice, KindArgs, RunArgs};
use crate::backend::kind::cluster::{self, DEFAULT_NAME, Options};
use crate::backend::kind::webhook;
use crate::scenario::model::Webhook;

/// A kind cluster with the Rust webhook in it, kept between commands.
///
/// Needs Docker, kind and kubectl (`tools/build-kube kind kubectl`) and our images
/// (`tools/build-images`); air-gapped machines also `tools/build-node-image`.
///
/// Examples:
///   irsa-lab kind up                                    # kind's defaults, webhook deployed
///   irsa-lab kind up --config kind-config/charmed-path-prefix.yaml --name irsa-charmed
///   irsa-lab kind run scenarios/upstream-guide.yaml     # scenarios on it (it stays up)
///   irsa-lab kind down                                  # the cluster and kind's network
#[derive(Debug, Subcommand)]
#[command(verbatim_doc_comment)]
pub enum KindCommand {
    /// Create the cluster (or find it), load our images, deploy the webhook, and print what
    /// to export.
    Up(UpArgs),
    /// Run scenarios on the cluster (as `irsa-lab run --backend kind --cluster NAME`; the
    /// cluster stays up).
    Run(KindRunArgs),
    /// Delete the cluster, and kind's docker network when nothing else uses it.
    Down(NameArg),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// The cluster's name.
    #[arg(long, default_value = DEFAULT_NAME)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub name: NameArg,
    /// A kind cluster config (one of kind-config/ or your own), run from its directory so
    /// relative extraMounts resolve. Default: kind's defaults (scenarios set the
    /// apiserver's flags themselves).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The node image (default: $IRSA_LAB_KIND_NODE_IMAGE, else irsa-lab's offline image
    /// when built, else kind's own).
    #[arg(long, value_name = "IMAGE")]
    pub node_image: Option<String>,
}

#[derive(Debug, Args)]
pub struct KindRunArgs {
    #[command(flatten)]
    pub name: NameArg,
    /// Scenario files or directories (default: the built-in library).
    pub paths: Vec<PathBuf>,
    /// Only scenarios whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write each scenario's redacted transcript to DIR/NAME.yaml.
    #[arg(long, value_name = "DIR")]
    pub transcripts: Option<PathBuf>,
    /// Print every step.
    #[arg(long, short)]
    pub verbose: bool,
}

fn say(line: &str) {
    eprintln!("[kind] {line}");
}

pub fn run(command: KindCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    match command {
        KindCommand::Up(args) => {
            let options = Options {
                node_image: args.node_image,
                config: args.config,
            };
            let up = async {
                let kind = cluster::open(&args.name.name, &options, true, &say).await?;
                let client = kind.client().await?;
                say("deploying the webhook (webhook/deploy)");
                webhook::deploy(&client, &Webhook::default(), &kind.node).await?;
                let gateway = kind.gateway().await?;
                anyhow::Ok((kind, gateway))
            };
            let existed = runtime
                .block_on(cluster::exists(&args.name.name))
                .unwrap_or(true);
            let (kind, gateway) = match tokio_interruptible(&runtime, up) {
                Ok(done) => done?,
                Err(interrupted) => {
                    if !existed {
                        let _ = runtime.block_on(cluster::delete_by_name(&args.name.name));
                    }
                    return Err(interrupted);
                }
            };
            println!("export KUBECONFIG={}", kind.kubeconfig.display());
            println!("# pods reach the host at {gateway}: irsa-lab serve --bind {gateway}");
            println!("# scenarios on it: irsa-lab kind run --name {}", kind.name);
            println!("# remove it: irsa-lab kind down --name {}", kind.name);
            Ok(ExitCode::SUCCESS)
        }
        KindCommand::Run(args) => super::run::run(RunArgs {
            paths: args.paths,
            backend: BackendChoice::Kind,
            junit: args.junit,
            transcripts: args.transcripts,
            filter: args.filter,
            verbose: args.verbose,
            kind: KindArgs {
                cluster: args.name.name,
                keep: true,
                node_image: None,
            },
        }),
        KindCommand::Down(args) => {
            runtime.block_on(cluster::delete_by_name(&args.name))?;
            say(&format!("kind cluster {} deleted", args.name));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Ctrl-C during `up` ends it; a cluster half-created is removed by its guard.
fn tokio_interruptible<T>(
    runtime: &tokio::runtime::Runtime,
    work: impl std::future::Future<Output = T>,
) -> anyhow::Result<T> {
    runtime.block_on(async {
        tokio::select! {
            done = work => Ok(done),
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        }
    })
}
