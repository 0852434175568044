//! Temporary credentials STS issues, remembered so that calls signed with them can be
//! verified (signature, session token, expiry) like AWS does.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use base64::Engine;
use rand::RngCore;
use time::OffsetDateTime;

use crate::iam::random_id;

/// One set of issued credentials and who they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// `ASIA` + 16 upper-case alphanumerics.
    pub access_key_id: String,
    /// 40 characters.
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: OffsetDateTime,
    pub assumed_role_arn: String,
    /// `<RoleId>:<session name>`.
    pub assumed_role_id: String,
    pub account: String,
}

/// Issued credentials by access key id. Expired entries are dropped as new ones are
/// issued (oldest first, through an expiry index, so issuing stays O(log n)), and the
/// store stays bounded by the number of live sessions.
#[derive(Debug, Default)]
pub struct CredentialStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    issued: HashMap<String, IssuedCredentials>,
    by_expiry: BTreeSet<(OffsetDateTime, String)>,
}

fn random_secret(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[(rng.next_u32() as usize) % CHARS.len()] as char)
        .collect()
}

fn random_session_token() -> String {
    // Real session tokens are long opaque base64 blobs; length matters to some clients.
    let mut bytes = vec![0u8; 264];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "IQoJb3JpZ2luX2VjE{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

impl CredentialStore {
    pub fn issue(
        &self,
        now: OffsetDateTime,
        expiration: OffsetDateTime,
        assumed_role_arn: String,
        assumed_role_id: String,
        account: String,
    ) -> IssuedCredentials {
        let creds = IssuedCredentials {
            access_key_id: random_id("ASIA", 16),
            secret_access_key: random_secret(40),
            session_token: random_session_token(),
            expiration,
            assumed_role_arn,
            assumed_role_id,
            account,
        };
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((expiry, _)) = inner.by_expiry.first()
            && *expiry <= now
        {
            if let Some((_, key)) = inner.by_expiry.pop_first() {
                inner.issued.remove(&key);
            }
        }
        inner
            .by_expiry
            .insert((creds.expiration, creds.access_key_id.clone()));
        inner
            .issued
            .insert(creds.access_key_id.clone(), creds.clone());
        creds
    }

    pub fn lookup(&self, access_key_id: &str) -> Option<IssuedCredentials> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .issued
            .get(access_key_id)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .issued
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_eviction() {
        let store = CredentialStore::default();
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let c = store.issue(
            t0,
            t0 + time::Duration::hours(1),
            "arn".into(),
            "AROA:s".into(),
            "111122223333".into(),
        );
        let re = regex::Regex::new("^ASIA[A-Z0-9]{16}$").unwrap();
        assert!(re.is_match(&c.access_key_id), "{}", c.access_key_id);
        assert_eq!(c.secret_access_key.len(), 40);
        assert!(c.session_token.len() > 300);
        assert_eq!(store.lookup(&c.access_key_id), Some(c.clone()));
        // Issuing after the first expired drops it.
        let later = t0 + time::Duration::hours(2);
        store.issue(
            later,
            later + time::Duration::hours(1),
            "arn".into(),
            "AROA:s".into(),
            "1".into(),
        );
        assert_eq!(store.lookup(&c.access_key_id), None);
        assert_eq!(store.len(), 1);
    }
}
