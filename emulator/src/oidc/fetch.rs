//! Fetching one issuer document the way STS does: https only, a whole-fetch deadline,
//! a body cap, and redirects that are routed again so none can leave the machine.

use std::collections::HashSet;
use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::{Client, StatusCode, Url, header};

use super::routes::{IssuerRoutes, Route};
use super::served_by::ServedBy;
use super::{AnonymousGetError, AnonymousObjects, Edges};

/// Why one document could not be retrieved. Every variant says precisely what happened,
/// for logs and diagnosis (STS itself answers with one generic message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("{url} is not https (AWS only fetches issuer documents over https)")]
    NotHttps { url: String },
    #[error(
        "no route for host {host}: map it with --map-issuer PREFIX=TARGET (issuerMappings in a \
         state file) to a local endpoint, or host the issuer in the fake S3 (irsa-lab never \
         contacts the internet)"
    )]
    Unroutable { host: String },
    #[error(
        "no route for host {host}: it is an AWS endpoint other than S3 and irsa-lab never contacts \
         real AWS (map it with --map-issuer if a local server should play it)"
    )]
    AwsHost { host: String },
    #[error("S3 object s3://{bucket}/{key} could not be read anonymously: {source}")]
    S3 {
        bucket: String,
        key: String,
        #[source]
        source: AnonymousGetError,
    },
    #[error("GET {url} returned HTTP {status}")]
    Status { url: String, status: u16 },
    #[error(
        "no CloudFront distribution has the domain {host} (irsa-lab resolves *.cloudfront.net to its own distributions only)"
    )]
    NoSuchDistribution { host: String },
    #[error("GET {url} returned HTTP {status} from CloudFront ({x_cache}){}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Edge {
        url: String,
        status: u16,
        x_cache: String,
        detail: Option<String>,
    },
    #[error("GET {url} did not complete within {after:?} (AWS gives up after 5 s)")]
    Timeout { url: String, after: Duration },
    #[error("GET {url}: body larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: usize },
    #[error("GET {url}: redirect loop (this URL was already visited)")]
    RedirectLoop { url: String },
    #[error("GET {url}: more than {max} redirects")]
    TooManyRedirects { url: String, max: usize },
    #[error("GET {url}: unusable redirect: {reason}")]
    BadRedirect { url: String, reason: String },
    #[error("GET {url}: TLS handshake failed: {detail}")]
    Tls { url: String, detail: String },
    #[error("GET {url}: connection failed: {detail}")]
    Connect { url: String, detail: String },
    #[error("GET {url}: transport error: {detail}")]
    Transport { url: String, detail: String },
}

/// A retrieved document and how its final server proved itself.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub body: Bytes,
    pub served_by: ServedBy,
}

/// Retrieves documents through [`IssuerRoutes`] with AWS's limits.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    pub routes: IssuerRoutes,
    pub s3: Arc<dyn AnonymousObjects>,
    pub edges: Option<Arc<dyn Edges>>,
    pub timeout: Duration,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
}

enum Hop {
    Done(Fetched),
    Redirect(Url),
}

