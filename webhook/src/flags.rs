//! Command-line flags: the reference webhook's, with the same names and defaults, so its
//! Kubernetes manifests run this binary unchanged.
//!
//! Go-style booleans are accepted (`--in-cluster=false`, bare `--in-cluster`), as are the
//! klog flags the reference manifests pass (`--logtostderr`, `--v=2`), which are ignored.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Drop-in replacement for amazon-eks-pod-identity-webhook: injects AWS web-identity (IRSA)
/// and EKS Pod Identity credentials configuration into pods.
#[derive(Debug, Clone, Parser)]
#[command(name = "pod-identity-webhook", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub flags: Flags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Mutate one pod offline, exactly as /mutate would, and print the JSON patch or the pod.
    ///
    /// Reproduces what the webhook does to a customer's pod without a cluster:
    /// `pod-identity-webhook mutate --pod pod.yaml --service-account sa.yaml --aws-default-region us-west-2`
    Mutate(MutateArgs),
}

/// What `mutate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The RFC 6902 JSON patch the webhook returns.
    Patch,
    /// The pod with the patch applied.
    Pod,
}

#[derive(Debug, Clone, Args)]
pub struct MutateArgs {
    /// The pod, YAML or JSON (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub pod: PathBuf,
    /// The pod's ServiceAccount, YAML or JSON (without it the SA has no annotations).
    #[arg(long, value_name = "FILE")]
    pub service_account: Option<PathBuf>,
    /// The ConfigMap the server would watch (`data.config`), YAML or JSON.
    #[arg(long, value_name = "FILE")]
    pub configmap: Option<PathBuf>,
    /// Namespace of the request (default: the pod's, else `default`).
    #[arg(long = "pod-namespace", value_name = "NS")]
    pub pod_namespace: Option<String>,
    /// Print the patch or the mutated pod.
    #[arg(long, value_enum, default_value_t = Output::Patch)]
    pub output: Output,
    /// Seed for container-credentials expiration jitter (default: random, like the server).
    #[arg(long)]
    pub seed: Option<u64>,
}

fn parse_go_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(format!("invalid boolean {other:?} (use true or false)")),
    }
}

/// Go's `time.ParseDuration` for the forms flags use: `60s`, `1m30s`, `500ms`, `1h`, `0`.
pub fn parse_go_duration(value: &str) -> Result<Duration, String> {
    if value == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || format!("invalid duration {value:?} (examples: 0, 500ms, 60s, 1m30s, 1h)");
    let mut total = Duration::ZERO;
    let mut rest = value;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(number * seconds);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// A duration above zero (a zero timeout would close every connection at once).
fn parse_positive_go_duration(value: &str) -> Result<Duration, String> {
    match parse_go_duration(value)? {
        d if d.is_zero() => Err(format!("invalid duration {value:?}: must be above zero")),
        d => Ok(d),
    }
}

/// Inside a pod the apiserver must reach the webhook through its Service, so it listens on
/// all interfaces there (as the reference does); anywhere else only on loopback.
fn default_bind() -> IpAddr {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }
}

