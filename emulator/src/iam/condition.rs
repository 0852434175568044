//! IAM condition operators, as they apply to the string-valued claims of a web identity.
//!
//! Semantics (IAM user guide, "Condition operators" and "Single-valued vs multivalued"):
//! - several values under one key: OR; several keys or operators: AND;
//! - a missing key: positive operators are false, negated ones (`StringNot*`) true,
//!   `...IfExists` true;
//! - `ForAnyValue:` needs one context value to match (false when the key is missing);
//!   `ForAllValues:` needs every context value to match (vacuously true when missing);
//! - a plain operator on a multi-valued key (an `aud` array) matches when any value does
//!   (negated: when none does). AWS advises set operators for such keys; this is the
//!   lenient reading, documented here because AWS does not spell it out.

/// How the condition's values are compared to one context value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Equals,
    EqualsIgnoreCase,
    Like,
}

/// A parsed operator such as `ForAnyValue:StringLikeIfExists`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    compare: Compare,
    negated: bool,
    if_exists: bool,
    set: Option<SetOp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    AnyValue,
    AllValues,
}

impl Operator {
    /// Parses an operator name (case-sensitive, as IAM is). Unsupported operators are an
    /// error naming them, so a policy never silently passes.
    pub fn parse(name: &str) -> Result<Self, String> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOp::AnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetOp::AllValues), rest)
        } else {
            (None, name)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let (compare, negated) = match base {
            "StringEquals" => (Compare::Equals, false),
            "StringNotEquals" => (Compare::Equals, true),
            "StringEqualsIgnoreCase" => (Compare::EqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Compare::EqualsIgnoreCase, true),
            "StringLike" => (Compare::Like, false),
            "StringNotLike" => (Compare::Like, true),
            _ => {
                return Err(format!(
                    "condition operator {name:?} is not supported for web-identity claims"
                ));
            }
        };
        Ok(Self {
            compare,
            negated,
            if_exists,
            set,
        })
    }

    /// Parses an operator of a resource policy (a bucket policy): the string operators,
    /// plus `ArnEquals`/`ArnLike` (IAM documents both as wildcard matches, so they are
    /// `StringLike` here), their negations, and `Bool` (compared case-insensitively).
    pub fn parse_for_resource_policy(name: &str) -> Result<Self, String> {
        let (prefix, rest) = match name.split_once(':') {
            Some((set, rest)) => (format!("{set}:"), rest),
            None => (String::new(), name),
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, "IfExists"),
            None => (rest, ""),
        };
        let mapped = match base {
            "ArnEquals" | "ArnLike" => "StringLike",
            "ArnNotEquals" | "ArnNotLike" => "StringNotLike",
            "Bool" => "StringEqualsIgnoreCase",
            other => other,
        };
        Self::parse(&format!("{prefix}{mapped}{if_exists}"))
            .map_err(|_| format!("condition operator {name:?} is not supported"))
    }

    fn one(&self, pattern: &str, value: &str) -> bool {
        match self.compare {
            Compare::Equals => pattern == value,
            Compare::EqualsIgnoreCase => pattern.eq_ignore_ascii_case(value),
            Compare::Like => like(pattern, value),
        }
    }

    /// Whether the context value matches any of the condition's values, with negation.
    fn value_matches(&self, patterns: &[String], value: &str) -> bool {
        let hit = patterns.iter().any(|p| self.one(p, value));
        hit != self.negated
    }

    /// Evaluates the operator for one key: `context` is `None` when the request has no
    /// such key.
    pub fn evaluate(&self, patterns: &[String], context: Option<&[String]>) -> bool {
        let values = match context {
            Some(values) if !values.is_empty() => values,
            _ => {
                return match self.set {
                    Some(SetOp::AllValues) => true,
                    Some(SetOp::AnyValue) => false,
                    None => self.if_exists || self.negated,
                };
            }
        };
        match self.set {
            Some(SetOp::AllValues) => values.iter().all(|v| self.value_matches(patterns, v)),
            Some(SetOp::AnyValue) => values.iter().any(|v| self.value_matches(patterns, v)),
            None if self.negated => !values
                .iter()
                .any(|v| patterns.iter().any(|p| self.one(p, v))),
            None => values.iter().any(|v| self.value_matches(patterns, v)),
        }
    }
}