impl Fetcher {
    /// Fetches `url` (a customer-facing URL). The deadline covers every hop, connect,
    /// headers and body; it runs on real time, since it bounds real sockets.
    pub(crate) async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(self.timeout, self.follow(url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                url: url.to_owned(),
                after: self.timeout,
            }),
        }
    }

    async fn follow(&self, url: &str) -> Result<Fetched, FetchError> {
        let mut current = Url::parse(url).map_err(|e| FetchError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let mut visited = HashSet::from([current.to_string()]);
        let mut hops = 0;
        loop {
            match self.hop(&current).await? {
                Hop::Done(fetched) => return Ok(fetched),
                Hop::Redirect(next) => {
                    hops += 1;
                    if !visited.insert(next.to_string()) {
                        return Err(FetchError::RedirectLoop {
                            url: next.to_string(),
                        });
                    }
                    if hops > self.max_redirects {
                        return Err(FetchError::TooManyRedirects {
                            url: url.to_owned(),
                            max: self.max_redirects,
                        });
                    }
                    tracing::debug!(from = %current, to = %next, "issuer document redirected");
                    current = next;
                }
            }
        }
    }

    async fn hop(&self, url: &Url) -> Result<Hop, FetchError> {
        match self.routes.route(url)? {
            Route::S3(object) => {
                if object.bucket.is_empty() || object.key.is_empty() {
                    return Err(FetchError::S3 {
                        source: if object.bucket.is_empty() {
                            AnonymousGetError::NoSuchBucket
                        } else {
                            AnonymousGetError::NoSuchKey
                        },
                        bucket: object.bucket,
                        key: object.key,
                    });
                }
                let body =
                    self.s3
                        .get_anonymous(&object.bucket, &object.key)
                        .map_err(|source| FetchError::S3 {
                            bucket: object.bucket.clone(),
                            key: object.key.clone(),
                            source,
                        })?;
                if body.len() > self.max_body_bytes {
                    return Err(FetchError::TooLarge {
                        url: url.to_string(),
                        limit: self.max_body_bytes,
                    });
                }
                Ok(Hop::Done(Fetched {
                    body,
                    served_by: ServedBy::WellKnownCa,
                }))
            }
            Route::Edge { host, path } => {
                let answer = self
                    .edges
                    .as_ref()
                    .and_then(|edges| edges.get(&host, &path))
                    .ok_or_else(|| FetchError::NoSuchDistribution { host: host.clone() })?;
                if answer.status != 200 {
                    return Err(FetchError::Edge {
                        url: url.to_string(),
                        status: answer.status,
                        x_cache: answer.x_cache,
                        detail: answer.detail,
                    });
                }
                if answer.body.len() > self.max_body_bytes {
                    return Err(FetchError::TooLarge {
                        url: url.to_string(),
                        limit: self.max_body_bytes,
                    });
                }
                Ok(Hop::Done(Fetched {
                    body: answer.body,
                    // *.cloudfront.net certificates chain to a CA AWS trusts.
                    served_by: ServedBy::WellKnownCa,
                }))
            }
            Route::Mapped {
                url: target,
                client,
                served_by,
            } => self.http_hop(url, target, client, served_by).await,
        }
    }

    async fn http_hop(
        &self,
        url: &Url,
        target: Url,
        client: &Client,
        served_by: &ServedBy,
    ) -> Result<Hop, FetchError> {
        let shown = url.to_string();
        let mut response = client
            .get(target)
            .send()
            .await
            .map_err(|e| classify(&shown, &e))?;
        let status = response.status();
        if is_redirect(status) {
            let location = response.headers().get(header::LOCATION).ok_or_else(|| {
                FetchError::BadRedirect {
                    url: shown.clone(),
                    reason: format!("HTTP {} without a Location header", status.as_u16()),
                }
            })?;
            let location = location.to_str().map_err(|_| FetchError::BadRedirect {
                url: shown.clone(),
                reason: "Location header is not ASCII".to_owned(),
            })?;
            // Relative locations resolve against the customer-facing URL, so the next hop
            // goes through the routing table like any other URL.
            let next = url.join(location).map_err(|e| FetchError::BadRedirect {
                url: shown.clone(),
                reason: format!("Location {location:?}: {e}"),
            })?;
            return Ok(Hop::Redirect(next));
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: shown,
                status: status.as_u16(),
            });
        }
        let too_large = || FetchError::TooLarge {
            url: shown.clone(),
            limit: self.max_body_bytes,
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body_bytes as u64)
        {
            return Err(too_large());
        }
        // Read chunk by chunk and stop at the cap: a hostile server cannot make us buffer
        // more than the limit.
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&shown, &e))? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Hop::Done(Fetched {
            body: body.freeze(),
            served_by: served_by.clone(),
        }))
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Names a reqwest failure: TLS problems are told apart from other connect errors by
/// finding rustls' error in the source chain (hyper nests it inside `io::Error`s).
fn classify(url: &str, error: &reqwest::Error) -> FetchError {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(tls) = find_rustls(cause) {
            return FetchError::Tls {
                url: url.to_owned(),
                detail: tls.to_string(),
            };
        }
        source = cause.source();
    }
    let detail = chain(error);
    if error.is_connect() {
        FetchError::Connect {
            url: url.to_owned(),
            detail,
        }
    } else {
        FetchError::Transport {
            url: url.to_owned(),
            detail,
        }
    }
}

/// `io::Error::source` skips the error it wraps, so wrapped errors are opened by hand.
fn find_rustls<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    find_rustls(inner)
}

fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