/// Every flag of the reference webhook, plus a few of ours (marked).
#[derive(Debug, Clone, Args)]
pub struct Flags {
    /// Port to listen on (HTTPS: /mutate, /healthz, /readyz).
    #[arg(long, default_value_t = 443, global = true)]
    pub port: u16,
    /// Port of the plain-HTTP /metrics listener.
    #[arg(long, default_value_t = 9999, global = true)]
    pub metrics_port: u16,
    /// Address to listen on [ours]. Default: all interfaces inside a pod, else 127.0.0.1.
    #[arg(long, default_value_t = default_bind(), global = true)]
    pub bind: IpAddr,
    /// (out-of-cluster) kubeconfig file; with --kube-api empty too, the in-cluster config is used.
    #[arg(long, default_value = "", global = true)]
    pub kubeconfig: String,
    /// (out-of-cluster) the Kubernetes API server URL (overrides the kubeconfig's).
    #[arg(long, default_value = "", global = true)]
    pub kube_api: String,
    /// (out-of-cluster) TLS certificate file, reloaded when it changes.
    #[arg(long, default_value = "/etc/webhook/certs/tls.crt", global = true)]
    pub tls_cert: PathBuf,
    /// (out-of-cluster) TLS key file, reloaded when it changes.
    #[arg(long, default_value = "/etc/webhook/certs/tls.key", global = true)]
    pub tls_key: PathBuf,
    /// Comma-separated TLS cipher suites (Go/IANA names, TLS 1.2 only). Empty: defaults.
    #[arg(long, default_value = "", global = true)]
    pub tls_cipher_suites: String,
    /// Minimum TLS version: 1.2 / 1.3 / VersionTLS12 / VersionTLS13. Empty: 1.2.
    #[arg(long, default_value = "", global = true)]
    pub tls_min_version: String,
    /// Manage the serving certificate in-cluster: a self-signed CA and certificate kept in
    /// the --tls-secret Secret, and the caBundle of the MutatingWebhookConfiguration patched.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = ArgAction::Set, global = true)]
    pub in_cluster: bool,
    /// (in-cluster) Secret holding the serving certificate.
    #[arg(long, default_value = "pod-identity-webhook", global = true)]
    pub tls_secret: String,
    /// (in-cluster) Namespace of the webhook (Secret, Service, ConfigMap).
    #[arg(long, default_value = "eks", global = true)]
    pub namespace: String,
    /// (in-cluster) Service name of the webhook.
    #[arg(long, default_value = "pod-identity-webhook", global = true)]
    pub service_name: String,
    /// (in-cluster) MutatingWebhookConfiguration whose caBundle is kept current [ours].
    #[arg(long, default_value = "pod-identity-webhook", global = true)]
    pub webhook_configuration: String,
    /// Prefix of every ServiceAccount and pod annotation.
    #[arg(long, default_value = "eks.amazonaws.com", global = true)]
    pub annotation_prefix: String,
    /// Default token audience (the OIDC provider's client id in IAM).
    #[arg(long, default_value = "sts.amazonaws.com", global = true)]
    pub token_audience: String,
    /// Where the token volume is mounted in containers.
    #[arg(
        long,
        default_value = "/var/run/secrets/eks.amazonaws.com/serviceaccount",
        global = true
    )]
    pub token_mount_path: String,
    /// Token lifetime in seconds (raised to 600 if lower).
    #[arg(long, default_value_t = 86400, global = true)]
    pub token_expiration: i64,
    /// When set, inject AWS_DEFAULT_REGION and AWS_REGION (needed off-AWS: on-prem pods
    /// cannot discover a region).
    #[arg(long, default_value = "", global = true)]
    pub aws_default_region: String,
    /// Default for AWS_STS_REGIONAL_ENDPOINTS=regional.
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = ArgAction::Set, global = true)]
    pub sts_regional_endpoint: bool,
    /// Watch the ConfigMap `pod-identity-webhook` in --namespace for role mappings.
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = ArgAction::Set, global = true)]
    pub watch_config_map: bool,
    /// Complete role-arn annotations that are bare role names into full ARNs.
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = ArgAction::Set, global = true)]
    pub compose_role_arn: bool,
    /// Account for --compose-role-arn [ours]. The reference asks EC2 instance metadata,
    /// which off-AWS clusters do not have and which this binary never contacts.
    #[arg(long, env = "AWS_ACCOUNT_ID", default_value = "", global = true)]
    pub compose_role_arn_account: String,
    /// JSON file listing service accounts in container-credentials (EKS Pod Identity) mode.
    #[arg(long, default_value = "", global = true)]
    pub watch_container_credentials_config: String,
    /// Audience of container-credentials tokens.
    #[arg(long, default_value = "pods.eks.amazonaws.com", global = true)]
    pub container_credentials_audience: String,
    /// Mount path of container-credentials tokens.
    #[arg(
        long,
        default_value = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
        global = true
    )]
    pub container_credentials_token_mount_path: String,
    /// Volume name of container-credentials tokens.
    #[arg(long, default_value = "eks-pod-identity-token", global = true)]
    pub container_credentials_token_volume_name: String,
    /// File name of container-credentials tokens in their volume.
    #[arg(long, default_value = "eks-pod-identity-token", global = true)]
    pub container_credentials_token_path: String,
    /// AWS_CONTAINER_CREDENTIALS_FULL_URI injected in container-credentials mode.
    #[arg(
        long,
        default_value = "http://169.254.170.23/v1/credentials",
        global = true
    )]
    pub container_credentials_full_uri: String,
    /// Wait up to this long for a ServiceAccount missing from the cache (0: off).
    #[arg(long, default_value = "0", value_parser = parse_go_duration, global = true)]
    pub service_account_lookup_grace_period: Duration,
    /// Informer resync period.
    #[arg(long, default_value = "60s", value_parser = parse_go_duration, global = true)]
    pub resync_period: Duration,
    /// Close a connection whose TLS handshake is not complete within this time [ours].
    #[arg(long, default_value = "10s", value_parser = parse_positive_go_duration, global = true)]
    pub tls_handshake_timeout: Duration,
    /// Close a connection whose client has not sent a complete request head within this
    /// time, including idle keep-alive connections [ours].
    #[arg(long, default_value = "10s", value_parser = parse_positive_go_duration, global = true)]
    pub header_read_timeout: Duration,
    /// Enable debug endpoints.
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = ArgAction::Set, global = true)]
    pub enable_debugging_handlers: bool,
    /// klog flag accepted for compatibility and ignored (use RUST_LOG).
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", global = true)]
    pub logtostderr: Option<String>,
    /// klog flag accepted for compatibility and ignored (use RUST_LOG).
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", global = true)]
    pub alsologtostderr: Option<String>,
    /// klog verbosity, accepted and ignored (use RUST_LOG).
    #[arg(short = 'v', long = "v", hide = true, global = true)]
    pub verbosity: Option<String>,
    /// klog flag accepted and ignored.
    #[arg(long, hide = true, global = true)]
    pub stderrthreshold: Option<String>,
}

