//! What an application in a pod does with IRSA, and nothing more: it reads what the pod
//! identity webhook injected (`AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`, region and
//! endpoint variables), lets the AWS SDK for Rust's default credential chain exchange the
//! kubelet's projected token with STS (AssumeRoleWithWebIdentity), and calls
//! GetCallerIdentity with the credentials it got. The report says which role was assumed, or
//! the error's code and message as the SDK gave them.
//!
//! The token itself never reaches the output: only the claims that explain a failure (issuer,
//! audiences, subject, lifetime, the `node` claim that only a real kubelet's token carries).

mod env;
mod report;
mod token;

pub use env::{InjectedEnv, Var};
pub use report::{CallerIdentity, Failure, Report};
pub use token::{TokenError, TokenSummary};

/// Reads the environment, calls STS through the default chain, and reports.
pub async fn run() -> Report {
    let env = InjectedEnv::from_process();
    let token = env
        .token_file
        .as_deref()
        .map(|path| TokenSummary::read(std::path::Path::new(path)));
    let config = aws_config::load_from_env().await;
    let sts = aws_sdk_sts::Client::new(&config);
    let outcome = match sts.get_caller_identity().send().await {
        Ok(out) => Ok(CallerIdentity {
            account: out.account().map(str::to_owned),
            arn: out.arn().map(str::to_owned),
            user_id: out.user_id().map(str::to_owned),
        }),
        Err(e) => Err(Failure::from_sdk(&e)),
    };
    Report::new(env, token, outcome)
}
