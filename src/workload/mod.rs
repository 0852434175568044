//! What a pod's application does with the webhook's env vars, as the AWS SDKs' default
//! credential chain does it: find `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`, read
//! the token file, call AssumeRoleWithWebIdentity (unsigned) at the STS endpoint the env
//! selects, then GetCallerIdentity signed with the returned credentials.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::aws::{AwsClient, AwsFailure, Credentials, xml_field};

/// The SDK's configuration, read from the container's env.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdkEnv {
    pub role_arn: Option<String>,
    pub token_file: Option<String>,
    pub session_name: Option<String>,
    pub region: Option<String>,
    pub regional_sts: bool,
}

impl SdkEnv {
    pub fn from_env(env: &BTreeMap<String, String>) -> Self {
        Self {
            role_arn: env.get("AWS_ROLE_ARN").cloned(),
            token_file: env.get("AWS_WEB_IDENTITY_TOKEN_FILE").cloned(),
            session_name: env.get("AWS_ROLE_SESSION_NAME").cloned(),
            region: env
                .get("AWS_REGION")
                .or_else(|| env.get("AWS_DEFAULT_REGION"))
                .cloned(),
            regional_sts: env
                .get("AWS_STS_REGIONAL_ENDPOINTS")
                .is_some_and(|v| v == "regional"),
        }
    }

    /// The STS host the SDK would call: regional only when asked and a region is known.
    pub fn sts_endpoint(&self) -> String {
        match (&self.region, self.regional_sts) {
            (Some(region), true) => format!("https://sts.{region}.amazonaws.com"),
            _ => "https://sts.amazonaws.com".to_owned(),
        }
    }

    /// What the chain needs before any call, or the SDK's refusal.
    pub fn web_identity(&self) -> Result<(String, String), AwsFailure> {
        let sdk = |code: &str, message: &str| AwsFailure {
            code: code.to_owned(),
            message: message.to_owned(),
            diagnosis: None,
        };
        match (&self.role_arn, &self.token_file) {
            (Some(role), Some(file)) => Ok((role.clone(), file.clone())),
            (None, None) => Err(sdk(
                "NoCredentialProviders",
                "Unable to locate credentials: the container has neither AWS_ROLE_ARN nor AWS_WEB_IDENTITY_TOKEN_FILE (was the pod mutated by the webhook?)",
            )),
            (None, Some(_)) => Err(sdk(
                "InvalidConfigError",
                "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: web identity needs both",
            )),
            (Some(_), None) => Err(sdk(
                "InvalidConfigError",
                "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not: web identity needs both",
            )),
        }
    }
}

/// What STS and GetCallerIdentity answered.
#[derive(Debug, Clone)]
pub struct WebIdentityResult {
    pub assumed_role_arn: String,
    pub audience: String,
    pub subject: String,
    pub provider: String,
    pub expiration: OffsetDateTime,
    /// GetCallerIdentity's `Arn`, `None` when skipped.
    pub caller_arn: Option<String>,
    pub credentials: Credentials,
}

/// AssumeRoleWithWebIdentity, then (unless `skip_caller`) GetCallerIdentity.
pub async fn exchange(
    client: &AwsClient,
    role_arn: &str,
    session: &str,
    token: &str,
    duration_seconds: Option<i64>,
    now: OffsetDateTime,
    skip_caller: bool,
) -> anyhow::Result<Result<WebIdentityResult, AwsFailure>> {
    let xml = match client
        .assume_role_with_web_identity(role_arn, session, token, duration_seconds)
        .await?
    {
        Ok(xml) => xml,
        Err(failure) => return Ok(Err(failure)),
    };
    let field = |tag: &str| xml_field(&xml, tag).unwrap_or_default();
    let credentials = Credentials {
        access_key_id: field("AccessKeyId"),
        secret_access_key: field("SecretAccessKey"),
        session_token: Some(field("SessionToken")),
    };
    let expiration = OffsetDateTime::parse(
        &field("Expiration"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or(now);
    let caller_arn = if skip_caller {
        None
    } else {
        match client.get_caller_identity(&credentials, now).await? {
            Ok(answer) => xml_field(&answer, "Arn"),
            Err(failure) => return Ok(Err(failure)),
        }
    };
    Ok(Ok(WebIdentityResult {
        assumed_role_arn: xml_field(&xml, "Arn").unwrap_or_default(),
        audience: field("Audience"),
        subject: field("SubjectFromWebIdentityToken"),
        provider: field("Provider"),
        expiration,
        caller_arn,
        credentials,
    }))
}
