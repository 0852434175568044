//! STS's success documents, XML by default and JSON on request.

use time::format_description::well_known::Rfc3339;

use super::NAMESPACE;
use super::credentials::IssuedCredentials;
use crate::query::{Format, xml_escape};

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
            Format::Xml => format!(
                "<AssumeRoleWithWebIdentityResponse xmlns=\"{NAMESPACE}\">\n  <AssumeRoleWithWebIdentityResult>\n    <SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>\n    <Audience>{}</Audience>\n    <AssumedRoleUser>\n      <Arn>{}</Arn>\n      <AssumedRoleId>{}</AssumedRoleId>\n    </AssumedRoleUser>\n    <Credentials>\n      <SessionToken>{}</SessionToken>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <Expiration>{}</Expiration>\n      <AccessKeyId>{}</AccessKeyId>\n    </Credentials>\n    <Provider>{}</Provider>\n  </AssumeRoleWithWebIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleWithWebIdentityResponse>\n",
                xml_escape(&self.subject),
                xml_escape(&self.audience),
                xml_escape(&self.assumed_role_arn),
                xml_escape(&self.assumed_role_id),
                xml_escape(&c.session_token),
                xml_escape(&c.secret_access_key),
                iso_seconds(c.expiration),
                c.access_key_id,
                xml_escape(&self.provider),
            ),
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
        Format::Xml => format!(
            "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\">\n  <GetCallerIdentityResult>\n    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
            xml_escape(arn),
            xml_escape(user_id),
            xml_escape(account)
        ),
        Format::Json => serde_json::json!({
            "GetCallerIdentityResponse": {
                "GetCallerIdentityResult": {"Arn": arn, "UserId": user_id, "Account": account},
                "ResponseMetadata": {"RequestId": request_id},
            }
        })
        .to_string(),
    }
}
