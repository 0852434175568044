//! Bucket policies (`aws s3api put-bucket-policy`): parsed when stored, with S3's
//! `MalformedPolicy` messages, and evaluated for the readers that matter to an issuer:
//! anonymous requests (STS fetching a public bucket) and CloudFront's service principal
//! reading through an Origin Access Control (`AWS:SourceArn` = the distribution's ARN).
//!
//! Evaluation follows IAM's order for one resource policy: an explicit `Deny` wins, then
//! any `Allow`, else the policy says nothing (the caller falls back to ACLs). Condition keys
//! are case-insensitive, as in IAM (`AWS:SourceArn` = `aws:SourceArn`). Operators: the
//! string ones, `ArnEquals`/`ArnLike` (and negations), `Bool`; any other operator is
//! refused when the policy is stored, so a policy is never half-understood.

use serde_json::Value;

use crate::iam::condition::{Operator, like};

/// Who is reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    /// No credentials at all (STS's own fetch of an issuer document).
    Anonymous,
    /// An AWS service principal acting for a resource, as CloudFront does with OAC:
    /// `principal` = `cloudfront.amazonaws.com`, `source_arn` = the distribution's ARN.
    Service {
        principal: String,
        source_arn: String,
        source_account: String,
    },
}

/// What one request does to what.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRequest<'a> {
    pub requester: &'a Requester,
    /// `s3:GetObject`, `s3:ListBucket`.
    pub action: &'a str,
    /// `arn:aws:s3:::bucket/key` or `arn:aws:s3:::bucket`.
    pub resource: &'a str,
}

/// The policy's verdict for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyVerdict {
    /// A `Deny` statement matched (its Sid, if any).
    Denied(Option<String>),
    /// An `Allow` statement matched; `public` when it is a public grant (what
    /// RestrictPublicBuckets disregards).
    Allowed { sid: Option<String>, public: bool },
    /// No statement applies.
    Silent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Principals {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous included.
    Everyone,
    Named {
        services: Vec<String>,
    },
}

#[derive(Debug, Clone)]
struct Condition {
    operator: Operator,
    /// Lower-cased: IAM compares condition keys case-insensitively.
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Statement {
    sid: Option<String>,
    effect: Effect,
    principals: Principals,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

/// A stored bucket policy: its text as given (GetBucketPolicy returns it) and its
/// statements.
#[derive(Debug, Clone)]
pub struct BucketPolicy {
    pub text: String,
    statements: Vec<Statement>,
}

/// S3's `MalformedPolicy` (HTTP 400), with S3's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedPolicy(pub String);

/// Condition keys whose fixed value makes a `"*"` grant non-public (S3's list for Block
/// Public Access, lower-cased).
const NARROWING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:userid",
    "aws:principalarn",
    "aws:sourceip",
];

fn strings(value: &Value, what: &str) -> Result<Vec<String>, MalformedPolicy> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(MalformedPolicy(format!("Policy has invalid {what}"))),
            })
            .collect(),
        _ => Err(MalformedPolicy(format!("Policy has invalid {what}"))),
    }
}

fn principals(value: &Value) -> Result<Principals, MalformedPolicy> {
    let invalid = || MalformedPolicy("Invalid principal in policy".into());
    match value {
        Value::String(s) if s == "*" => Ok(Principals::Everyone),
        Value::Object(map) => {
            let mut services = Vec::new();
            for (kind, ids) in map {
                let ids = strings(ids, "principal").map_err(|_| invalid())?;
                match kind.as_str() {
                    "AWS" if ids.iter().any(|i| i == "*") => return Ok(Principals::Everyone),
                    "AWS" | "CanonicalUser" | "Federated" => {}
                    "Service" => services.extend(ids),
                    _ => return Err(invalid()),
                }
            }
            Ok(Principals::Named { services })
        }
        _ => Err(invalid()),
    }
}

