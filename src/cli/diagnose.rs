//! `irsa-lab diagnose`: thin wrapper over [`crate::diagnose`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::diagnose::{Sources, diagnose, render};

/// Diagnose a customer's IRSA failure from what they can paste, offline.
///
/// Walks STS's checks of AssumeRoleWithWebIdentity in AWS's order (token, iss → provider,
/// audience, discovery, jwks_uri, kid, signature, exp/nbf/iat with AWS's 5-minute
/// tolerance, thumbprints, trust policy principal/action/conditions, MaxSessionDuration)
/// and the pod identity webhook's decisions (role annotation, audience, token lifetime,
/// region, regional STS, what it injects), printing PASS / FAIL / WARN / UNKNOWN (input
/// missing, or not checkable offline) with the reason and the fix. Then the error text is
/// matched to its known causes, each CONFIRMED, RULED OUT or POSSIBLE by the inputs.
/// Nothing is fetched: no network at all.
///
/// Only the token is required. A bundle directory holds the same inputs under these names:
///
///   token                the token as the pod has it (a JWT), or:
///   token.json|yaml      its decoded header and claims: {"header": {..}, "claims": {..}}
///   role-arn.txt         the role ARN the SDK used (AWS_ROLE_ARN)
///   discovery.json       curl <issuer>/.well-known/openid-configuration
///   jwks.json            curl <jwks_uri>
///   provider.json        aws iam get-open-id-connect-provider --open-id-connect-provider-arn ARN
///                        (or the NoSuchEntity error it printed)
///   role.json            aws iam get-role --role-name NAME (policy as JSON or URL-encoded)
///   pod.yaml             kubectl get pod NAME -o yaml
///   serviceaccount.yaml  kubectl get serviceaccount NAME -o yaml
///   webhook-flags.txt    the webhook's flags, as in its Deployment
///   error.txt            the error text they saw (several lines allowed)
///   at.txt               when it happened (RFC 3339 or Unix seconds; default: from the
///                        error text, else now)
///
/// Flags override the bundle's files. Exit status: 0 no check fails, 1 a check fails,
/// 2 bad input (the message names the file and the problem).
///
/// Then `irsa-lab scenario from-bundle DIR -o replay.yaml` and `irsa-lab run replay.yaml`
/// replay the same setup.
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DiagnoseArgs {
    /// A directory holding the inputs under the names above.
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// The token: a JWT file, or a JSON/YAML file with its decoded header and claims.
    #[arg(long, value_name = "FILE")]
    pub token: Option<PathBuf>,
    /// The role ARN the SDK used.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// The discovery document (/.well-known/openid-configuration).
    #[arg(long, value_name = "FILE")]
    pub discovery: Option<PathBuf>,
    /// The JWKS the discovery document's jwks_uri serves.
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,
    /// `aws iam get-open-id-connect-provider` output (JSON).
    #[arg(long, value_name = "FILE")]
    pub provider: Option<PathBuf>,
    /// `aws iam get-role` output (JSON), with AssumeRolePolicyDocument.
    #[arg(long, value_name = "FILE")]
    pub role: Option<PathBuf>,
    /// The pod (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    pub pod: Option<PathBuf>,
    /// The pod's ServiceAccount (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    pub service_account: Option<PathBuf>,
    /// The webhook's flags, as one string: "--aws-default-region=us-west-2 --token-audience=..."
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    pub webhook_flags: Option<String>,
    /// The error text they saw.
    #[arg(long, value_name = "TEXT")]
    pub error: Option<String>,
    /// When the error happened (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// JSON for tools instead of text.
    #[arg(long)]
    pub json: bool,
}

impl DiagnoseArgs {
    /// The inputs these flags name, the bundle's files filling the rest.
    pub fn sources(&self) -> Result<Sources, crate::diagnose::InputError> {
        let sources = Sources {
            token: self.token.clone(),
            role_arn: self.role_arn.clone(),
            discovery: self.discovery.clone(),
            jwks: self.jwks.clone(),
            provider: self.provider.clone(),
            role: self.role.clone(),
            pod: self.pod.clone(),
            service_account: self.service_account.clone(),
            webhook_flags: self.webhook_flags.clone(),
            error: self.error.clone(),
            at: self.at.clone(),
        };
        match &self.bundle {
            Some(dir) => sources.with_bundle(dir),
            None => Ok(sources),
        }
    }
}

/// Reads the inputs; bad input is reported here, with exit status 2.
pub(super) fn load(
    sources: Result<Sources, crate::diagnose::InputError>,
) -> Result<crate::diagnose::Inputs, ExitCode> {
    sources.and_then(|s| s.load()).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::from(2)
    })
}

pub fn run(args: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let inputs = match load(args.sources()) {
        Ok(inputs) => inputs,
        Err(code) => return Ok(code),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let report = diagnose(&inputs, now);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render::human(&report));
    }
    Ok(if report.failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
