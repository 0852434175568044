//! The apiserver's service-account configuration at one moment of a scenario: the setup's
//! `cluster`, then every `setCluster` and `upgradeCluster` applied in order. Every backend
//! starts (and restarts) its apiserver from this value.

use std::collections::BTreeMap;

use irsa_emulator::issuer::{JwkSet, KidMode, PrivateKey, PublicKey, jwks};

use super::keys::pooled;
use crate::scenario::model::{Cluster, KeySpec};
use crate::scenario::steps::SetCluster;
use crate::scenario::validate::parse_version;

/// The flags and key material of the apiserver.
#[derive(Clone)]
pub struct ClusterState {
    pub version: (u32, u32),
    pub issuers: Vec<String>,
    /// By name, in definition order of their slot.
    pub keys: BTreeMap<String, PrivateKey>,
    /// Kids given in the scenario (`keys[].kid`) in place of the derived ones, by key name.
    pub kid_overrides: BTreeMap<String, String>,
    pub signing_key: String,
    pub verification_keys: Vec<String>,
    pub api_audiences: Option<Vec<String>>,
    pub jwks_uri: Option<String>,
    pub max_token_expiration: Option<i64>,
    pub extend_token_expiration: bool,
    pub anonymous_discovery: bool,
    /// The apiserver's clock minus the true (virtual) time, in seconds.
    pub clock_offset: i64,
    slots: BTreeMap<crate::scenario::model::KeyAlgorithmSpec, usize>,
}

impl std::fmt::Debug for ClusterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterState")
            .field("version", &self.version)
            .field("issuers", &self.issuers)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("signing_key", &self.signing_key)
            .finish_non_exhaustive()
    }
}

impl ClusterState {
    /// The starting state. `cluster` has been validated (names and version exist).
    pub fn new(cluster: &Cluster) -> Self {
        let mut state = Self {
            version: parse_version(&cluster.version).unwrap_or((1, 34)),
            issuers: cluster.issuers.clone(),
            keys: BTreeMap::new(),
            kid_overrides: BTreeMap::new(),
            signing_key: String::new(),
            verification_keys: Vec::new(),
            api_audiences: cluster.api_audiences.clone(),
            jwks_uri: cluster.jwks_uri.clone(),
            max_token_expiration: cluster.max_token_expiration.map(|d| d.secs()),
            extend_token_expiration: cluster.extend_token_expiration,
            anonymous_discovery: cluster.anonymous_discovery,
            clock_offset: cluster.clock_ahead.map(|d| d.secs()).unwrap_or(0)
                - cluster.clock_behind.map(|d| d.secs()).unwrap_or(0),
            slots: BTreeMap::new(),
        };
        for key in &cluster.keys {
            state.add_key(key);
        }
        state.signing_key = cluster
            .signing_key
            .clone()
            .or_else(|| cluster.keys.first().map(|k| k.name.clone()))
            .unwrap_or_default();
        state.verification_keys = cluster
            .verification_keys
            .clone()
            .unwrap_or_else(|| cluster.keys.iter().map(|k| k.name.clone()).collect());
        state
    }

    fn add_key(&mut self, key: &KeySpec) {
        let slot = self.slots.entry(key.algorithm).or_insert(0);
        self.keys
            .insert(key.name.clone(), pooled(key.algorithm, *slot));
        *slot += 1;
        if let Some(kid) = &key.kid {
            self.kid_overrides.insert(key.name.clone(), kid.clone());
        }
    }

    /// Applies a `setCluster` step.
    pub fn apply(&mut self, change: &SetCluster) {
        for key in &change.add_keys {
            self.add_key(key);
        }
        if let Some(signer) = &change.signing_key {
            self.signing_key = signer.clone();
        }
        if let Some(keys) = &change.verification_keys {
            self.verification_keys = keys.clone();
        }
        if let Some(issuers) = &change.issuers {
            self.issuers = issuers.clone();
        }
        if let Some(audiences) = &change.api_audiences {
            self.api_audiences = Some(audiences.clone());
        }
        if let Some(uri) = &change.jwks_uri {
            self.jwks_uri = Some(uri.clone());
        }
        if let Some(max) = change.max_token_expiration {
            self.max_token_expiration = Some(max.secs());
        }
        if let Some(extend) = change.extend_token_expiration {
            self.extend_token_expiration = extend;
        }
        if let Some(anonymous) = change.anonymous_discovery {
            self.anonymous_discovery = anonymous;
        }
        if let Some(ahead) = change.clock_ahead {
            self.clock_offset = ahead.secs();
        }
        if let Some(behind) = change.clock_behind {
            self.clock_offset = -behind.secs();
        }
    }

