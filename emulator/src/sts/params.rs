//! AssumeRoleWithWebIdentity's parameters and their constraints, checked in the service
//! model's member order, worded as AWS words them.

use super::errors::StsError;
use crate::query::QueryRequest;

/// The validated parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleWithWebIdentityInput {
    pub role_arn: String,
    pub role_session_name: String,
    pub web_identity_token: String,
    pub duration_seconds: Option<u32>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
}

fn length(
    errors: &mut Vec<String>,
    member: &str,
    value: &str,
    min: usize,
    max: usize,
    sensitive: bool,
) {
    let shown = if sensitive {
        String::new()
    } else {
        format!(" '{value}'")
    };
    let len = value.chars().count();
    if len < min {
        errors.push(format!("Value{shown} at '{member}' failed to satisfy constraint: Member must have length greater than or equal to {min}"));
    } else if len > max {
        errors.push(format!("Value{shown} at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"));
    }
}

fn null(errors: &mut Vec<String>, member: &str) {
    errors.push(format!(
        "Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ));
}

impl AssumeRoleWithWebIdentityInput {
    pub fn from_query(req: &QueryRequest) -> Result<Self, StsError> {
        let mut errors = Vec::new();
        let role_arn = req.get("RoleArn");
        match role_arn {
            None => null(&mut errors, "roleArn"),
            Some(v) => length(&mut errors, "roleArn", v, 20, 2048, false),
        }
        let session = req.get("RoleSessionName");
        match session {
            None => null(&mut errors, "roleSessionName"),
            Some(v) => {
                length(&mut errors, "roleSessionName", v, 2, 64, false);
                if !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
                {
                    errors.push(format!(
                        "Value '{v}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
                    ));
                }
            }
        }
        let token = req.get("WebIdentityToken");
        match token {
            None => null(&mut errors, "webIdentityToken"),
            Some(v) => length(&mut errors, "webIdentityToken", v, 4, 20000, true),
        }
        // Either form of the list: `PolicyArns.member.N` or the service model's
        // `PolicyArns.member.N.arn`, in index order. Only the entries present are visited:
        // the index is the client's number and may be anything up to u64::MAX.
        let policy_arns_arn = req.indexed_members("PolicyArns", ".arn");
        let policy_arns: Vec<String> = if policy_arns_arn.is_empty() {
            req.list("PolicyArns")
                .into_iter()
                .map(str::to_owned)
                .collect()
        } else {
            policy_arns_arn.into_iter().map(str::to_owned).collect()
        };
        if policy_arns.len() > 10 {
            errors.push(format!(
                "Value '[{}]' at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10",
                policy_arns.join(", ")
            ));
        }
        let policy = req.get("Policy");
        if let Some(p) = policy {
            length(&mut errors, "policy", p, 1, 2048, false);
        }
        let duration = req
            .get("DurationSeconds")
            .and_then(|v| duration_seconds(&mut errors, v));
        if !errors.is_empty() {
            return Err(StsError::Validation(errors));
        }
        if let Some(p) = policy
            && serde_json::from_str::<serde_json::Value>(p)
                .map(|v| !v.is_object())
                .unwrap_or(true)
        {
            return Err(StsError::MalformedPolicy);
        }
        Ok(Self {
            role_arn: role_arn.unwrap_or_default().to_owned(),
            role_session_name: session.unwrap_or_default().to_owned(),
            web_identity_token: token.unwrap_or_default().to_owned(),
            duration_seconds: duration,
            policy: policy.map(str::to_owned),
            policy_arns,
        })
    }
}

/// DurationSeconds, 900..=43200. A whole number outside that range, however large or
/// negative (even beyond 64 bits), fails the range constraint and is echoed as sent; text
/// that is no whole number at all (`1e3`, `900.0`, `abc`, empty) "must be a number".
fn duration_seconds(errors: &mut Vec<String>, v: &str) -> Option<u32> {
    const MIN: i64 = 900;
    const MAX: i64 = 43200;
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(format!(
            "Value '{v}' at 'durationSeconds' failed to satisfy constraint: Member must be a number"
        ));
        return None;
    }
    // Beyond i64 the sign alone decides which bound fails.
    let value = v.parse::<i64>().unwrap_or(if v.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    });
    if value < MIN {
        errors.push(format!("Value '{v}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {MIN}"));
        None
    } else if value > MAX {
        errors.push(format!("Value '{v}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {MAX}"));
        None
    } else {
        u32::try_from(value).ok()
    }
}

