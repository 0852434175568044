//! Role trust policies, evaluated for `sts:AssumeRoleWithWebIdentity`.

use serde_json::Value;

use super::condition::{Operator, like};

/// A parsed trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    label: String,
    allow: bool,
    principal: Principal,
    actions: Vec<String>,
    not_action: bool,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    Anyone,
    Federated(Vec<String>),
    /// `AWS` or `Service` principals: valid in a trust policy, never a web identity.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    operator_name: String,
    operator: Operator,
    key: String,
    values: Vec<String>,
}

/// What is being asked, as a trust policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentityContext {
    /// `arn:aws:iam::<account>:oidc-provider/<url without https://>`.
    pub provider_arn: String,
    /// The provider URL without `https://`: the prefix of its condition keys.
    pub provider_key: String,
    /// `sts:AssumeRoleWithWebIdentity`, plus `sts:TagSession` when the token has tags.
    pub actions: Vec<String>,
    /// Claim values by condition-key suffix (`aud`, `sub`, `amr`, `azp`, `oaud`).
    pub claims: Vec<(String, Vec<String>)>,
}

impl WebIdentityContext {
    fn value(&self, key: &str) -> Option<&[String]> {
        let (prefix, claim) = key.rsplit_once(':')?;
        if !prefix.eq_ignore_ascii_case(&self.provider_key) {
            return None;
        }
        self.claims
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(claim))
            .map(|(_, v)| v.as_slice())
    }
}

/// The outcome, with the reason spelled out for logs (AWS itself only ever says
/// "Not authorized to perform sts:AssumeRoleWithWebIdentity").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!(
            "{what} must be a string or a list of strings, not {other}"
        )),
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        v => Ok(vec![one(v)?]),
    }
}

impl PolicyDocument {
    /// Parses a policy document. Errors name the problem; IAM answers them with
    /// `MalformedPolicyDocument`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| format!("This policy contains invalid Json: {e}"))?;
        let obj = doc.as_object().ok_or("The policy must be a JSON object")?;
        if let Some(version) = obj.get("Version").and_then(Value::as_str)
            && version != "2012-10-17"
            && version != "2008-10-17"
        {
            return Err(format!(
                "The policy must contain a valid version string, not {version:?}"
            ));
        }
        let statements = match obj.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => return Err("Missing required field Statement".into()),
        };
        if statements.is_empty() {
            return Err("Missing required field Statement".into());
        }
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| parse_statement(i, s))
            .collect::<Result<_, _>>()?;
        Ok(Self { statements })
    }

    /// Whether the request in `ctx` may assume the role.
    pub fn evaluate(&self, ctx: &WebIdentityContext) -> Decision {
        let mut reasons = Vec::new();
        for action in &ctx.actions {
            let mut allowed_by = None;
            for statement in &self.statements {
                match statement.applies(ctx, action) {
                    Ok(()) if !statement.allow => {
                        return Decision {
                            allowed: false,
                            reason: format!("{} explicitly denies {action}", statement.label),
                        };
                    }
                    Ok(()) => allowed_by = allowed_by.or(Some(statement.label.clone())),
                    Err(why) => reasons.push(format!("{}: {why}", statement.label)),
                }
            }
            if allowed_by.is_none() {
                return Decision {
                    allowed: false,
                    reason: format!("no statement allows {action}: {}", reasons.join("; ")),
                };
            }
        }
        Decision {
            allowed: true,
            reason: "allowed".into(),
        }
    }
}

