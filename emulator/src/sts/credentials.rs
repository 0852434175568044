//! Temporary credentials STS issues, verifiable later without remembering them.
//!
//! AWS's session tokens are self-contained, and so are ours: the session token is the
//! credentials themselves (access key id, secret, expiry, assumed-role ARN and id, account)
//! sealed with AES-256-GCM (`ring::aead`) under a key drawn at random when the emulator
//! starts. Verifying a signed call opens the token it carries and checks that the access key
//! id sealed inside is the one the call is signed with. Nothing is stored per credential, so
//! memory stays flat however many credentials are issued (issue 10: a store of every issued
//! credential grew ~1.1 KiB per AssumeRoleWithWebIdentity and slowed every request).
//!
//! The access key id carries its own tag (HMAC-SHA256 under a second key derived from the
//! same secret), so an access key id this emulator issued is recognised even when a call
//! carries no session token or someone else's: that call is refused with
//! `InvalidClientTokenId`, while keys we never issued stay "administrative" credentials.
//!
//! # Caveats
//! The sealing key lives only in memory and is not written to the `--state` file (which
//! preloads configuration and holds no secrets): credentials are valid for the emulator
//! process that issued them, and a restart invalidates all of them, exactly as before the
//! store was removed. Expiry is checked by the caller against the emulator's clock.

use base64::Engine;
use rand::RngCore;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::{hkdf, hmac};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One set of issued credentials and who they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// `ASIA` + 16 upper-case base32 characters.
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

/// Why credentials shaped like ours cannot be used. `NotIssued` means "not ours at all";
/// every other variant is an access key id we issued used with the wrong session token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("access key {0} was not issued by this emulator")]
    NotIssued(String),
    #[error("the request carries no session token (X-Amz-Security-Token) for this access key")]
    MissingToken,
    #[error("the session token was not issued by this emulator (or was altered)")]
    InvalidToken,
    #[error("the session token does not belong to this access key")]
    WrongAccessKey,
}

/// Issues credentials and recognises them later, with no per-credential state.
pub struct CredentialStore {
    seal: LessSafeKey,
    tag: hmac::Key,
}

impl std::fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("CredentialStore").finish_non_exhaustive()
    }
}

impl Default for CredentialStore {
    /// A store with fresh random keys.
    fn default() -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self::from_secret(&secret)
    }
}

/// What the session token seals. Short field names keep the token near AWS's lengths.
#[derive(Serialize, Deserialize)]
struct Sealed {
    k: String,
    s: String,
    e: i64,
    a: String,
    r: String,
    c: String,
}

/// AWS session tokens start like this; some tools sniff the prefix.
const TOKEN_PREFIX: &str = "IQoJb3JpZ2luX2VjE";
/// Format version, also the AEAD's additional data (a token of another format never opens).
const VERSION: u8 = 1;
/// `ASIA` + 8 random base32 characters + 8 characters of tag (40 bits each).
const RANDOM_CHARS: usize = 8;
const TAG_CHARS: usize = 8;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

struct KeyLen(usize);

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn derive(prk: &hkdf::Prk, info: &'static [u8], out: &mut [u8]) {
    let info = [info];
    // Both lengths are fixed and far below HKDF's limit of 255 blocks: cannot fail.
    if let Ok(okm) = prk.expand(&info, KeyLen(out.len())) {
        let _ = okm.fill(out);
    }
}

fn random_secret(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[(rng.next_u32() as usize) % CHARS.len()] as char)
        .collect()
}

/// The first 40 bits of `bytes` as 8 base32 characters.
fn base32_40(bytes: &[u8]) -> String {
    let mut bits = bytes
        .iter()
        .take(5)
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut out = [0u8; 8];
    for c in out.iter_mut().rev() {
        *c = BASE32[(bits & 31) as usize];
        bits >>= 5;
    }
    out.iter().map(|&c| c as char).collect()
}