impl BucketPolicy {
    /// Parses a policy for `bucket`, as PutBucketPolicy validates it.
    ///
    /// # Errors
    /// [`MalformedPolicy`] with S3's message for the first problem found.
    pub fn parse(bucket: &str, text: &str) -> Result<Self, MalformedPolicy> {
        let document: Value = serde_json::from_str(text)
            .ok()
            .filter(|_| text.trim_start().starts_with('{'))
            .ok_or_else(|| {
                MalformedPolicy("Policies must be valid JSON and the first byte must be '{'".into())
            })?;
        if let Some(version) = document.get("Version")
            && !matches!(version.as_str(), Some("2012-10-17" | "2008-10-17"))
        {
            return Err(MalformedPolicy(
                "The policy must contain a valid version string".into(),
            ));
        }
        let raw = match document.get("Statement") {
            Some(Value::Array(items)) => items.clone(),
            Some(item @ Value::Object(_)) => vec![item.clone()],
            _ => return Err(MalformedPolicy("Missing required field Statement".into())),
        };
        let bucket_arn = format!("arn:aws:s3:::{bucket}");
        let mut statements = Vec::new();
        for statement in &raw {
            let effect = match statement.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                Some(other) => return Err(MalformedPolicy(format!("Invalid effect: {other}"))),
                None => return Err(MalformedPolicy("Missing required field Effect".into())),
            };
            if statement.get("NotPrincipal").is_some()
                || statement.get("NotAction").is_some()
                || statement.get("NotResource").is_some()
            {
                return Err(MalformedPolicy(
                    "NotPrincipal, NotAction and NotResource are not modelled by irsa-lab".into(),
                ));
            }
            let principals = principals(
                statement
                    .get("Principal")
                    .ok_or_else(|| MalformedPolicy("Missing required field Principal".into()))?,
            )?;
            let actions = strings(
                statement
                    .get("Action")
                    .ok_or_else(|| MalformedPolicy("Missing required field Action".into()))?,
                "action",
            )?;
            if actions
                .iter()
                .any(|a| a != "*" && !a.to_ascii_lowercase().starts_with("s3:"))
            {
                return Err(MalformedPolicy("Policy has invalid action".into()));
            }
            let resources = strings(
                statement
                    .get("Resource")
                    .ok_or_else(|| MalformedPolicy("Missing required field Resource".into()))?,
                "resource",
            )?;
            if resources
                .iter()
                .any(|r| r != &bucket_arn && !r.starts_with(&format!("{bucket_arn}/")) && r != "*")
            {
                return Err(MalformedPolicy("Policy has invalid resource".into()));
            }
            let mut conditions = Vec::new();
            if let Some(block) = statement.get("Condition") {
                let Value::Object(operators) = block else {
                    return Err(MalformedPolicy("Policy has an invalid condition".into()));
                };
                for (name, keys) in operators {
                    let operator = Operator::parse_for_resource_policy(name)
                        .map_err(|_| MalformedPolicy(format!("Invalid Condition type : {name}")))?;
                    let Value::Object(keys) = keys else {
                        return Err(MalformedPolicy("Policy has an invalid condition".into()));
                    };
                    for (key, values) in keys {
                        conditions.push(Condition {
                            operator: operator.clone(),
                            key: key.to_ascii_lowercase(),
                            values: strings(values, "condition")?,
                        });
                    }
                }
            }
            statements.push(Statement {
                sid: statement
                    .get("Sid")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                effect,
                principals,
                actions,
                resources,
                conditions,
            });
        }
        Ok(Self {
            text: text.to_owned(),
            statements,
        })
    }

    /// Whether the policy grants public access, as Block Public Access judges it: an
    /// `Allow` to everyone without a fixed-value condition on a narrowing key.
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(Statement::is_public)
    }

    /// The verdict for one request.
    pub fn evaluate(&self, request: &PolicyRequest<'_>) -> PolicyVerdict {
        let matching = || self.statements.iter().filter(|s| s.applies(request));
        if let Some(deny) = matching().find(|s| s.effect == Effect::Deny) {
            return PolicyVerdict::Denied(deny.sid.clone());
        }
        match matching().find(|s| s.effect == Effect::Allow) {
            Some(allow) => PolicyVerdict::Allowed {
                sid: allow.sid.clone(),
                public: allow.is_public(),
            },
            None => PolicyVerdict::Silent,
        }
    }
}

impl Statement {
    fn is_public(&self) -> bool {
        self.effect == Effect::Allow
            && self.principals == Principals::Everyone
            && !self.conditions.iter().any(|c| {
                NARROWING_KEYS.contains(&c.key.as_str())
                    && !c.values.iter().any(|v| v.contains('*') || v.contains('?'))
            })
    }

