//! The edge: `GET https://<domain>/<path>` answered from the cache or the S3 origin, read
//! as the origin access control's identity.

use std::time::Duration;

use bytes::Bytes;
use time::OffsetDateTime;

use super::store::CloudFront;
use super::{SERVICE_PRINCIPAL, Ttls};
use crate::s3::{ReadRefusal, Requester};

/// CloudFront caches origin errors (4xx/5xx) this long unless a custom error response
/// says otherwise (its documented "Error caching minimum TTL" default).
pub const ERROR_CACHING_TTL: Duration = Duration::from_secs(10);

/// What the edge answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeResponse {
    pub status: u16,
    pub body: Bytes,
    pub content_type: String,
    pub cache_control: Option<String>,
    pub etag: Option<String>,
    /// `Hit from cloudfront`, `Miss from cloudfront`, `Error from cloudfront`.
    pub x_cache: &'static str,
    /// Seconds the answer has been cached.
    pub age: u64,
    /// Why the origin refused, for diagnosis (S3 itself only says AccessDenied).
    pub detail: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Cached {
    fetched_at: OffsetDateTime,
    ttl: Duration,
    response: EdgeResponse,
}

/// How long CloudFront keeps an origin answer: the origin's `s-maxage` or `max-age`
/// clamped to MinTTL..MaxTTL; `no-cache`/`no-store`/`private` without max-age: MinTTL;
/// nothing: DefaultTTL.
pub fn ttl_for(cache_control: Option<&str>, ttls: Ttls) -> u64 {
    let mut max_age = None;
    let mut s_maxage = None;
    let mut uncacheable = false;
    for directive in cache_control.unwrap_or_default().split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        let (name, value) = directive
            .split_once('=')
            .map_or((directive.as_str(), None), |(n, v)| {
                (n.trim(), Some(v.trim()))
            });
        let seconds = value.and_then(|v| v.trim_matches('"').parse::<u64>().ok());
        match name {
            "max-age" => max_age = seconds,
            "s-maxage" => s_maxage = seconds,
            "no-cache" | "no-store" | "private" => uncacheable = true,
            _ => {}
        }
    }
    match s_maxage.or(max_age) {
        Some(age) => age.clamp(ttls.min, ttls.max),
        None if uncacheable => ttls.min,
        None => ttls.default,
    }
}

fn s3_error(status: u16, code: &str, message: &str) -> EdgeResponse {
    EdgeResponse {
        status,
        body: Bytes::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )),
        content_type: "application/xml".into(),
        cache_control: None,
        etag: None,
        x_cache: "Error from cloudfront",
        age: 0,
        detail: None,
    }
}