    /// The private key that signs.
    pub fn signer(&self) -> &PrivateKey {
        &self.keys[&self.signing_key]
    }

    /// Public keys of `--service-account-key-file`, in the order given.
    pub fn verification_public_keys(&self) -> Vec<PublicKey> {
        self.verification_keys
            .iter()
            .filter_map(|name| self.keys.get(name))
            .map(PrivateKey::public_key)
            .collect()
    }

    /// Public keys by name, for `publish.keys`.
    pub fn public_keys(&self, names: &[String]) -> Vec<PublicKey> {
        names
            .iter()
            .filter_map(|name| self.keys.get(name))
            .map(PrivateKey::public_key)
            .collect()
    }

    /// The kid of key `name`: the scenario's, else the one kube-apiserver derives.
    pub fn kid_of(&self, name: &str) -> Option<String> {
        self.kid_overrides
            .get(name)
            .cloned()
            .or_else(|| self.keys.get(name).map(|k| k.public_key().kid()))
    }

    /// The kid the signing key's tokens carry when it is not the derived one.
    pub fn signing_kid_override(&self) -> Option<&str> {
        self.kid_overrides
            .get(&self.signing_key)
            .map(String::as_str)
    }

    /// The JWKS listing keys `names` in order, each under its kid (see [`Self::kid_of`]).
    pub fn jwks_for(&self, names: &[String], with_empty_kid: bool) -> JwkSet {
        let named: Vec<(&String, PublicKey)> = names
            .iter()
            .filter_map(|name| self.keys.get(name).map(|k| (name, k.public_key())))
            .collect();
        let keys: Vec<PublicKey> = named.iter().map(|(_, k)| k.clone()).collect();
        let mut set = jwks(&keys, with_empty_kid);
        for ((name, _), jwk) in named.iter().zip(set.keys.iter_mut()) {
            if let Some(kid) = self.kid_overrides.get(*name) {
                jwk.kid = Some(kid.clone());
            }
        }
        set
    }

    /// `--api-audiences`, defaulting to the issuers.
    pub fn api_audiences(&self) -> Vec<String> {
        self.api_audiences
            .clone()
            .unwrap_or_else(|| self.issuers.clone())
    }

    /// Tokens carry a `kid` from 1.16 (kubernetes PR 78502).
    pub fn kid_mode(&self) -> KidMode {
        if self.version < (1, 16) {
            KidMode::Omitted
        } else {
            KidMode::Sha256
        }
    }

    /// `jti` is set from 1.30 (beta, on by default).
    pub fn has_jti(&self) -> bool {
        self.version >= (1, 30)
    }

    /// The `node` claim beside `pod`, from 1.32.
    pub fn has_node_claim(&self) -> bool {
        self.version >= (1, 32)
    }

    /// kid → key name, for the transcript's redaction.
    pub fn kid_names(&self) -> Vec<(String, String)> {
        self.keys
            .iter()
            .map(|(name, key)| {
                let kid = self
                    .kid_overrides
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| key.public_key().kid());
                (kid, name.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::KeyAlgorithmSpec;

    #[test]
    fn a_kid_given_in_the_scenario_names_the_key_everywhere() {
        let cluster = Cluster {
            keys: vec![
                KeySpec {
                    name: "customer".into(),
                    algorithm: KeyAlgorithmSpec::EcP256,
                    kid: Some("their-kid".into()),
                },
                KeySpec {
                    name: "plain".into(),
                    algorithm: KeyAlgorithmSpec::EcP256,
                    kid: None,
                },
            ],
            ..Cluster::default()
        };
        let state = ClusterState::new(&cluster);
        let derived = state.keys["plain"].public_key().kid();
        assert_eq!(state.kid_of("customer").as_deref(), Some("their-kid"));
        assert_eq!(state.kid_of("plain"), Some(derived.clone()));
        assert_eq!(state.signing_kid_override(), Some("their-kid"));
        let names: Vec<String> = ["plain", "customer"].map(String::from).to_vec();
        let kids: Vec<Option<String>> = state
            .jwks_for(&names, true)
            .keys
            .into_iter()
            .map(|k| k.kid)
            .collect();
        // In the order asked, and the empty-kid copy of the first key last.
        assert_eq!(
            kids,
            [
                Some(derived.clone()),
                Some("their-kid".into()),
                Some(String::new())
            ]
        );
        assert!(
            state
                .kid_names()
                .contains(&("their-kid".into(), "customer".into()))
        );
    }
}
