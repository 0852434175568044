//! The `pod-identity-webhook` ConfigMap: `data.config` is JSON
//! `{"ns/name": {"RoleARN", "Audience", "UseRegionalSTS", "TokenExpiration"}}`, with `*` as
//! the only namespace wildcard.

use std::collections::HashMap;

use serde::Deserialize;

/// One ConfigMap entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct ConfigMapEntry {
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
    #[serde(rename = "Audience")]
    pub audience: String,
    #[serde(rename = "UseRegionalSTS")]
    pub use_regional_sts: Option<bool>,
    #[serde(rename = "TokenExpiration")]
    pub token_expiration: Option<i64>,
}

/// Parsed ConfigMap entries by `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigMapIdentities {
    entries: HashMap<String, ConfigMapEntry>,
}

impl ConfigMapIdentities {
    /// Parses `data.config`. Keys without `/` are skipped with a warning (the reference
    /// crashes on them); undecodable JSON yields no entries and a warning.
    pub fn parse(config: &str) -> (Self, Vec<String>) {
        let raw: HashMap<String, ConfigMapEntry> = match serde_json::from_str(config) {
            Ok(raw) => raw,
            Err(e) => {
                return (
                    Self::default(),
                    vec![format!("ConfigMap data.config is not valid JSON: {e}")],
                );
            }
        };
        let mut warnings = Vec::new();
        let mut entries = HashMap::new();
        for (key, entry) in raw {
            match key.split_once('/') {
                Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                    entries.insert(key, entry);
                }
                _ => warnings.push(format!("ConfigMap key {key:?} ignored: expected \"namespace/serviceaccount\" or \"*/serviceaccount\"")),
            }
        }
        (Self { entries }, warnings)
    }

    /// The entry for `namespace/name`, else `*/name`.
    pub fn lookup(&self, namespace: &str, name: &str) -> Option<&ConfigMapEntry> {
        self.entries
            .get(&format!("{namespace}/{name}"))
            .or_else(|| self.entries.get(&format!("*/{name}")))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_namespace_beats_the_wildcard() {
        let (cm, warnings) = ConfigMapIdentities::parse(
            r#"{"default/app": {"RoleARN": "arn:aws:iam::111122223333:role/exact"}, "*/app": {"RoleARN": "arn:aws:iam::111122223333:role/any", "Audience": "custom", "UseRegionalSTS": true, "TokenExpiration": 3600}, "broken": {"RoleARN": "x"}}"#,
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("\"broken\""));
        assert_eq!(
            cm.lookup("default", "app").unwrap().role_arn,
            "arn:aws:iam::111122223333:role/exact"
        );
        let any = cm.lookup("prod", "app").unwrap();
        assert_eq!(
            (
                any.role_arn.as_str(),
                any.audience.as_str(),
                any.use_regional_sts,
                any.token_expiration
            ),
            (
                "arn:aws:iam::111122223333:role/any",
                "custom",
                Some(true),
                Some(3600)
            )
        );
        assert!(cm.lookup("prod", "other").is_none());
    }

    #[test]
    fn invalid_json_is_a_warning_not_a_crash() {
        let (cm, warnings) = ConfigMapIdentities::parse("{not json");
        assert!(cm.is_empty());
        assert_eq!(warnings.len(), 1);
    }
}