impl CloudFront {
    /// Serves `path` of the distribution whose domain is `host`; `None` when no
    /// distribution has that domain (on the internet the name would not resolve).
    pub fn edge_get(&self, host: &str, path: &str) -> Option<EdgeResponse> {
        let host = host
            .rsplit_once(':')
            .map_or(host, |(h, _)| h)
            .to_ascii_lowercase();
        let path = path.split('?').next().unwrap_or("/");
        let path = if path.is_empty() { "/" } else { path };
        let now = self.inner.clock.now();
        let mut state = self.state();
        let oacs = &state.oacs;
        let signs = |oac_id: &str| {
            oacs.get(oac_id)
                .is_some_and(|oac| oac.settings.signing_behavior != "never")
        };
        let (id, distribution_signs) = state
            .distributions
            .values()
            .find(|d| d.domain == host)
            .map(|d| {
                let signs = d.settings.origin().is_some_and(|o| signs(&o.oac_id));
                (d.id.clone(), signs)
            })?;
        let arn = format!(
            "arn:aws:cloudfront::{}:distribution/{id}",
            self.inner.account_id
        );
        let distribution = state.distributions.get_mut(&id)?;
        if !distribution.settings.enabled {
            let mut refused = s3_error(403, "AccessDenied", "The distribution is disabled");
            refused.detail = Some(format!("distribution {id} is disabled"));
            return Some(refused);
        }
        if let Some(cached) = distribution.cache.get(path) {
            let age = now - cached.fetched_at;
            if age < cached.ttl {
                let mut hit = cached.response.clone();
                hit.age = age.whole_seconds().max(0) as u64;
                if hit.status < 400 {
                    hit.x_cache = "Hit from cloudfront";
                }
                return Some(hit);
            }
        }
        let origin = distribution.settings.origin()?.clone();
        let ttls = distribution.settings.ttls;
        let url = format!("https://{}{}{path}", origin.domain_name, origin.path);
        let object = reqwest::Url::parse(&url)
            .ok()
            .and_then(|u| crate::oidc::s3_object(&u));
        let requester = if distribution_signs {
            Requester::Service {
                principal: SERVICE_PRINCIPAL.into(),
                source_arn: arn,
                source_account: self.inner.account_id.clone(),
            }
        } else {
            Requester::Anonymous
        };
        let (response, ttl) = match object {
            None => {
                let mut bad = s3_error(502, "BadGateway", "The origin is not an S3 bucket");
                bad.detail = Some(format!(
                    "origin {} is not an S3 endpoint (irsa-lab's CloudFront serves S3 origins only)",
                    origin.domain_name
                ));
                (bad, ERROR_CACHING_TTL)
            }
            Some(object) => match self
                .inner
                .s3
                .read_as(&object.bucket, &object.key, &requester)
            {
                Ok(found) => {
                    let ttl = ttl_for(found.cache_control.as_deref(), ttls);
                    (
                        EdgeResponse {
                            status: 200,
                            body: found.body,
                            content_type: found.content_type,
                            cache_control: found.cache_control,
                            etag: Some(found.etag),
                            x_cache: "Miss from cloudfront",
                            age: 0,
                            detail: None,
                        },
                        Duration::from_secs(ttl),
                    )
                }
                Err(refusal) => {
                    let who = match &requester {
                        Requester::Anonymous => "anonymously (no origin access control)".to_owned(),
                        Requester::Service { source_arn, .. } => {
                            format!("as {SERVICE_PRINCIPAL} for {source_arn}")
                        }
                    };
                    let (mut answer, detail) = match refusal {
                        ReadRefusal::NoSuchBucket => (
                            s3_error(404, "NoSuchBucket", "The specified bucket does not exist"),
                            format!("the origin bucket {} does not exist", object.bucket),
                        ),
                        ReadRefusal::NoSuchKey => (
                            s3_error(404, "NoSuchKey", "The specified key does not exist."),
                            format!("s3://{}/{} does not exist", object.bucket, object.key),
                        ),
                        ReadRefusal::Denied(denial) => (
                            s3_error(403, "AccessDenied", "Access Denied"),
                            format!(
                                "the origin refused s3://{}/{} read {who}: {denial}",
                                object.bucket, object.key
                            ),
                        ),
                    };
                    answer.detail = Some(detail);
                    (answer, ERROR_CACHING_TTL)
                }
            },
        };
        if !ttl.is_zero() {
            distribution.cache.insert(
                path.to_owned(),
                Cached {
                    fetched_at: now,
                    ttl,
                    response: response.clone(),
                },
            );
        }
        Some(response)
    }
}

impl crate::oidc::Edges for CloudFront {
    fn get(&self, host: &str, path: &str) -> Option<crate::oidc::EdgeAnswer> {
        self.edge_get(host, path)
            .map(|response| crate::oidc::EdgeAnswer {
                status: response.status,
                body: response.body,
                x_cache: response.x_cache.to_owned(),
                detail: response.detail,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTLS: Ttls = Ttls {
        min: 0,
        default: 86_400,
        max: 31_536_000,
    };

    #[test]
    fn origin_max_age_is_clamped_to_the_behaviour() {
        assert_eq!(ttl_for(Some("max-age=300"), TTLS), 300);
        assert_eq!(ttl_for(Some("public, s-maxage=60, max-age=300"), TTLS), 60);
        let floor = Ttls { min: 600, ..TTLS };
        assert_eq!(ttl_for(Some("max-age=300"), floor), 600);
    }

    #[test]
    fn without_cache_control_the_default_ttl_applies() {
        assert_eq!(ttl_for(None, TTLS), 86_400);
        assert_eq!(ttl_for(Some("public"), TTLS), 86_400);
    }

    #[test]
    fn no_store_caches_for_min_ttl_only() {
        assert_eq!(ttl_for(Some("no-store"), TTLS), 0);
        assert_eq!(ttl_for(Some("no-cache"), Ttls { min: 5, ..TTLS }), 5);
    }
}
