//! STS's success documents, XML by default and JSON on request.

use time::format_description::well_known::Rfc3339;

use super::NAMESPACE;
use super::credentials::IssuedCredentials;
use crate::query::{Format, XmlWriter};

/// What AssumeRoleWithWebIdentity returns.
#[derive(Debug, Clone)]
pub struct AssumeRoleWithWebIdentityOutput {
    pub subject: String,
    pub audience: String,
    pub assumed_role_arn: String,
    pub assumed_role_id: String,
    pub credentials: IssuedCredentials,
    /// The OIDC provider's ARN.
    pub provider: String,
}

/// ISO-8601 UTC without fraction: `2020-05-31T05:11:05Z`.
pub fn iso_seconds(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl AssumeRoleWithWebIdentityOutput {
    pub fn render(&self, format: Format, request_id: &str) -> String {
        let c = &self.credentials;
        match format {
            Format::Xml => {
                let mut w = XmlWriter::indented();
                w.open_ns("AssumeRoleWithWebIdentityResponse", NAMESPACE)
                    .open("AssumeRoleWithWebIdentityResult")
                    .element("SubjectFromWebIdentityToken", &self.subject)
                    .element("Audience", &self.audience)
                    .open("AssumedRoleUser")
                    .element("Arn", &self.assumed_role_arn)
                    .element("AssumedRoleId", &self.assumed_role_id)
                    .close("AssumedRoleUser")
                    .open("Credentials")
                    .element("SessionToken", &c.session_token)
                    .element("SecretAccessKey", &c.secret_access_key)
                    .element("Expiration", &iso_seconds(c.expiration))
                    .element("AccessKeyId", &c.access_key_id)
                    .close("Credentials")
                    .element("Provider", &self.provider)
                    .close("AssumeRoleWithWebIdentityResult")
                    .open("ResponseMetadata")
                    .element("RequestId", request_id)
                    .close("ResponseMetadata")
                    .close("AssumeRoleWithWebIdentityResponse");
                w.finish()
            }
            Format::Json => serde_json::json!({
                "AssumeRoleWithWebIdentityResponse": {
                    "AssumeRoleWithWebIdentityResult": {
                        "SubjectFromWebIdentityToken": self.subject,
                        "Audience": self.audience,
                        "AssumedRoleUser": {"Arn": self.assumed_role_arn, "AssumedRoleId": self.assumed_role_id},
                        "Credentials": {
                            "SessionToken": c.session_token,
                            "SecretAccessKey": c.secret_access_key,
                            "Expiration": c.expiration.unix_timestamp(),
                            "AccessKeyId": c.access_key_id,
                        },
                        "Provider": self.provider,
                    },
                    "ResponseMetadata": {"RequestId": request_id},
                }
            })
            .to_string(),
        }
    }
}

/// GetCallerIdentity's answer.
pub fn caller_identity(
    format: Format,
    arn: &str,
    user_id: &str,
    account: &str,
    request_id: &str,
) -> String {
    match format {
        Format::Xml => {
            let mut w = XmlWriter::indented();
            w.open_ns("GetCallerIdentityResponse", NAMESPACE)
                .open("GetCallerIdentityResult")
                .element("Arn", arn)
                .element("UserId", user_id)
                .element("Account", account)
                .close("GetCallerIdentityResult")
                .open("ResponseMetadata")
                .element("RequestId", request_id)
                .close("ResponseMetadata")
                .close("GetCallerIdentityResponse");
            w.finish()
        }
        Format::Json => serde_json::json!({
            "GetCallerIdentityResponse": {
                "GetCallerIdentityResult": {"Arn": arn, "UserId": user_id, "Account": account},
                "ResponseMetadata": {"RequestId": request_id},
            }
        })
        .to_string(),
    }
}
