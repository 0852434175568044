//! The distributions, origin access controls and invalidations of the account, with
//! CloudFront's identifiers (`E` + 13 characters, `dxxxxxxxxxxxxx.cloudfront.net`,
//! `I` + 13 for invalidations) and ETag versions for If-Match.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::Rng;
use time::OffsetDateTime;

use super::NAMESPACE;
use super::config::{DistributionSettings, OacSettings};
use super::edge::Cached;
use super::errors::CloudFrontError;
use crate::clock::SharedClock;
use crate::query::xml_escape;
use crate::s3::S3Store;

/// The fake CloudFront of one account. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct CloudFront {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub account_id: String,
    pub s3: S3Store,
    pub clock: SharedClock,
    pub state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub oacs: BTreeMap<String, Oac>,
    pub distributions: BTreeMap<String, Distribution>,
}

#[derive(Debug)]
pub(super) struct Oac {
    pub etag: String,
    pub settings: OacSettings,
}

#[derive(Debug)]
pub(super) struct Distribution {
    pub id: String,
    pub domain: String,
    pub etag: String,
    pub settings: DistributionSettings,
    /// The call that creates or updates a distribution reports `InProgress`; it is
    /// `Deployed` from then on (deployment takes minutes on AWS, none here).
    pub last_modified: OffsetDateTime,
    pub invalidations: Vec<Invalidation>,
    pub cache: HashMap<String, Cached>,
}

#[derive(Debug)]
pub(super) struct Invalidation {
    pub id: String,
    pub caller_reference: String,
    pub paths: Vec<String>,
    pub created: OffsetDateTime,
}

/// What a scenario needs to know of a distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionSummary {
    pub id: String,
    pub arn: String,
    pub domain: String,
}

const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn random_id(first: char) -> String {
    let mut rng = rand::thread_rng();
    let mut id = String::from(first);
    for _ in 0..13 {
        id.push(ID_CHARS[rng.gen_range(0..ID_CHARS.len())] as char);
    }
    id
}

/// `d` + 13 lower-case letters and digits, like `d111111abcdef8`.
fn random_domain() -> String {
    format!("{}.cloudfront.net", random_id('d').to_ascii_lowercase())
}

/// ISO-8601 with milliseconds, as CloudFront writes `LastModifiedTime` and `CreateTime`.
pub(super) fn timestamp(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&f).unwrap_or_default()
}

