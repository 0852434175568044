//! What a step must produce. Every field is optional; a step without `expect` must
//! succeed. Strings compare exactly unless they contain `*` (any run of characters) or
//! `?` (one character).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::HumanDuration;

/// The expectations of one step.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// `true`: the step succeeds (the default when `error` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// The step fails with this error (AWS's, S3's or kube's code and message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ExpectedError>,
    /// `assumeRole`: the ARN GetCallerIdentity returns (glob allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assumed_role_arn: Option<String>,
    /// `assumeRole`/`tokenRequest`: claims of the token, by dotted path
    /// (`kubernetes.io.pod.name`); values as YAML. `null` means absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, serde_json::Value>,
    /// `assumeRole`/`tokenRequest`: the token header's `kid` by key name, or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `apply`/`assumeRole`: env of the container (the first, or `container`) of the pod
    /// (the one applied, or `pod`); `null` means the variable is absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Option<String>>,
    /// `apply`: which pod `env`/`volumes`/`mounts` are read from (default: the last pod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// `apply`: which container (default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// `apply`: the pod's volume names, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<String>>,
    /// `apply`: the container's mount paths, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<String>>,
    /// `assumeRole`: the credentials expire this long after the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_expiry: Option<HumanDuration>,
    /// `assumeRole`/`tokenRequest`: the token expires this long after it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime: Option<HumanDuration>,
    /// How many times STS has fetched the issuer's discovery document since the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_fetches: Option<u64>,
}

/// An expected failure.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedError {
    /// `InvalidIdentityToken`, `AccessDenied`, `Forbidden`, ...
    pub code: String,
    /// The exact message, or a glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Glob match: `*` any run, `?` any one character; everything else literal.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn glob_star_and_question_mark() {
        assert!(glob_matches(
            "arn:aws:sts::1:assumed-role/r/*",
            "arn:aws:sts::1:assumed-role/r/s-1"
        ));
        assert!(glob_matches(
            "Couldn't retrieve*",
            "Couldn't retrieve verification key"
        ));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "ac"));
        assert!(!glob_matches("exact", "exactly"));
        assert!(glob_matches("exact", "exact"));
    }
}