impl QueryRequest {
    /// The values of `name.member.N<suffix>` in index order, visiting only the parameters
    /// present (an index that does not parse as a number is not a member).
    fn indexed_members(&self, name: &str, suffix: &str) -> Vec<&str> {
        let prefix = format!("{name}.member.");
        let mut members: Vec<(u128, &str)> = self
            .params()
            .filter_map(|(k, v)| {
                let index = k.strip_prefix(&prefix)?.strip_suffix(suffix)?;
                Some((index.parse().ok()?, v))
            })
            .collect();
        members.sort_by_key(|(index, _)| *index);
        members.into_iter().map(|(_, v)| v).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(params: &[(&str, &str)]) -> Result<AssumeRoleWithWebIdentityInput, StsError> {
        AssumeRoleWithWebIdentityInput::from_query(&QueryRequest::new(
            "AssumeRoleWithWebIdentity",
            params.iter().copied(),
        ))
    }

    const ARN: &str = "arn:aws:iam::111122223333:role/r";

    #[test]
    fn aws_worded_constraints() {
        let e = input(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", "abcd"),
            ("DurationSeconds", "86400"),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value '86400' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
        );
        let e = input(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", "abcd"),
            ("DurationSeconds", "899"),
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .ends_with("Member must have value greater than or equal to 900")
        );
        let e = input(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "bad name"),
            ("WebIdentityToken", "abcd"),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        );
        let e = input(&[("RoleArn", ARN), ("WebIdentityToken", "abcd")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"
        );
        let e = input(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", "abc"),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"
        );
        let long = "a".repeat(20001);
        let e = input(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", &long),
        ])
        .unwrap_err();
        assert!(e.to_string().ends_with("Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000"));
        assert!(!e.to_string().contains("aaaa"), "the token is never echoed");
        let e = input(&[]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("3 validation errors detected: Value null at 'roleArn'"),
            "{e}"
        );
        let e = input(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", "abcd"),
            ("Policy", "{not json"),
        ])
        .unwrap_err();
        assert_eq!(e.code(), "MalformedPolicyDocument");
    }

    fn duration_error(value: &str) -> String {
        input(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", "abcd"),
            ("DurationSeconds", value),
        ])
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn duration_seconds_at_any_magnitude_fails_the_right_constraint() {
        for (value, constraint) in [
            ("43201", "less than or equal to 43200"),
            ("9223372036854775808", "less than or equal to 43200"),
            (
                "99999999999999999999999999999999",
                "less than or equal to 43200",
            ),
            ("-1", "greater than or equal to 900"),
            ("-9223372036854775809", "greater than or equal to 900"),
        ] {
            assert_eq!(
                duration_error(value),
                format!(
                    "1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint: Member must have value {constraint}"
                )
            );
        }
        for value in ["1e3", "900.0", "abc", "", "-", "0x384", " 900"] {
            assert_eq!(
                duration_error(value),
                format!(
                    "1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint: Member must be a number"
                )
            );
        }
    }

    #[test]
    fn policy_arn_members_are_read_by_the_indexes_present() {
        let ok = input(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", "abcd"),
            (
                "PolicyArns.member.18446744073709551615.arn",
                "arn:aws:iam::aws:policy/B",
            ),
            ("PolicyArns.member.2.arn", "arn:aws:iam::aws:policy/A"),
            ("PolicyArns.member.x.arn", "arn:aws:iam::aws:policy/ignored"),
        ])
        .unwrap();
        assert_eq!(
            ok.policy_arns,
            vec!["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"]
        );
    }

    #[test]
    fn accepts_valid_input() {
        let ok = input(&[
            ("RoleArn", ARN),
            ("RoleSessionName", "botocore-session-1700000000"),
            ("WebIdentityToken", "a.b.c"),
            ("DurationSeconds", "900"),
            (
                "PolicyArns.member.1.arn",
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
            ),
        ])
        .unwrap();
        assert_eq!(ok.duration_seconds, Some(900));
        assert_eq!(
            ok.policy_arns,
            vec!["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        );
    }
}