impl CredentialStore {
    /// A store whose keys derive from `secret` (tests pin it; production uses `default`).
    fn from_secret(secret: &[u8]) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"irsa-lab sts credentials").extract(secret);
        let mut seal = [0u8; 32];
        let mut tag = [0u8; 32];
        derive(&prk, b"session token seal", &mut seal);
        derive(&prk, b"access key id tag", &mut tag);
        let seal = UnboundKey::new(&AES_256_GCM, &seal)
            .map(LessSafeKey::new)
            .unwrap_or_else(|_| unreachable!("AES-256-GCM takes a 32-byte key"));
        Self {
            seal,
            tag: hmac::Key::new(hmac::HMAC_SHA256, &tag),
        }
    }

    fn access_key_tag(&self, random_part: &str) -> String {
        base32_40(hmac::sign(&self.tag, random_part.as_bytes()).as_ref())
    }

    fn new_access_key_id(&self) -> String {
        let mut random = [0u8; 5];
        rand::thread_rng().fill_bytes(&mut random);
        let random = base32_40(&random);
        let tag = self.access_key_tag(&random);
        format!("ASIA{random}{tag}")
    }

    /// Whether `access_key_id` was issued by this store (its tag checks out).
    fn is_ours(&self, access_key_id: &str) -> bool {
        let Some(rest) = access_key_id.strip_prefix("ASIA") else {
            return false;
        };
        if rest.len() != RANDOM_CHARS + TAG_CHARS || !rest.is_ascii() {
            return false;
        }
        let (random, tag) = rest.split_at(RANDOM_CHARS);
        // Compared without an early exit, so timing does not reveal a matching prefix.
        let expected = self.access_key_tag(random);
        expected
            .bytes()
            .zip(tag.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }

    /// New credentials for an assumed-role session, valid until `expiration`.
    pub fn issue(
        &self,
        expiration: OffsetDateTime,
        assumed_role_arn: String,
        assumed_role_id: String,
        account: String,
    ) -> IssuedCredentials {
        let access_key_id = self.new_access_key_id();
        let secret_access_key = random_secret(40);
        let sealed = Sealed {
            k: access_key_id.clone(),
            s: secret_access_key.clone(),
            e: expiration.unix_timestamp(),
            a: assumed_role_arn.clone(),
            r: assumed_role_id.clone(),
            c: account.clone(),
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        // Serialising plain strings and an integer cannot fail.
        let mut body = serde_json::to_vec(&sealed).unwrap_or_default();
        let sealed_ok = self
            .seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([VERSION]),
                &mut body,
            )
            .is_ok();
        debug_assert!(sealed_ok, "AES-GCM sealing of a short buffer cannot fail");
        let mut raw = Vec::with_capacity(1 + NONCE_LEN + body.len());
        raw.push(VERSION);
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&body);
        IssuedCredentials {
            access_key_id,
            secret_access_key,
            session_token: format!(
                "{TOKEN_PREFIX}{}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ),
            expiration,
            assumed_role_arn,
            assumed_role_id,
            account,
        }
    }

    /// The credentials behind `access_key_id` and the `session_token` the call carries.
    /// Expiry is not checked here (the caller holds the clock).
    ///
    /// # Errors
    /// [`CredentialError::NotIssued`] when the access key id is not one this store issued;
    /// the other variants when it is, but the token is missing, forged, altered, or sealed
    /// for another access key.
    pub fn lookup(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<IssuedCredentials, CredentialError> {
        if !self.is_ours(access_key_id) {
            return Err(CredentialError::NotIssued(access_key_id.to_owned()));
        }
        let token = session_token.ok_or(CredentialError::MissingToken)?;
        let sealed = self.open(token).ok_or(CredentialError::InvalidToken)?;
        if sealed.k != access_key_id {
            return Err(CredentialError::WrongAccessKey);
        }
        Ok(IssuedCredentials {
            access_key_id: sealed.k,
            secret_access_key: sealed.s,
            session_token: token.to_owned(),
            expiration: OffsetDateTime::from_unix_timestamp(sealed.e)
                .map_err(|_| CredentialError::InvalidToken)?,
            assumed_role_arn: sealed.a,
            assumed_role_id: sealed.r,
            account: sealed.c,
        })
    }

    fn open(&self, token: &str) -> Option<Sealed> {
        let b64 = token.strip_prefix(TOKEN_PREFIX)?;
        let mut raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        if raw.len() < 1 + NONCE_LEN || raw[0] != VERSION {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&raw[1..1 + NONCE_LEN]).ok()?;
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from([VERSION]), &mut raw[1 + NONCE_LEN..])
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
    }

    fn issue(store: &CredentialStore) -> IssuedCredentials {
        store.issue(
            t0() + time::Duration::hours(1),
            "arn:aws:sts::111122223333:assumed-role/app/session".into(),
            "AROAEXAMPLE:session".into(),
            "111122223333".into(),
        )
    }

    #[test]
    fn formats_look_like_aws() {
        let c = issue(&CredentialStore::default());
        let re = regex::Regex::new("^ASIA[A-Z2-7]{16}$").unwrap();
        assert!(re.is_match(&c.access_key_id), "{}", c.access_key_id);
        assert_eq!(c.secret_access_key.len(), 40);
        assert!(c.session_token.starts_with(TOKEN_PREFIX));
        assert!(c.session_token.len() > 300, "{}", c.session_token.len());
    }

    #[test]
    fn lookup_opens_what_issue_sealed() {
        let store = CredentialStore::default();
        let c = issue(&store);
        assert_eq!(
            store.lookup(&c.access_key_id, Some(&c.session_token)),
            Ok(c.clone())
        );
    }

    #[test]
    fn keys_of_another_store_are_not_ours() {
        let c = issue(&CredentialStore::default());
        let other = CredentialStore::default();
        assert_eq!(
            other.lookup(&c.access_key_id, Some(&c.session_token)),
            Err(CredentialError::NotIssued(c.access_key_id.clone()))
        );
        assert!(matches!(
            other.lookup("AKIAIOSFODNN7EXAMPLE", None),
            Err(CredentialError::NotIssued(_))
        ));
        assert!(matches!(
            other.lookup("test", None),
            Err(CredentialError::NotIssued(_))
        ));
    }

    #[test]
    fn our_key_without_token_is_refused() {
        let store = CredentialStore::default();
        let c = issue(&store);
        assert_eq!(
            store.lookup(&c.access_key_id, None),
            Err(CredentialError::MissingToken)
        );
    }

    #[test]
    fn token_of_another_key_is_refused() {
        let store = CredentialStore::default();
        let (a, b) = (issue(&store), issue(&store));
        assert_eq!(
            store.lookup(&a.access_key_id, Some(&b.session_token)),
            Err(CredentialError::WrongAccessKey)
        );
    }

    #[test]
    fn altered_or_foreign_tokens_are_refused() {
        let store = CredentialStore::default();
        let c = issue(&store);
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(c.session_token.strip_prefix(TOKEN_PREFIX).unwrap())
            .unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let altered = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(&raw)
        );
        let foreign = issue(&CredentialStore::default()).session_token;
        for token in [
            altered.as_str(),
            foreign.as_str(),
            "",
            "IQoJb3JpZ2luX2VjE!!",
            "x",
        ] {
            assert_eq!(
                store.lookup(&c.access_key_id, Some(token)),
                Err(CredentialError::InvalidToken),
                "{token}"
            );
        }
    }

    #[test]
    fn same_secret_opens_across_instances() {
        let a = CredentialStore::from_secret(&[7; 32]);
        let b = CredentialStore::from_secret(&[7; 32]);
        let c = issue(&a);
        assert_eq!(b.lookup(&c.access_key_id, Some(&c.session_token)), Ok(c));
    }

    #[test]
    fn access_key_tag_is_checked() {
        let store = CredentialStore::default();
        let c = issue(&store);
        // Change one character of the random part: the tag no longer matches.
        let mut forged: Vec<u8> = c.access_key_id.clone().into_bytes();
        forged[4] = if forged[4] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            store.lookup(&forged, Some(&c.session_token)),
            Err(CredentialError::NotIssued(forged.clone()))
        );
    }
}
