//! `irsa-lab serve`: the emulator on one local endpoint, for real clients.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use irsa_emulator::s3::BucketDefaults;
use irsa_emulator::server::listen::{self, ListenerLimits};
use irsa_emulator::server::state::StateFile;
use irsa_emulator::server::{Emulator, EmulatorConfig};

/// Serve fake AWS STS, IAM, S3 and CloudFront on one local endpoint.
///
/// Point any client at it with `AWS_ENDPOINT_URL` (the real `aws` CLI, boto3, the AWS SDKs):
/// the command prints the `export` lines to paste. STS validates web-identity tokens exactly as
/// AWS does (issuer, audience, signature, expiry, trust policy) and answers with AWS's error
/// codes and messages. IAM and S3 calls accept any credentials, as LocalStack does, so a
/// customer's script runs unchanged; credentials that STS issued are always verified.
///
/// Issuers hosted on S3 hostnames (https://s3.us-east-1.amazonaws.com/BUCKET,
/// https://BUCKET.s3.amazonaws.com, ...) are read from this emulator's own buckets. Any other
/// issuer host must be mapped with --map-issuer; nothing is ever sent to the internet.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, short = 'p', default_value_t = 4577, env = "IRSA_LAB_PORT")]
    port: u16,
    /// Address to bind. Only loopback by default: the emulator accepts any admin credentials.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST), env = "IRSA_LAB_BIND")]
    bind: IpAddr,
    /// State file (YAML or JSON) preloading the account, OIDC providers, roles, buckets,
    /// objects and issuer mappings. See `emulator/README.md` for the format.
    #[arg(long, env = "IRSA_LAB_STATE")]
    state: Option<PathBuf>,
    /// Map an issuer URL prefix to a local endpoint: `PREFIX=TARGET`, e.g.
    /// `https://oidc.example.com=https://127.0.0.1:6443`. Repeatable; longest prefix wins.
    #[arg(long = "map-issuer", value_name = "PREFIX=TARGET")]
    map_issuer: Vec<String>,
    /// PEM CA certificate to trust for mapped HTTPS targets (e.g. the apiserver's ca.crt).
    #[arg(long, value_name = "FILE")]
    issuer_ca: Option<PathBuf>,
    /// How long STS keeps an issuer's JWKS before fetching it again.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    jwks_cache_ttl: Duration,
    /// On a token whose kid is not in the cached JWKS, refetch at most this often.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    jwks_refetch_interval: Duration,
    /// Deactivate STS in a region (repeatable): calls addressed to it (SigV4 scope or
    /// `sts.<region>.amazonaws.com` Host) get RegionDisabledException, as on an account
    /// whose administrator turned the regional endpoint off.
    #[arg(long = "disable-sts-region", value_name = "REGION")]
    disable_sts_region: Vec<String>,
    /// Reject tokens whose issuer differs from the discovery document's `issuer` field
    /// (default: accept and log a warning; AWS's behaviour here is undocumented).
    #[arg(long)]
    strict_issuer_field: bool,
    /// Close a connection whose client has not sent a complete request head within this
    /// time (slow or idle clients, idle keep-alive connections).
    #[arg(long, default_value = "10s", value_parser = positive_duration)]
    header_read_timeout: Duration,
    /// Fail a request whose body stops arriving for this long.
    #[arg(long, default_value = "10s", value_parser = positive_duration)]
    body_idle_timeout: Duration,
    /// What a new S3 bucket starts with: `current` (S3 since April 2023: ACLs disabled,
    /// Block Public Access on, so `--acl public-read` fails) or `legacy` (ACLs work, no Block
    /// Public Access: what the upstream guide was written for). A state file's
    /// `bucketDefaults` overrides it.
    #[arg(long, default_value = "current", value_parser = parse_bucket_defaults, env = "IRSA_LAB_S3_BUCKET_DEFAULTS")]
    s3_bucket_defaults: BucketDefaults,
    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
}

fn parse_bucket_defaults(text: &str) -> Result<BucketDefaults, String> {
    text.parse()
}

/// A humantime duration above zero (a zero timeout would close every connection at once).
fn positive_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be above zero".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = EmulatorConfig::default();
    config.oidc.jwks_ttl = args.jwks_cache_ttl;
    config.oidc.refetch_interval = args.jwks_refetch_interval;
    config.disabled_sts_regions = args.disable_sts_region.clone();
    config.s3_bucket_defaults = args.s3_bucket_defaults;
    if args.strict_issuer_field {
        config.oidc.issuer_field_check = irsa_emulator::oidc::IssuerFieldCheck::Strict;
    }
    let ca_pem = match &args.issuer_ca {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("failed to read {}", path.display()))?,
        ),
        None => None,
    };
    for mapping in &args.map_issuer {
        let (prefix, target) = mapping
            .split_once('=')
            .with_context(|| format!("--map-issuer {mapping:?}: expected PREFIX=TARGET"))?;
        config
            .routes
            .add_mapping(prefix, target, ca_pem.as_deref())
            .with_context(|| format!("--map-issuer {mapping:?}"))?;
    }
    let state = match &args.state {
        Some(path) => Some(StateFile::load(path)?),
        None => None,
    };
    if let Some(state) = &state {
        state.configure(&mut config)?;
    }
    let emulator = Emulator::new(config);
    if let Some(state) = &state {
        state.apply(&emulator)?;
    }

    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("failed to listen on {addr} (is another emulator running? try --port 0)")
    })?;
    let local = listener.local_addr()?;
    let endpoint = format!("http://{local}");
    // The banner is for people and wrappers; a closed stdout must not stop the server.
    let banner = format!(
        "irsa-lab emulator: STS, IAM, S3 and CloudFront on {endpoint} (account {account})\n\
         Paste into the shell that runs your AWS clients:\n\
         \x20 export AWS_ENDPOINT_URL={endpoint}\n\
         \x20 export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1\n\
         Ctrl-C stops it.\n",
        account = emulator.iam().account_id()
    );
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(banner.as_bytes())
            .and_then(|()| stdout.flush());
    }

    let limits = ListenerLimits {
        header_read: args.header_read_timeout,
        body_idle: args.body_idle_timeout,
        max_connections: args.max_connections as usize,
    };
    listen::serve(listener, emulator.router(), limits, async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping");
    })
    .await;
    Ok(())
}