impl Flags {
    /// `--token-expiration` with the reference's floor applied.
    pub fn token_expiration(&self) -> i64 {
        self.token_expiration
            .max(crate::config::MIN_TOKEN_EXPIRATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("pod-identity-webhook").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_the_reference() {
        let f = parse(&[]).unwrap().flags;
        assert_eq!((f.port, f.metrics_port), (443, 9999));
        assert!(f.in_cluster);
        assert_eq!(f.namespace, "eks");
        assert_eq!(f.annotation_prefix, "eks.amazonaws.com");
        assert_eq!(f.token_audience, "sts.amazonaws.com");
        assert_eq!(
            f.token_mount_path,
            "/var/run/secrets/eks.amazonaws.com/serviceaccount"
        );
        assert_eq!(f.token_expiration, 86400);
        assert!(!f.sts_regional_endpoint && !f.watch_config_map && !f.compose_role_arn);
        assert_eq!(f.resync_period, Duration::from_secs(60));
        assert_eq!(f.service_account_lookup_grace_period, Duration::ZERO);
        assert_eq!(
            f.container_credentials_full_uri,
            "http://169.254.170.23/v1/credentials"
        );
    }

    #[test]
    fn reference_manifest_args_parse() {
        let f = parse(&[
            "--in-cluster=false",
            "--namespace=eks",
            "--service-name=pod-identity-webhook",
            "--annotation-prefix=eks.amazonaws.com",
            "--token-audience=sts.amazonaws.com",
            "--logtostderr",
            "--v=2",
            "--sts-regional-endpoint",
            "--service-account-lookup-grace-period=1m30s",
        ])
        .unwrap()
        .flags;
        assert!(!f.in_cluster);
        assert!(f.sts_regional_endpoint);
        assert_eq!(
            f.service_account_lookup_grace_period,
            Duration::from_secs(90)
        );
    }

    #[test]
    fn go_booleans_and_durations() {
        assert!(
            !parse(&["--watch-config-map=F"])
                .unwrap()
                .flags
                .watch_config_map
        );
        assert!(
            parse(&["--watch-config-map=1"])
                .unwrap()
                .flags
                .watch_config_map
        );
        assert!(parse(&["--watch-config-map=yes"]).is_err());
        assert_eq!(
            parse_go_duration("500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_go_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("").is_err());
    }

    #[test]
    fn token_expiration_floor() {
        assert_eq!(
            parse(&["--token-expiration=100"])
                .unwrap()
                .flags
                .token_expiration(),
            600
        );
        assert_eq!(
            parse(&["--token-expiration=7200"])
                .unwrap()
                .flags
                .token_expiration(),
            7200
        );
    }

    #[test]
    fn mutate_takes_the_server_flags_too() {
        let cli = parse(&[
            "mutate",
            "--pod",
            "p.yaml",
            "--aws-default-region=us-west-2",
            "--output",
            "pod",
        ])
        .unwrap();
        assert_eq!(cli.flags.aws_default_region, "us-west-2");
        let Some(Command::Mutate(m)) = cli.command else {
            panic!("mutate")
        };
        assert_eq!(m.output, Output::Pod);
    }
}
