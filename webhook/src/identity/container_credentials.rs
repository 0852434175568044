//! The container-credentials (EKS Pod Identity) file:
//! `{"identities": [{"namespace": "...", "serviceAccount": "..."}]}`.

use std::collections::HashSet;

use serde::Deserialize;

/// Service accounts in container-credentials mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerCredentialsIdentities {
    identities: HashSet<(String, String)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    #[serde(default)]
    identities: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    namespace: String,
    service_account: String,
}

impl ContainerCredentialsIdentities {
    /// Parses the file; empty content means "no identities" (the reference clears its
    /// configuration for a missing or empty file). Malformed content is an error, and the
    /// watcher keeps the previous configuration.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let file: File = serde_json::from_slice(bytes)
            .map_err(|e| format!("container-credentials config is not valid: {e}"))?;
        Ok(Self {
            identities: file
                .identities
                .into_iter()
                .map(|e| (e.namespace, e.service_account))
                .collect(),
        })
    }

    pub fn contains(&self, namespace: &str, service_account: &str) -> bool {
        self.identities
            .contains(&(namespace.to_owned(), service_account.to_owned()))
    }

    pub fn len(&self) -> usize {
        self.identities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let cc = ContainerCredentialsIdentities::parse(
            br#"{"identities":[{"namespace":"apps","serviceAccount":"reader"}]}"#,
        )
        .unwrap();
        assert!(cc.contains("apps", "reader"));
        assert!(!cc.contains("apps", "writer"));
        assert!(
            ContainerCredentialsIdentities::parse(b"  \n")
                .unwrap()
                .is_empty()
        );
        assert!(ContainerCredentialsIdentities::parse(b"{\"identities\": [{}]}").is_err());
        assert!(ContainerCredentialsIdentities::parse(b"not json").is_err());
    }
}