    fn applies(&self, request: &PolicyRequest<'_>) -> bool {
        let principal = match (&self.principals, request.requester) {
            (Principals::Everyone, _) => true,
            (Principals::Named { .. }, Requester::Anonymous) => false,
            (Principals::Named { services }, Requester::Service { principal, .. }) => {
                services.iter().any(|s| s == principal)
            }
        };
        let action = self.actions.iter().any(|a| {
            like(
                &a.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        });
        let resource = self.resources.iter().any(|r| like(r, request.resource));
        principal
            && action
            && resource
            && self.conditions.iter().all(|c| {
                let context = context_value(request.requester, &c.key);
                c.operator.evaluate(&c.values, context.as_deref())
            })
    }
}

/// The request context keys a bucket policy can test here. Every issuer fetch (STS's,
/// CloudFront's) is made over https.
fn context_value(requester: &Requester, key: &str) -> Option<Vec<String>> {
    match (key, requester) {
        ("aws:securetransport", _) => Some(vec!["true".into()]),
        ("aws:sourcearn", Requester::Service { source_arn, .. }) => Some(vec![source_arn.clone()]),
        ("aws:sourceaccount", Requester::Service { source_account, .. }) => {
            Some(vec![source_account.clone()])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OAC_POLICY: &str = r#"{
        "Version": "2008-10-17",
        "Id": "PolicyForCloudFrontPrivateContent",
        "Statement": [{
            "Sid": "AllowCloudFrontServicePrincipal",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::openunison-sts-docs/*",
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::111122223333:distribution/E1BKYHE1TT8Z10"}}
        }]
    }"#;

    const PUBLIC_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::oidc-test/*"}]}"#;

    fn cloudfront(distribution: &str) -> Requester {
        Requester::Service {
            principal: "cloudfront.amazonaws.com".into(),
            source_arn: format!("arn:aws:cloudfront::111122223333:distribution/{distribution}"),
            source_account: "111122223333".into(),
        }
    }

    fn get<'a>(requester: &'a Requester, resource: &'a str) -> PolicyRequest<'a> {
        PolicyRequest {
            requester,
            action: "s3:GetObject",
            resource,
        }
    }

    #[test]
    fn oac_policy_allows_only_its_distribution() {
        let policy = BucketPolicy::parse("openunison-sts-docs", OAC_POLICY).unwrap();
        let object = "arn:aws:s3:::openunison-sts-docs/certs";
        assert!(matches!(
            policy.evaluate(&get(&cloudfront("E1BKYHE1TT8Z10"), object)),
            PolicyVerdict::Allowed { public: false, .. }
        ));
        assert_eq!(
            policy.evaluate(&get(&cloudfront("EOTHER0000000"), object)),
            PolicyVerdict::Silent
        );
        assert_eq!(
            policy.evaluate(&get(&Requester::Anonymous, object)),
            PolicyVerdict::Silent
        );
        assert!(!policy.is_public());
    }

    #[test]
    fn anonymous_read_policy_is_public() {
        let policy = BucketPolicy::parse("oidc-test", PUBLIC_READ).unwrap();
        assert!(policy.is_public());
        assert!(matches!(
            policy.evaluate(&get(
                &Requester::Anonymous,
                "arn:aws:s3:::oidc-test/keys.json"
            )),
            PolicyVerdict::Allowed { public: true, .. }
        ));
        // GetObject does not grant ListBucket.
        let list = PolicyRequest {
            requester: &Requester::Anonymous,
            action: "s3:ListBucket",
            resource: "arn:aws:s3:::oidc-test",
        };
        assert_eq!(policy.evaluate(&list), PolicyVerdict::Silent);
    }

    #[test]
    fn explicit_deny_wins_over_allow() {
        let text = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b-1/*"},
            {"Sid":"NoKeys","Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/keys.json"}]}"#;
        let policy = BucketPolicy::parse("b-1", text).unwrap();
        assert_eq!(
            policy.evaluate(&get(&Requester::Anonymous, "arn:aws:s3:::b-1/keys.json")),
            PolicyVerdict::Denied(Some("NoKeys".into()))
        );
        assert!(matches!(
            policy.evaluate(&get(&Requester::Anonymous, "arn:aws:s3:::b-1/other")),
            PolicyVerdict::Allowed { .. }
        ));
    }

    #[test]
    fn a_star_grant_narrowed_by_source_arn_is_not_public() {
        let text = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/*","Condition":{"StringEquals":{"aws:SourceArn":"arn:aws:cloudfront::111122223333:distribution/E1"}}}]}"#;
        let policy = BucketPolicy::parse("b-1", text).unwrap();
        assert!(!policy.is_public());
        let wildcard = text.replace("distribution/E1", "distribution/*");
        assert!(BucketPolicy::parse("b-1", &wildcard).unwrap().is_public());
    }

    #[test]
    fn malformed_policies_get_s3s_messages() {
        let cases = [
            (
                "not json",
                "Policies must be valid JSON and the first byte must be '{'",
            ),
            (
                r#"{"Version":"2012-10-17"}"#,
                "Missing required field Statement",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/*"}]}"#,
                "Missing required field Principal",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#,
                "Policy has invalid resource",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"arn:aws:s3:::b-1/*"}]}"#,
                "Policy has invalid action",
            ),
            (
                r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/*"}]}"#,
                "Invalid effect: Maybe",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/*","Condition":{"NumericLessThan":{"s3:max-keys":"10"}}}]}"#,
                "Invalid Condition type : NumericLessThan",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                BucketPolicy::parse("b-1", text).unwrap_err(),
                MalformedPolicy(message.into()),
                "{text}"
            );
        }
    }
}
