//! The variables a pod's AWS SDK reads, as the webhook (or the pod spec) set them.

use serde::Serialize;

/// The variables that decide where the SDK's default chain goes; values are not secrets
/// (the token is in the file, not in the environment).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InjectedEnv {
    pub role_arn: Option<String>,
    pub token_file: Option<String>,
    pub region: Option<String>,
    pub default_region: Option<String>,
    pub sts_regional_endpoints: Option<String>,
    pub endpoint_url: Option<String>,
    pub endpoint_url_sts: Option<String>,
}

/// A variable the report names when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    RoleArn,
    TokenFile,
}

impl Var {
    pub fn name(self) -> &'static str {
        match self {
            Var::RoleArn => "AWS_ROLE_ARN",
            Var::TokenFile => "AWS_WEB_IDENTITY_TOKEN_FILE",
        }
    }
}

impl InjectedEnv {
    pub fn from_process() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any lookup (the process environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| get(name).filter(|v| !v.is_empty());
        Self {
            role_arn: get("AWS_ROLE_ARN"),
            token_file: get("AWS_WEB_IDENTITY_TOKEN_FILE"),
            region: get("AWS_REGION"),
            default_region: get("AWS_DEFAULT_REGION"),
            sts_regional_endpoints: get("AWS_STS_REGIONAL_ENDPOINTS"),
            endpoint_url: get("AWS_ENDPOINT_URL"),
            endpoint_url_sts: get("AWS_ENDPOINT_URL_STS"),
        }
    }

    /// The IRSA variables the webhook should have injected but did not: the usual reason
    /// the SDK falls through to other providers and reports "no credentials".
    pub fn missing(&self) -> Vec<Var> {
        let mut missing = Vec::new();
        if self.role_arn.is_none() {
            missing.push(Var::RoleArn);
        }
        if self.token_file.is_none() {
            missing.push(Var::TokenFile);
        }
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_pod_the_webhook_skipped_misses_both_irsa_variables() {
        let env = InjectedEnv::from_lookup(lookup(&[("AWS_REGION", "us-east-1")]));
        assert_eq!(env.missing(), vec![Var::RoleArn, Var::TokenFile]);
        assert_eq!(env.region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn an_empty_variable_counts_as_missing() {
        let env = InjectedEnv::from_lookup(lookup(&[
            ("AWS_ROLE_ARN", ""),
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            ),
        ]));
        assert_eq!(env.missing(), vec![Var::RoleArn]);
    }
}
