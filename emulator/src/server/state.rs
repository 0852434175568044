//! The state file `irsa-lab serve --state FILE` preloads: account, OIDC providers, roles,
//! buckets with their objects, and issuer mappings. YAML or JSON, camelCase keys, unknown
//! keys rejected (a typo must not silently drop a role). It is only read: nothing the
//! emulator issues (credentials, their sealing key) is written back or persisted.
//!
//! ```yaml
//! accountId: "111122223333"
//! oidcProviders:
//!   - url: https://s3.us-east-1.amazonaws.com/oidc-test
//!     clientIds: [sts.amazonaws.com]
//! roles:
//!   - name: s3-reader
//!     trustPolicy: {Version: "2012-10-17", Statement: [...]}   # or the `trust` shorthand
//!     # trust: {provider: https://s3.us-east-1.amazonaws.com/oidc-test, sub: "system:serviceaccount:default:app"}
//! bucketDefaults: legacy               # new buckets as before 2023 (ACLs work); default `current`
//! buckets:
//!   - name: oidc-test
//!     # objectOwnership: BucketOwnerEnforced, publicAccessBlock: {blockPublicAcls: true, ...},
//!     # policy: {Version: "2012-10-17", Statement: [...]}   (override the defaults per bucket)
//!     objects:
//!       - key: .well-known/openid-configuration
//!         file: discovery.json          # relative to the state file; or `content: "..."`
//!         acl: public-read
//! issuerMappings:
//!   - prefix: https://oidc.example.com
//!     target: https://127.0.0.1:6443
//!     caFile: ca.crt
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::emulator::{Emulator, EmulatorConfig};
use crate::s3::{Acl, ObjectOwnership, PublicAccessBlock};

/// Why a state file could not be used. Every message names the file and the entry.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {what}: {message}")]
    Invalid {
        path: PathBuf,
        what: String,
        message: String,
    },
}

