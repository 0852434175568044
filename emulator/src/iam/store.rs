use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rand::Rng;
use time::OffsetDateTime;

use super::arn::parse_role_arn;
use super::errors::IamError;
use super::trust_policy::PolicyDocument;
use crate::clock::SharedClock;

/// An IAM OIDC identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    /// The URL without `https://`, as IAM stores and returns it.
    pub url: String,
    pub arn: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created: OffsetDateTime,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub path: String,
    pub arn: String,
    /// `AROA` + 17 characters.
    pub role_id: String,
    /// The trust policy as submitted (IAM returns it URL-encoded).
    pub trust_policy_json: String,
    pub trust_policy: PolicyDocument,
    pub max_session_duration: u32,
    pub description: Option<String>,
    pub attached_policies: Vec<String>,
    pub created: OffsetDateTime,
    /// The trust policy before the last `UpdateAssumeRolePolicy`, and when it changed:
    /// STS keeps applying it until the change has propagated.
    pub previous_trust_policy: Option<(PolicyDocument, OffsetDateTime)>,
}

#[derive(Debug, Default)]
struct State {
    /// By ARN.
    providers: BTreeMap<String, OidcProvider>,
    /// By name (IAM role names are unique per account, case-insensitively).
    roles: BTreeMap<String, Role>,
    /// How long IAM changes take to reach STS (0: at once).
    propagation_delay: std::time::Duration,
}

/// The IAM of one account. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Iam {
    state: Arc<RwLock<State>>,
    account_id: String,
    clock: SharedClock,
}

/// `AROA`/`ASIA`-style ids: a prefix and upper-case alphanumerics.
pub(crate) fn random_id(prefix: &str, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    id.extend((0..len).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char));
    id
}

fn validate_provider_url(url: &str) -> Result<&str, IamError> {
    let invalid = |why: &str| IamError::InvalidInput(format!("Invalid Url {url:?}: {why}"));
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| invalid("it must begin with https://"))?;
    if url.len() > 255 {
        return Err(invalid("it is longer than 255 characters"));
    }
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(invalid("it has no host"));
    }
    if host.contains(':') {
        return Err(invalid("a port is not allowed"));
    }
    if rest.contains('?') || rest.contains('#') {
        return Err(invalid("query strings and fragments are not allowed"));
    }
    Ok(rest)
}

fn validate_role_name(name: &str) -> Result<(), IamError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{name}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )))
    }
}

impl Iam {
    pub fn new(account_id: &str, clock: SharedClock) -> Self {
        Self {
            state: Arc::default(),
            account_id: account_id.to_owned(),
            clock,
        }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The ARN a provider URL gets in this account.
    pub fn provider_arn(&self, url: &str) -> String {
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            self.account_id,
            url.strip_prefix("https://").unwrap_or(url)
        )
    }

    pub fn create_provider(
        &self,
        url: &str,
        client_ids: &[String],
        thumbprints: &[String],
    ) -> Result<OidcProvider, IamError> {
        let key = validate_provider_url(url)?;
        if client_ids.len() > 100 {
            return Err(IamError::LimitExceeded(
                "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100".into(),
            ));
        }
        if let Some(bad) = client_ids.iter().find(|c| c.is_empty() || c.len() > 255) {
            return Err(IamError::ValidationError(format!(
                "Invalid client id {bad:?}: 1 to 255 characters"
            )));
        }
        validate_thumbprints(thumbprints)?;
        let provider = OidcProvider {
            url: key.to_owned(),
            arn: self.provider_arn(url),
            client_ids: dedup(client_ids),
            thumbprints: thumbprints.iter().map(|t| t.to_ascii_lowercase()).collect(),
            created: self.clock.now(),
        };
        let mut state = self.write();
        if state.providers.contains_key(&provider.arn) {
            return Err(IamError::EntityAlreadyExists(format!(
                "Provider with url {url} already exists."
            )));
        }
        state
            .providers
            .insert(provider.arn.clone(), provider.clone());
        Ok(provider)
    }