impl CloudFront {
    pub fn new(account_id: &str, s3: S3Store, clock: SharedClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                account_id: account_id.to_owned(),
                s3,
                clock,
                state: Mutex::new(State::default()),
            }),
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // No invariant spans a panic here, so a poisoned lock is still usable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn arn(&self, id: &str) -> String {
        format!(
            "arn:aws:cloudfront::{}:distribution/{id}",
            self.inner.account_id
        )
    }

    /// `CreateOriginAccessControl`: `(id, etag, body)`.
    pub fn create_oac(
        &self,
        settings: OacSettings,
    ) -> Result<(String, String, String), CloudFrontError> {
        let mut state = self.state();
        if state
            .oacs
            .values()
            .any(|o| o.settings.name == settings.name)
        {
            return Err(CloudFrontError::OriginAccessControlAlreadyExists);
        }
        let id = random_id('E');
        let oac = Oac {
            etag: random_id('E'),
            settings,
        };
        let body = oac_xml(&id, &oac);
        let etag = oac.etag.clone();
        state.oacs.insert(id.clone(), oac);
        Ok((id, etag, body))
    }

    /// `GetOriginAccessControl`: `(etag, body)`.
    pub fn get_oac(&self, id: &str) -> Result<(String, String), CloudFrontError> {
        let state = self.state();
        let oac = state
            .oacs
            .get(id)
            .ok_or(CloudFrontError::NoSuchOriginAccessControl)?;
        Ok((oac.etag.clone(), oac_xml(id, oac)))
    }

    fn check_oacs(state: &State, settings: &DistributionSettings) -> Result<(), CloudFrontError> {
        for origin in &settings.origins {
            if !origin.oac_id.is_empty() && !state.oacs.contains_key(&origin.oac_id) {
                return Err(CloudFrontError::NoSuchOriginAccessControl);
            }
        }
        Ok(())
    }

    /// `CreateDistribution`: `(id, etag, body)`.
    pub fn create_distribution(
        &self,
        settings: DistributionSettings,
    ) -> Result<(String, String, String), CloudFrontError> {
        let mut state = self.state();
        if state
            .distributions
            .values()
            .any(|d| d.settings.caller_reference == settings.caller_reference)
        {
            return Err(CloudFrontError::DistributionAlreadyExists);
        }
        Self::check_oacs(&state, &settings)?;
        let id = random_id('E');
        let distribution = Distribution {
            id: id.clone(),
            domain: random_domain(),
            etag: random_id('E'),
            settings,
            last_modified: self.inner.clock.now(),
            invalidations: Vec::new(),
            cache: HashMap::new(),
        };
        let body = self.distribution_xml(&distribution, "InProgress");
        let etag = distribution.etag.clone();
        state.distributions.insert(id.clone(), distribution);
        Ok((id, etag, body))
    }

    /// `GetDistribution`: `(etag, body)`.
    pub fn get_distribution(&self, id: &str) -> Result<(String, String), CloudFrontError> {
        let state = self.state();
        let distribution = state
            .distributions
            .get(id)
            .ok_or(CloudFrontError::NoSuchDistribution)?;
        Ok((
            distribution.etag.clone(),
            self.distribution_xml(distribution, "Deployed"),
        ))
    }

    /// `GetDistributionConfig`: `(etag, body)`.
    pub fn get_distribution_config(&self, id: &str) -> Result<(String, String), CloudFrontError> {
        let state = self.state();
        let distribution = state
            .distributions
            .get(id)
            .ok_or(CloudFrontError::NoSuchDistribution)?;
        Ok((
            distribution.etag.clone(),
            distribution.settings.raw.write_with_namespace(NAMESPACE),
        ))
    }

    fn check_if_match(
        distribution: &Distribution,
        if_match: Option<&str>,
    ) -> Result<(), CloudFrontError> {
        match if_match {
            None | Some("") => Err(CloudFrontError::InvalidIfMatchVersion),
            Some(tag) if tag != distribution.etag => Err(CloudFrontError::PreconditionFailed),
            Some(_) => Ok(()),
        }
    }

    /// `UpdateDistribution` with `If-Match`: `(new etag, body)`. The cache survives, as
    /// on CloudFront (only an invalidation or expiry removes cached objects).
    pub fn update_distribution(
        &self,
        id: &str,
        if_match: Option<&str>,
        settings: DistributionSettings,
    ) -> Result<(String, String), CloudFrontError> {
        let mut state = self.state();
        Self::check_oacs(&state, &settings)?;
        let now = self.inner.clock.now();
        let distribution = state
            .distributions
            .get_mut(id)
            .ok_or(CloudFrontError::NoSuchDistribution)?;
        Self::check_if_match(distribution, if_match)?;
        if settings.caller_reference != distribution.settings.caller_reference {
            return Err(CloudFrontError::InvalidArgument(
                "The CallerReference of a distribution cannot be changed.".into(),
            ));
        }
        distribution.settings = settings;
        distribution.etag = random_id('E');
        distribution.last_modified = now;
        let body = self.distribution_xml(distribution, "InProgress");
        Ok((distribution.etag.clone(), body))
    }

    /// `DeleteDistribution` with `If-Match`: only a disabled distribution can go.
    pub fn delete_distribution(
        &self,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), CloudFrontError> {
        let mut state = self.state();
        let distribution = state
            .distributions
            .get(id)
            .ok_or(CloudFrontError::NoSuchDistribution)?;
        Self::check_if_match(distribution, if_match)?;
        if distribution.settings.enabled {
            return Err(CloudFrontError::DistributionNotDisabled);
        }
        state.distributions.remove(id);
        Ok(())
    }

    /// `CreateInvalidation`: the paths' cached objects are dropped at once. A batch whose
    /// CallerReference was used before returns that invalidation (CloudFront's rule).
    /// Returns `(invalidation id, body)`.
    pub fn create_invalidation(
        &self,
        distribution_id: &str,
        paths: Vec<String>,
        caller_reference: String,
    ) -> Result<(String, String), CloudFrontError> {
        if paths.is_empty() || paths.iter().any(|p| !p.starts_with('/')) {
            return Err(CloudFrontError::InvalidArgument(
                "Your request contains one or more invalid invalidation paths.".into(),
            ));
        }
        let now = self.inner.clock.now();
        let mut state = self.state();
        let distribution = state
            .distributions
            .get_mut(distribution_id)
            .ok_or(CloudFrontError::NoSuchDistribution)?;
        if let Some(existing) = distribution
            .invalidations
            .iter()
            .find(|i| i.caller_reference == caller_reference)
        {
            return Ok((existing.id.clone(), invalidation_xml(existing, "Completed")));
        }
        distribution
            .cache
            .retain(|path, _| !paths.iter().any(|p| path_matches(p, path)));
        let invalidation = Invalidation {
            id: random_id('I'),
            caller_reference,
            paths,
            created: now,
        };
        let body = invalidation_xml(&invalidation, "InProgress");
        let id = invalidation.id.clone();
        distribution.invalidations.push(invalidation);
        Ok((id, body))
    }

    /// `GetInvalidation`.
    pub fn get_invalidation(
        &self,
        distribution_id: &str,
        id: &str,
    ) -> Result<String, CloudFrontError> {
        let mut state = self.state();
        let distribution = state
            .distributions
            .get_mut(distribution_id)
            .ok_or(CloudFrontError::NoSuchDistribution)?;
        let invalidation = distribution
            .invalidations
            .iter()
            .find(|i| i.id == id)
            .ok_or(CloudFrontError::NoSuchInvalidation)?;
        Ok(invalidation_xml(invalidation, "Completed"))
    }

    /// Every distribution's id, ARN and domain.
    pub fn distributions(&self) -> Vec<DistributionSummary> {
        self.state()
            .distributions
            .values()
            .map(|d| DistributionSummary {
                id: d.id.clone(),
                arn: self.arn(&d.id),
                domain: d.domain.clone(),
            })
            .collect()
    }

    /// Gives a distribution the id and domain a customer's has (a scenario reproduces a
    /// given setup, whose bucket policy names that ARN and whose issuer is that domain);
    /// CloudFront itself assigns both at random. Not reachable through the API.
    pub fn assign_identity(
        &self,
        id: &str,
        new_id: &str,
        new_domain: &str,
    ) -> Result<(), CloudFrontError> {
        let mut state = self.state();
        let mut distribution = state
            .distributions
            .remove(id)
            .ok_or(CloudFrontError::NoSuchDistribution)?;
        distribution.id = new_id.to_owned();
        distribution.domain = new_domain.to_ascii_lowercase();
        state.distributions.insert(new_id.to_owned(), distribution);
        Ok(())
    }

    pub(super) fn distribution_xml(&self, d: &Distribution, status: &str) -> String {
        let mut config = String::new();
        d.settings.raw.write(&mut config);
        format!(
            "<?xml version=\"1.0\"?>\n<Distribution xmlns=\"{NAMESPACE}\"><Id>{id}</Id><ARN>{arn}</ARN><Status>{status}</Status><LastModifiedTime>{time}</LastModifiedTime><InProgressInvalidationBatches>0</InProgressInvalidationBatches><DomainName>{domain}</DomainName><ActiveTrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedSigners><ActiveTrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedKeyGroups>{config}</Distribution>",
            id = xml_escape(&d.id),
            arn = xml_escape(&self.arn(&d.id)),
            time = timestamp(d.last_modified),
            domain = xml_escape(&d.domain),
        )
    }
}

/// An invalidation path: exact, or a prefix ending in `*` (CloudFront's only wildcard
/// position); paths are case-sensitive.
pub(super) fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => pattern == path,
    }
}

fn oac_xml(id: &str, oac: &Oac) -> String {
    let mut config = String::new();
    oac.settings.raw.write(&mut config);
    format!(
        "<?xml version=\"1.0\"?>\n<OriginAccessControl xmlns=\"{NAMESPACE}\"><Id>{}</Id>{config}</OriginAccessControl>",
        xml_escape(id)
    )
}

fn invalidation_xml(i: &Invalidation, status: &str) -> String {
    let mut paths = String::new();
    for p in &i.paths {
        paths.push_str(&format!("<Path>{}</Path>", xml_escape(p)));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<Invalidation xmlns=\"{NAMESPACE}\"><Id>{}</Id><Status>{status}</Status><CreateTime>{}</CreateTime><InvalidationBatch><Paths><Quantity>{}</Quantity><Items>{paths}</Items></Paths><CallerReference>{}</CallerReference></InvalidationBatch></Invalidation>",
        xml_escape(&i.id),
        timestamp(i.created),
        i.paths.len(),
        xml_escape(&i.caller_reference)
    )
}