/// IAM's `StringLike` wildcards: `*` any run of characters, `?` exactly one.
pub fn like(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    // Iterative matcher with backtracking on the last `*`: linear in practice, no recursion.
    let (mut pi, mut vi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn eval(op: &str, patterns: &[&str], context: Option<&[&str]>) -> bool {
        let ctx = context.map(s);
        Operator::parse(op)
            .unwrap()
            .evaluate(&s(patterns), ctx.as_deref())
    }

    #[test]
    fn wildcards() {
        assert!(like(
            "system:serviceaccount:default:*",
            "system:serviceaccount:default:app"
        ));
        assert!(like(
            "system:serviceaccount:*:app",
            "system:serviceaccount:prod:app"
        ));
        assert!(like("a?c", "abc"));
        assert!(!like("a?c", "ac"));
        assert!(like("*", ""));
        assert!(!like(
            "system:serviceaccount:default:app",
            "system:serviceaccount:default:app2"
        ));
        assert!(like("**a*", "bbbab"));
    }

    #[test]
    fn plain_operators() {
        assert!(eval("StringEquals", &["a", "b"], Some(&["b"])));
        assert!(!eval("StringEquals", &["a"], Some(&["A"])));
        assert!(eval("StringEqualsIgnoreCase", &["a"], Some(&["A"])));
        assert!(eval("StringLike", &["sys*"], Some(&["system"])));
        assert!(!eval("StringNotEquals", &["a"], Some(&["a"])));
        assert!(eval("StringNotEquals", &["a"], Some(&["b"])));
        assert!(!eval("StringNotLike", &["a*"], Some(&["abc"])));
        // Multi-valued context (aud array): any value matching is enough.
        assert!(eval(
            "StringEquals",
            &["sts.amazonaws.com"],
            Some(&["x", "sts.amazonaws.com"])
        ));
        assert!(!eval(
            "StringNotEquals",
            &["sts.amazonaws.com"],
            Some(&["x", "sts.amazonaws.com"])
        ));
    }

    #[test]
    fn missing_keys() {
        assert!(!eval("StringEquals", &["a"], None));
        assert!(!eval("StringLike", &["*"], None));
        assert!(eval("StringNotEquals", &["a"], None));
        assert!(eval("StringEqualsIfExists", &["a"], None));
        assert!(!eval("StringEqualsIfExists", &["a"], Some(&["b"])));
        assert!(
            eval("ForAllValues:StringEquals", &["a"], None),
            "vacuously true"
        );
        assert!(!eval("ForAnyValue:StringEquals", &["a"], None));
    }

    #[test]
    fn set_operators() {
        assert!(eval("ForAnyValue:StringEquals", &["a"], Some(&["x", "a"])));
        assert!(!eval(
            "ForAllValues:StringEquals",
            &["a"],
            Some(&["x", "a"])
        ));
        assert!(eval(
            "ForAllValues:StringEquals",
            &["a", "x"],
            Some(&["x", "a"])
        ));
        assert!(eval(
            "ForAllValues:StringLike",
            &["sts.*"],
            Some(&["sts.amazonaws.com"])
        ));
        assert!(eval(
            "ForAnyValue:StringNotEquals",
            &["a"],
            Some(&["a", "b"])
        ));
        assert!(!eval(
            "ForAllValues:StringNotEquals",
            &["a"],
            Some(&["a", "b"])
        ));
    }

    #[test]
    fn arn_and_bool_operators_for_resource_policies() {
        let arn = "arn:aws:cloudfront::111122223333:distribution/E1";
        let like = Operator::parse_for_resource_policy("ArnLike").unwrap();
        assert!(like.evaluate(
            &s(&["arn:aws:cloudfront::*:distribution/E1"]),
            Some(&s(&[arn]))
        ));
        let equals = Operator::parse_for_resource_policy("ArnEquals").unwrap();
        assert!(!equals.evaluate(
            &s(&["arn:aws:cloudfront::111122223333:distribution/E2"]),
            Some(&s(&[arn]))
        ));
        let not_like = Operator::parse_for_resource_policy("ArnNotLike").unwrap();
        assert!(not_like.evaluate(
            &s(&["arn:aws:cloudfront::*:distribution/E2"]),
            Some(&s(&[arn]))
        ));
        let boolean = Operator::parse_for_resource_policy("Bool").unwrap();
        assert!(boolean.evaluate(&s(&["false"]), Some(&s(&["False"]))));
        assert!(Operator::parse_for_resource_policy("NumericLessThan").is_err());
        // Trust policies keep IAM's web-identity operators only.
        assert!(Operator::parse("ArnLike").is_err());
    }

    #[test]
    fn unsupported_operators_are_errors() {
        assert!(Operator::parse("NumericEquals").is_err());
        assert!(Operator::parse("stringequals").is_err());
        assert!(Operator::parse("ForSomeValues:StringEquals").is_err());
    }
}