    fn not_found_provider(arn: &str) -> IamError {
        IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}"))
    }

    pub fn get_provider(&self, arn: &str) -> Result<OidcProvider, IamError> {
        self.read()
            .providers
            .get(arn)
            .cloned()
            .ok_or_else(|| Self::not_found_provider(arn))
    }

    pub fn list_providers(&self) -> Vec<OidcProvider> {
        self.read().providers.values().cloned().collect()
    }

    pub fn delete_provider(&self, arn: &str) -> Result<(), IamError> {
        self.write()
            .providers
            .remove(arn)
            .map(|_| ())
            .ok_or_else(|| Self::not_found_provider(arn))
    }

    pub fn add_client_id(&self, arn: &str, client_id: &str) -> Result<(), IamError> {
        let mut state = self.write();
        let provider = state
            .providers
            .get_mut(arn)
            .ok_or_else(|| Self::not_found_provider(arn))?;
        if !provider.client_ids.iter().any(|c| c == client_id) {
            provider.client_ids.push(client_id.to_owned());
        }
        Ok(())
    }

    pub fn remove_client_id(&self, arn: &str, client_id: &str) -> Result<(), IamError> {
        let mut state = self.write();
        let provider = state
            .providers
            .get_mut(arn)
            .ok_or_else(|| Self::not_found_provider(arn))?;
        provider.client_ids.retain(|c| c != client_id);
        Ok(())
    }

    pub fn update_thumbprints(&self, arn: &str, thumbprints: &[String]) -> Result<(), IamError> {
        validate_thumbprints(thumbprints)?;
        let mut state = self.write();
        let provider = state
            .providers
            .get_mut(arn)
            .ok_or_else(|| Self::not_found_provider(arn))?;
        provider.thumbprints = thumbprints.iter().map(|t| t.to_ascii_lowercase()).collect();
        Ok(())
    }

    /// The provider whose URL equals the token's `iss` exactly once `https://` is removed
    /// from both. A trailing slash makes a different provider; `http://` matches nothing.
    pub fn provider_for_issuer(&self, iss: &str) -> Option<OidcProvider> {
        let key = iss.strip_prefix("https://")?;
        self.read()
            .providers
            .values()
            .find(|p| p.url == key)
            .cloned()
    }

    pub fn create_role(
        &self,
        name: &str,
        path: Option<&str>,
        trust_policy_json: &str,
        max_session_duration: Option<u32>,
    ) -> Result<Role, IamError> {
        validate_role_name(name)?;
        let path = path.unwrap_or("/");
        if !(path.starts_with('/') && path.ends_with('/')) || path.len() > 512 {
            return Err(IamError::ValidationError(format!(
                "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters. ({path:?})"
            )));
        }
        let max = max_session_duration.unwrap_or(3600);
        validate_max_session(max)?;
        let trust_policy =
            PolicyDocument::parse(trust_policy_json).map_err(IamError::MalformedPolicyDocument)?;
        let role = Role {
            name: name.to_owned(),
            path: path.to_owned(),
            arn: format!("arn:aws:iam::{}:role{path}{name}", self.account_id),
            role_id: random_id("AROA", 17),
            trust_policy_json: trust_policy_json.to_owned(),
            trust_policy,
            max_session_duration: max,
            description: None,
            attached_policies: Vec::new(),
            created: self.clock.now(),
            previous_trust_policy: None,
        };
        let mut state = self.write();
        if state
            .roles
            .keys()
            .any(|existing| existing.eq_ignore_ascii_case(name))
        {
            return Err(IamError::EntityAlreadyExists(format!(
                "Role with name {name} already exists."
            )));
        }
        state.roles.insert(name.to_owned(), role.clone());
        Ok(role)
    }

    fn with_role<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Role) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        let mut state = self.write();
        let role = state.roles.get_mut(name).ok_or_else(|| {
            IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
        })?;
        f(role)
    }

    pub fn get_role(&self, name: &str) -> Result<Role, IamError> {
        self.with_role(name, |r| Ok(r.clone()))
    }

    /// The role an ARN names (exact ARN, path included) as STS sees it: IAM is eventually
    /// consistent, so within the propagation delay a new role does not exist yet for STS
    /// and an edited trust policy is still the previous one (e2e suites retry AccessDenied
    /// for up to 2 minutes because of this).
    pub fn role_by_arn(&self, arn: &str) -> Option<Role> {
        let parsed = parse_role_arn(arn)?;
        let state = self.read();
        let mut role = state.roles.get(&parsed.name).cloned()?;
        if role.arn != arn {
            return None;
        }
        let delay = state.propagation_delay;
        let now = self.clock.now();
        let recent = |at: OffsetDateTime| (now - at).unsigned_abs() < delay && now >= at;
        if !delay.is_zero() && recent(role.created) {
            return None;
        }
        if let Some((previous, at)) = role.previous_trust_policy.take()
            && !delay.is_zero()
            && recent(at)
        {
            role.trust_policy = previous;
        }
        Some(role)
    }

    /// Sets how long IAM changes take to reach STS (default 0).
    pub fn set_propagation_delay(&self, delay: std::time::Duration) {
        self.write().propagation_delay = delay;
    }

    pub fn list_roles(&self) -> Vec<Role> {
        self.read().roles.values().cloned().collect()
    }

    pub fn delete_role(&self, name: &str) -> Result<(), IamError> {
        self.with_role(name, |r| {
            if r.attached_policies.is_empty() {
                Ok(())
            } else {
                Err(IamError::DeleteConflict(
                    "Cannot delete entity, must detach all policies first.".into(),
                ))
            }
        })?;
        self.write().roles.remove(name);
        Ok(())
    }

    pub fn update_trust_policy(&self, name: &str, json: &str) -> Result<(), IamError> {
        let parsed = PolicyDocument::parse(json).map_err(IamError::MalformedPolicyDocument)?;
        let now = self.clock.now();
        self.with_role(name, |r| {
            let previous = std::mem::replace(&mut r.trust_policy, parsed);
            r.previous_trust_policy = Some((previous, now));
            r.trust_policy_json = json.to_owned();
            Ok(())
        })
    }

    pub fn update_role(
        &self,
        name: &str,
        max_session_duration: Option<u32>,
        description: Option<&str>,
    ) -> Result<(), IamError> {
        if let Some(max) = max_session_duration {
            validate_max_session(max)?;
        }
        self.with_role(name, |r| {
            if let Some(max) = max_session_duration {
                r.max_session_duration = max;
            }
            if let Some(d) = description {
                r.description = Some(d.to_owned());
            }
            Ok(())
        })
    }

    pub fn attach_policy(&self, name: &str, policy_arn: &str) -> Result<(), IamError> {
        if !policy_arn.starts_with("arn:") {
            return Err(IamError::InvalidInput(format!(
                "ARN {policy_arn} is not valid."
            )));
        }
        self.with_role(name, |r| {
            if !r.attached_policies.iter().any(|p| p == policy_arn) {
                r.attached_policies.push(policy_arn.to_owned());
            }
            Ok(())
        })
    }

    pub fn detach_policy(&self, name: &str, policy_arn: &str) -> Result<(), IamError> {
        self.with_role(name, |r| {
            let before = r.attached_policies.len();
            r.attached_policies.retain(|p| p != policy_arn);
            if r.attached_policies.len() == before {
                Err(IamError::NoSuchEntity(format!(
                    "Policy {policy_arn} was not found."
                )))
            } else {
                Ok(())
            }
        })
    }
}