fn parse_statement(index: usize, value: &Value) -> Result<Statement, String> {
    let obj = value
        .as_object()
        .ok_or(format!("Statement {index} must be an object"))?;
    let label = match obj.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => format!("statement {sid:?}"),
        _ => format!("statement {index}"),
    };
    let allow = match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow") => true,
        Some("Deny") => false,
        _ => return Err(format!("{label}: Effect must be Allow or Deny")),
    };
    if obj.contains_key("NotPrincipal") {
        return Err(format!(
            "{label}: NotPrincipal is not supported in trust policies here"
        ));
    }
    let principal = match obj.get("Principal") {
        Some(Value::String(s)) if s == "*" => Principal::Anyone,
        Some(Value::Object(map)) => {
            if let Some(federated) = map.get("Federated") {
                Principal::Federated(strings(federated, "Principal.Federated")?)
            } else if map
                .keys()
                .all(|k| k == "AWS" || k == "Service" || k == "CanonicalUser")
                && !map.is_empty()
            {
                Principal::Other
            } else {
                return Err(format!("{label}: Invalid principal in policy"));
            }
        }
        _ => return Err(format!("{label}: Missing required field Principal")),
    };
    let (actions, not_action) = match (obj.get("Action"), obj.get("NotAction")) {
        (Some(a), None) => (strings(a, "Action")?, false),
        (None, Some(a)) => (strings(a, "NotAction")?, true),
        _ => return Err(format!("{label}: give exactly one of Action or NotAction")),
    };
    let mut conditions = Vec::new();
    if let Some(block) = obj.get("Condition") {
        let block = block
            .as_object()
            .ok_or(format!("{label}: Condition must be an object"))?;
        for (operator_name, keys) in block {
            let operator = Operator::parse(operator_name).map_err(|e| format!("{label}: {e}"))?;
            let keys = keys.as_object().ok_or(format!(
                "{label}: {operator_name} must map condition keys to values"
            ))?;
            for (key, values) in keys {
                let values = strings(values, &format!("{operator_name}.{key}"))
                    .map_err(|e| format!("{label}: {e}"))?;
                conditions.push(Condition {
                    operator_name: operator_name.clone(),
                    operator: operator.clone(),
                    key: key.clone(),
                    values,
                });
            }
        }
    }
    Ok(Statement {
        label,
        allow,
        principal,
        actions,
        not_action,
        conditions,
    })
}