/// A parsed state file, with the directory its relative paths resolve against.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    state: State,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct State {
    account_id: Option<String>,
    #[serde(default)]
    oidc_providers: Vec<ProviderEntry>,
    #[serde(default)]
    roles: Vec<RoleEntry>,
    #[serde(default)]
    buckets: Vec<BucketEntry>,
    #[serde(default)]
    issuer_mappings: Vec<MappingEntry>,
    /// `current` (S3 since 2023: ACLs disabled, Block Public Access on) or `legacy`.
    #[serde(default)]
    bucket_defaults: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProviderEntry {
    url: String,
    client_ids: Vec<String>,
    #[serde(default)]
    thumbprints: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoleEntry {
    name: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    trust_policy: Option<serde_json::Value>,
    #[serde(default)]
    trust: Option<TrustShorthand>,
    #[serde(default)]
    max_session_duration: Option<u32>,
}

/// The usual IRSA trust policy in three lines: Federated = the provider's ARN,
/// `StringEquals` on `<provider>:sub` and `<provider>:aud`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TrustShorthand {
    /// Provider URL; defaults to the only provider in the file.
    provider: Option<String>,
    sub: Option<String>,
    aud: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BucketEntry {
    name: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    object_ownership: Option<String>,
    #[serde(default)]
    public_access_block: Option<PublicAccessBlockEntry>,
    #[serde(default)]
    policy: Option<serde_json::Value>,
    #[serde(default)]
    objects: Vec<ObjectEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PublicAccessBlockEntry {
    #[serde(default)]
    block_public_acls: bool,
    #[serde(default)]
    ignore_public_acls: bool,
    #[serde(default)]
    block_public_policy: bool,
    #[serde(default)]
    restrict_public_buckets: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ObjectEntry {
    key: String,
    file: Option<PathBuf>,
    content: Option<String>,
    #[serde(default)]
    acl: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MappingEntry {
    prefix: String,
    target: String,
    ca_file: Option<PathBuf>,
}

impl StateFile {
    /// Reads and parses `path` (YAML, which also accepts JSON).
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` as if read from `path` (relative `file:` entries resolve next to it).
    pub fn parse(path: &Path, text: &str) -> Result<Self, StateError> {
        let state: State = if text.trim().is_empty() {
            State::default()
        } else {
            serde_norway::from_str(text).map_err(|e| StateError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?
        };
        Ok(Self {
            path: path.to_owned(),
            state,
        })
    }

    fn invalid(&self, what: impl Into<String>, message: impl ToString) -> StateError {
        StateError::Invalid {
            path: self.path.clone(),
            what: what.into(),
            message: message.to_string(),
        }
    }

    fn resolve(&self, file: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file.to_owned(),
        }
    }

    /// Applies the settings that must exist before the emulator is built: account id and
    /// issuer mappings.
    pub fn configure(&self, config: &mut EmulatorConfig) -> Result<(), StateError> {
        if let Some(account) = &self.state.account_id {
            config.account_id = account.clone();
        }
        if let Some(defaults) = &self.state.bucket_defaults {
            config.s3_bucket_defaults = defaults
                .parse()
                .map_err(|e| self.invalid("bucketDefaults", e))?;
        }
        for mapping in &self.state.issuer_mappings {
            let what = format!("issuerMappings[{}]", mapping.prefix);
            let ca = match &mapping.ca_file {
                Some(file) => {
                    let file = self.resolve(file);
                    Some(
                        std::fs::read_to_string(&file)
                            .map_err(|e| self.invalid(&what, format!("{}: {e}", file.display())))?,
                    )
                }
                None => None,
            };
            config
                .routes
                .add_mapping(&mapping.prefix, &mapping.target, ca.as_deref())
                .map_err(|e| self.invalid(&what, e))?;
        }
        Ok(())
    }

    /// Creates the providers, roles, buckets and objects the file lists.
    pub fn apply(&self, emulator: &Emulator) -> Result<(), StateError> {
        let iam = emulator.iam();
        for p in &self.state.oidc_providers {
            iam.create_provider(&p.url, &p.client_ids, &p.thumbprints)
                .map_err(|e| self.invalid(format!("oidcProviders[{}]", p.url), e))?;
        }
        for role in &self.state.roles {
            let what = format!("roles[{}]", role.name);
            let policy = match (&role.trust_policy, &role.trust) {
                (Some(doc), None) => doc.to_string(),
                (None, Some(short)) => self
                    .shorthand_policy(emulator, short)
                    .map_err(|m| self.invalid(&what, m))?,
                (Some(_), Some(_)) => {
                    return Err(self.invalid(&what, "give trustPolicy or trust, not both"));
                }
                (None, None) => {
                    return Err(self.invalid(
                        &what,
                        "a role needs trustPolicy (a policy document) or trust (the shorthand)",
                    ));
                }
            };
            iam.create_role(
                &role.name,
                role.path.as_deref(),
                &policy,
                role.max_session_duration,
            )
            .map_err(|e| self.invalid(&what, e))?;
        }
        let s3 = emulator.s3();
        for bucket in &self.state.buckets {
            let what = format!("buckets[{}]", bucket.name);
            s3.create_bucket(&bucket.name, bucket.region.as_deref())
                .map_err(|e| self.invalid(&what, e))?;
            if let Some(ownership) = &bucket.object_ownership {
                let ownership: ObjectOwnership =
                    ownership.parse().map_err(|e| self.invalid(&what, e))?;
                s3.set_ownership(&bucket.name, Some(ownership))
                    .map_err(|e| self.invalid(&what, e))?;
            }
            if let Some(block) = &bucket.public_access_block {
                let block = PublicAccessBlock {
                    block_public_acls: block.block_public_acls,
                    ignore_public_acls: block.ignore_public_acls,
                    block_public_policy: block.block_public_policy,
                    restrict_public_buckets: block.restrict_public_buckets,
                };
                s3.set_public_access_block(&bucket.name, Some(block))
                    .map_err(|e| self.invalid(&what, e))?;
            }
            if let Some(policy) = &bucket.policy {
                let text = match policy {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                s3.put_policy(&bucket.name, &text).map_err(|e| {
                    self.invalid(format!("{what}.policy"), format!("{} ({e})", e.code()))
                })?;
            }
            for object in &bucket.objects {
                let what = format!("buckets[{}].objects[{}]", bucket.name, object.key);
                let bytes = match (&object.file, &object.content) {
                    (Some(file), None) => {
                        let file = self.resolve(file);
                        std::fs::read(&file)
                            .map_err(|e| self.invalid(&what, format!("{}: {e}", file.display())))?
                    }
                    (None, Some(content)) => content.clone().into_bytes(),
                    _ => return Err(self.invalid(&what, "give exactly one of file or content")),
                };
                let acl = match object.acl.as_deref() {
                    None | Some("private") => Acl::Private,
                    Some("public-read") => Acl::PublicRead,
                    Some(other) => {
                        return Err(self.invalid(
                            &what,
                            format!("acl {other:?}: expected private or public-read"),
                        ));
                    }
                };
                // The same rule as an upload through the API: a bucket with ACLs disabled
                // or BlockPublicAcls refuses the ACL, rather than silently ignoring it.
                if let Some(canned) = object.acl.as_deref() {
                    s3.check_acl(&bucket.name, Some(canned)).map_err(|e| {
                        self.invalid(
                            &what,
                            format!(
                                "acl {canned}: {} ({e}); the bucket has S3's current defaults: set `bucketDefaults: legacy`, or the bucket's objectOwnership/publicAccessBlock, or grant reads with a policy",
                                e.code()
                            ),
                        )
                    })?;
                }
                s3.put_object(
                    &bucket.name,
                    &object.key,
                    bytes.into(),
                    object.content_type.as_deref(),
                    acl,
                )
                .map_err(|e| self.invalid(&what, e))?;
            }
        }
        Ok(())
    }

    fn shorthand_policy(
        &self,
        emulator: &Emulator,
        short: &TrustShorthand,
    ) -> Result<String, String> {
        let url = match (&short.provider, self.state.oidc_providers.as_slice()) {
            (Some(url), _) => url.clone(),
            (None, [only]) => only.url.clone(),
            (None, _) => {
                return Err(
                    "trust.provider is required when the file lists other than one provider".into(),
                );
            }
        };
        let key = url.strip_prefix("https://").unwrap_or(&url).to_owned();
        let arn = format!(
            "arn:aws:iam::{}:oidc-provider/{key}",
            emulator.iam().account_id()
        );
        let mut conditions = serde_json::Map::new();
        if let Some(sub) = &short.sub {
            conditions.insert(format!("{key}:sub"), sub.clone().into());
        }
        if let Some(aud) = &short.aud {
            conditions.insert(format!("{key}:aud"), aud.clone().into());
        }
        let mut statement = serde_json::json!({
            "Effect": "Allow",
            "Principal": {"Federated": arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
        });
        if !conditions.is_empty() {
            statement["Condition"] = serde_json::json!({"StringEquals": conditions});
        }
        Ok(serde_json::json!({"Version": "2012-10-17", "Statement": [statement]}).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected_with_the_file_name() {
        let err = StateFile::parse(Path::new("state.yaml"), "rolez: []\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("state.yaml: "), "{text}");
        assert!(text.contains("rolez"), "{text}");
    }

    #[test]
    fn empty_file_is_an_empty_state() {
        let state = StateFile::parse(Path::new("s.yaml"), "").unwrap();
        assert!(state.state.roles.is_empty());
    }
}