fn validate_max_session(max: u32) -> Result<(), IamError> {
    if (3600..=43200).contains(&max) {
        Ok(())
    } else {
        Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {} {}",
            if max < 3600 {
                "greater than or equal to"
            } else {
                "less than or equal to"
            },
            if max < 3600 { 3600 } else { 43200 }
        )))
    }
}

fn validate_thumbprints(thumbprints: &[String]) -> Result<(), IamError> {
    if thumbprints.len() > 5 {
        return Err(IamError::LimitExceeded(
            "Thumbprint list must contain at most 5 thumbprints".into(),
        ));
    }
    match thumbprints
        .iter()
        .find(|t| t.len() != 40 || !t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some(bad) => Err(IamError::ValidationError(format!(
            "Thumbprint {bad:?} must be 40 hexadecimal characters"
        ))),
        None => Ok(()),
    }
}

fn dedup(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sts_sees_iam_changes_after_the_propagation_delay() {
        let clock = std::sync::Arc::new(crate::clock::ManualClock::at_unix(1_700_000_000));
        let iam = Iam::new("111122223333", clock.clone());
        iam.set_propagation_delay(std::time::Duration::from_secs(10));
        let allow = |sub: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"x"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"k:sub":"{sub}"}}}}}}]}}"#
            )
        };
        let role = iam.create_role("r", None, &allow("a"), None).unwrap();
        assert!(
            iam.role_by_arn(&role.arn).is_none(),
            "a new role is not visible yet"
        );
        clock.advance(std::time::Duration::from_secs(10));
        let before = iam.role_by_arn(&role.arn).unwrap().trust_policy;
        iam.update_trust_policy("r", &allow("b")).unwrap();
        assert_eq!(
            iam.role_by_arn(&role.arn).unwrap().trust_policy,
            before,
            "the old policy still applies"
        );
        clock.advance(std::time::Duration::from_secs(10));
        assert_ne!(iam.role_by_arn(&role.arn).unwrap().trust_policy, before);
    }

    use super::*;
    use crate::clock;

    fn iam() -> Iam {
        Iam::new("111122223333", clock::system())
    }

    const TRUST: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}]}"#;

    #[test]
    fn providers_match_issuers_exactly() {
        let iam = iam();
        let p = iam
            .create_provider(
                "https://s3.us-east-1.amazonaws.com/oidc-test",
                &["sts.amazonaws.com".into()],
                &[],
            )
            .unwrap();
        assert_eq!(
            p.arn,
            "arn:aws:iam::111122223333:oidc-provider/s3.us-east-1.amazonaws.com/oidc-test"
        );
        assert_eq!(p.url, "s3.us-east-1.amazonaws.com/oidc-test");
        assert!(
            iam.provider_for_issuer("https://s3.us-east-1.amazonaws.com/oidc-test")
                .is_some()
        );
        assert!(
            iam.provider_for_issuer("https://s3.us-east-1.amazonaws.com/oidc-test/")
                .is_none()
        );
        assert!(
            iam.provider_for_issuer("http://s3.us-east-1.amazonaws.com/oidc-test")
                .is_none()
        );
        let dup = iam
            .create_provider("https://s3.us-east-1.amazonaws.com/oidc-test", &[], &[])
            .unwrap_err();
        assert_eq!(
            dup.to_string(),
            "Provider with url https://s3.us-east-1.amazonaws.com/oidc-test already exists."
        );
        assert_eq!(dup.code(), "EntityAlreadyExists");
    }

    #[test]
    fn provider_url_rules() {
        let iam = iam();
        for bad in [
            "http://x.example",
            "https://",
            "https://x.example:8443/a",
            "x.example",
        ] {
            assert!(
                matches!(
                    iam.create_provider(bad, &[], &[]),
                    Err(IamError::InvalidInput(_))
                ),
                "{bad}"
            );
        }
        assert!(
            iam.create_provider("https://x.example", &[], &["zz".into()])
                .is_err()
        );
    }

    #[test]
    fn roles_and_arns() {
        let iam = iam();
        let role = iam
            .create_role("s3-reader", Some("/team/"), TRUST, None)
            .unwrap();
        assert_eq!(role.arn, "arn:aws:iam::111122223333:role/team/s3-reader");
        assert!(role.role_id.starts_with("AROA") && role.role_id.len() == 21);
        assert_eq!(
            iam.role_by_arn("arn:aws:iam::111122223333:role/team/s3-reader")
                .map(|r| r.name),
            Some("s3-reader".into())
        );
        assert!(
            iam.role_by_arn("arn:aws:iam::111122223333:role/s3-reader")
                .is_none(),
            "path must match"
        );
        assert!(
            iam.role_by_arn("arn:aws:iam::999999999999:role/team/s3-reader")
                .is_none(),
            "account must match"
        );
        assert_eq!(
            iam.create_role("S3-READER", None, TRUST, None)
                .unwrap_err()
                .to_string(),
            "Role with name S3-READER already exists."
        );
        assert_eq!(
            iam.get_role("nope").unwrap_err().to_string(),
            "The role with name nope cannot be found."
        );
        assert!(matches!(
            iam.create_role("r", None, "{", None),
            Err(IamError::MalformedPolicyDocument(_))
        ));
        assert!(matches!(
            iam.create_role("r", None, TRUST, Some(100)),
            Err(IamError::ValidationError(_))
        ));
    }

    #[test]
    fn delete_role_needs_detached_policies() {
        let iam = iam();
        iam.create_role("r", None, TRUST, None).unwrap();
        iam.attach_policy("r", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
            .unwrap();
        assert!(matches!(
            iam.delete_role("r"),
            Err(IamError::DeleteConflict(_))
        ));
        iam.detach_policy("r", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
            .unwrap();
        iam.delete_role("r").unwrap();
        assert!(iam.get_role("r").is_err());
    }
}