impl Statement {
    /// `Ok` when the statement matches the request; `Err(why not)` otherwise.
    fn applies(&self, ctx: &WebIdentityContext, action: &str) -> Result<(), String> {
        match &self.principal {
            Principal::Anyone => {}
            Principal::Federated(arns) if arns.iter().any(|a| a == &ctx.provider_arn) => {}
            Principal::Federated(arns) => {
                return Err(format!("principal {arns:?} is not {}", ctx.provider_arn));
            }
            Principal::Other => return Err("principal is not a federated identity provider".into()),
        }
        let action_listed = self
            .actions
            .iter()
            .any(|a| like(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()));
        if action_listed == self.not_action {
            return Err(format!("action {action} is not allowed"));
        }
        for c in &self.conditions {
            let context = ctx.value(&c.key);
            if !c.operator.evaluate(&c.values, context) {
                let got = match context {
                    Some(v) => format!("{v:?}"),
                    None => "no such key in the request".into(),
                };
                return Err(format!(
                    "condition {} {} {:?} failed (request has {got})",
                    c.operator_name, c.key, c.values
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "s3.us-east-1.amazonaws.com/oidc-test";
    const ARN: &str =
        "arn:aws:iam::111122223333:oidc-provider/s3.us-east-1.amazonaws.com/oidc-test";

    fn ctx(sub: &str, aud: &[&str]) -> WebIdentityContext {
        WebIdentityContext {
            provider_arn: ARN.into(),
            provider_key: KEY.into(),
            actions: vec!["sts:AssumeRoleWithWebIdentity".into()],
            claims: vec![
                ("sub".into(), vec![sub.into()]),
                ("aud".into(), aud.iter().map(|a| a.to_string()).collect()),
            ],
        }
    }

    fn irsa(condition: &str) -> PolicyDocument {
        PolicyDocument::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{ARN}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn the_usual_irsa_policy() {
        let policy = irsa(&format!(
            r#"{{"StringEquals":{{"{KEY}:sub":"system:serviceaccount:default:app","{KEY}:aud":"sts.amazonaws.com"}}}}"#
        ));
        assert!(
            policy
                .evaluate(&ctx(
                    "system:serviceaccount:default:app",
                    &["sts.amazonaws.com"]
                ))
                .allowed
        );
        let denied = policy.evaluate(&ctx(
            "system:serviceaccount:default:other",
            &["sts.amazonaws.com"],
        ));
        assert!(!denied.allowed);
        assert!(denied.reason.contains(":sub"), "{}", denied.reason);
    }

    #[test]
    fn condition_keys_are_case_insensitive_and_like_works() {
        let policy = irsa(&format!(
            r#"{{"StringLike":{{"{}:SUB":"system:serviceaccount:default:*"}}}}"#,
            KEY.to_uppercase()
        ));
        assert!(
            policy
                .evaluate(&ctx("system:serviceaccount:default:anything", &["a"]))
                .allowed
        );
        assert!(
            !policy
                .evaluate(&ctx("system:serviceaccount:prod:x", &["a"]))
                .allowed
        );
    }

    #[test]
    fn wrong_principal_and_action() {
        let other = PolicyDocument::parse(
            r#"{"Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/elsewhere"},"Action":"sts:AssumeRoleWithWebIdentity"}}"#,
        )
        .unwrap();
        assert!(!other.evaluate(&ctx("s", &["a"])).allowed);
        let wildcard_action =
            PolicyDocument::parse(&format!(r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Federated":["{ARN}"]}},"Action":["sts:AssumeRole*"]}}]}}"#)).unwrap();
        assert!(wildcard_action.evaluate(&ctx("s", &["a"])).allowed);
        let assume_role_only =
            PolicyDocument::parse(&format!(r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{ARN}"}},"Action":"sts:AssumeRole"}}]}}"#)).unwrap();
        assert!(!assume_role_only.evaluate(&ctx("s", &["a"])).allowed);
        let service = PolicyDocument::parse(r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#).unwrap();
        assert!(!service.evaluate(&ctx("s", &["a"])).allowed);
    }

    #[test]
    fn tag_session_needs_its_own_permission() {
        let policy = irsa("{}");
        let mut with_tags = ctx("s", &["a"]);
        with_tags.actions.push("sts:TagSession".into());
        assert!(!policy.evaluate(&with_tags).allowed);
    }

    #[test]
    fn explicit_deny_wins() {
        let policy = PolicyDocument::parse(&format!(
            r#"{{"Statement":[
                {{"Effect":"Allow","Principal":{{"Federated":"{ARN}"}},"Action":"sts:AssumeRoleWithWebIdentity"}},
                {{"Sid":"NoKubeSystem","Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{{"StringLike":{{"{KEY}:sub":"system:serviceaccount:kube-system:*"}}}}}}]}}"#
        ))
        .unwrap();
        assert!(
            policy
                .evaluate(&ctx("system:serviceaccount:default:a", &["x"]))
                .allowed
        );
        let denied = policy.evaluate(&ctx("system:serviceaccount:kube-system:a", &["x"]));
        assert!(
            !denied.allowed && denied.reason.contains("NoKubeSystem"),
            "{}",
            denied.reason
        );
    }

    #[test]
    fn malformed_documents_name_the_problem() {
        for (doc, needle) in [
            ("not json", "invalid Json"),
            ("{}", "Statement"),
            (
                r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"x"}]}"#,
                "Effect",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"x"}]}"#,
                "Principal",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*"}]}"#,
                "Action",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"x","Condition":{"NumericLessThan":{"a":"1"}}}]}"#,
                "NumericLessThan",
            ),
            (r#"{"Version":"2099-01-01","Statement":[]}"#, "version"),
        ] {
            let err = PolicyDocument::parse(doc).unwrap_err();
            assert!(err.contains(needle), "{doc}: {err}");
        }
    }
}
