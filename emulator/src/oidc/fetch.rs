//! Fetching one document the way STS does: https, public, within 5 seconds, size-capped,
//! redirects followed a few hops and each hop routed again (so none can leave the machine).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::Uri;

use super::AnonymousObjects;
use super::errors::FetchError;
use super::resolve::{IssuerRoutes, Route};
use super::settings::OidcSettings;

/// Who vouched for the TLS connection a document came over; decides whether IAM
/// thumbprints matter (AWS checks them only for CAs it does not already trust).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServedBy {
    /// S3 (or another endpoint AWS trusts through a well-known CA).
    WellKnownCa,
    /// A mapped https endpoint whose CA the user supplied; the SHA-1 thumbprint of that CA.
    CustomCa { sha1_thumbprint: String },
    /// A mapped plain-http endpoint (tests and local setups only; AWS never does this).
    PlainHttp,
}

/// A fetched document.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Bytes,
    pub served_by: ServedBy,
}

/// Fetches issuer documents through [`IssuerRoutes`].
#[derive(Debug, Clone)]
pub struct Fetcher {
    routes: IssuerRoutes,
    s3: Arc<dyn AnonymousObjects>,
    settings: OidcSettings,
    /// One client per mapping (each trusts only its own CA); index = mapping index.
    clients: Vec<reqwest::Client>,
}

fn client(ca: Option<&rustls_pki_types::CertificateDer<'static>>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(4);
    if let Some(ca) = ca
        && let Ok(cert) = reqwest::Certificate::from_der(ca.as_ref())
    {
        builder = builder.add_root_certificate(cert);
    }
    // Building only fails when the TLS backend cannot initialise, which is a broken
    // installation; fall back to a default client that will then report transport errors.
    builder.build().unwrap_or_default()
}

impl Fetcher {
    pub fn new(
        routes: IssuerRoutes,
        s3: Arc<dyn AnonymousObjects>,
        settings: OidcSettings,
    ) -> Self {
        let clients = routes
            .mappings
            .iter()
            .map(|m| client(m.ca.as_ref()))
            .collect();
        Self {
            routes,
            s3,
            settings,
            clients,
        }
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// Fetches `url`, following redirects, within the whole-fetch time limit.
    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let seconds = self.settings.fetch_timeout.as_secs();
        match tokio::time::timeout(self.settings.fetch_timeout, self.follow(url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                url: url.to_owned(),
                seconds,
            }),
        }
    }

    async fn follow(&self, url: &str) -> Result<Fetched, FetchError> {
        let mut current = url.to_owned();
        for _ in 0..=self.settings.max_redirects {
            match self.once(&current).await? {
                Step::Done(fetched) => return Ok(fetched),
                Step::Redirect(location) => current = join(&current, &location)?,
            }
        }
        Err(FetchError::TooManyRedirects {
            url: url.to_owned(),
            limit: self.settings.max_redirects,
        })
    }

    async fn once(&self, url: &str) -> Result<Step, FetchError> {
        match self.routes.resolve(url) {
            Route::S3 { bucket, key } => {
                let body =
                    self.s3
                        .get_anonymous(&bucket, &key)
                        .map_err(|source| FetchError::S3 {
                            url: url.to_owned(),
                            source,
                        })?;
                if body.len() > self.settings.max_body_bytes {
                    return Err(FetchError::TooLarge {
                        url: url.to_owned(),
                        limit: self.settings.max_body_bytes,
                    });
                }
                Ok(Step::Done(Fetched {
                    body,
                    served_by: ServedBy::WellKnownCa,
                }))
            }
            Route::Unroutable if !url.starts_with("https://") => Err(FetchError::NotHttps {
                url: url.to_owned(),
            }),
            Route::Unroutable => Err(FetchError::Unroutable {
                url: url.to_owned(),
            }),
            Route::Mapped {
                url: target,
                mapping,
            } => self.http(url, &target, mapping).await,
        }
    }

    async fn http(&self, original: &str, target: &str, mapping: usize) -> Result<Step, FetchError> {
        let transport = |e: reqwest::Error| FetchError::Transport {
            url: original.to_owned(),
            detail: error_chain(&e),
        };
        let client = self.clients.get(mapping).cloned().unwrap_or_default();
        let mut response = client.get(target).send().await.map_err(transport)?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| FetchError::Status {
                    url: original.to_owned(),
                    status: status.as_u16(),
                })?;
            // Relative locations resolve against the URL as the issuer wrote it, so the
            // next hop is routed like any other issuer URL.
            return Ok(Step::Redirect(location.to_owned()));
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: original.to_owned(),
                status: status.as_u16(),
            });
        }
        let limit = self.settings.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|len| len as usize > limit)
        {
            return Err(FetchError::TooLarge {
                url: original.to_owned(),
                limit,
            });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge {
                    url: original.to_owned(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        let served_by = match self
            .routes
            .mappings
            .get(mapping)
            .and_then(|m| m.ca_thumbprint.clone())
        {
            _ if target.starts_with("http://") => ServedBy::PlainHttp,
            Some(sha1_thumbprint) => ServedBy::CustomCa { sha1_thumbprint },
            None => ServedBy::WellKnownCa,
        };
        Ok(Step::Done(Fetched {
            body: body.freeze(),
            served_by,
        }))
    }
}

enum Step {
    Done(Fetched),
    Redirect(String),
}

/// Resolves a `Location` against the URL it came from.
fn join(base: &str, location: &str) -> Result<String, FetchError> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(location.to_owned());
    }
    let uri: Uri = base.parse().map_err(|_| FetchError::BadUrl {
        url: base.to_owned(),
    })?;
    let origin = format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("https"),
        uri.authority().map(|a| a.as_str()).unwrap_or("")
    );
    if location.starts_with('/') {
        Ok(format!("{origin}{location}"))
    } else {
        let dir = uri.path().rsplit_once('/').map_or("", |(d, _)| d);
        Ok(format!("{origin}{dir}/{location}"))
    }
}

/// reqwest's Display hides the cause (e.g. the certificate error); show the chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_locations() {
        assert_eq!(
            join("https://a.example/x/y", "/z").unwrap(),
            "https://a.example/z"
        );
        assert_eq!(
            join("https://a.example/x/y", "z").unwrap(),
            "https://a.example/x/z"
        );
        assert_eq!(
            join("https://a.example/x/y", "https://b.example/q").unwrap(),
            "https://b.example/q"
        );
    }
}
