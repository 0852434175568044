//! Where each issuer URL is served from: the fake S3 or a configured local endpoint.
//! Anything else is unroutable, so nothing ever leaves the machine.

use std::net::IpAddr;

use reqwest::{Certificate, Client, Url, redirect};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha1::{Digest, Sha1};

use super::fetch::FetchError;
use super::s3_url::{S3Object, is_aws_host, s3_object};
use super::served_by::ServedBy;

/// Why a mapping could not be added.
#[derive(Debug, thiserror::Error)]
pub enum RouteConfigError {
    #[error("invalid mapping prefix {prefix:?}: {reason}")]
    InvalidPrefix { prefix: String, reason: String },
    #[error("invalid mapping target {target:?}: {reason}")]
    InvalidTarget { target: String, reason: String },
    #[error("mapping prefix {prefix:?} is already mapped")]
    DuplicatePrefix { prefix: String },
    #[error("invalid CA certificate for mapping {prefix:?}: {reason}")]
    InvalidCa { prefix: String, reason: String },
    #[error("could not build the HTTP client for mapping {prefix:?}")]
    Client {
        prefix: String,
        #[source]
        source: reqwest::Error,
    },
}

/// The issuer routing table: explicit URL-prefix mappings, then the built-in S3 rules.
///
/// Mapped requests go to the target with the target's own `Host` header and TLS server
/// name (so a local test certificate only needs the target's name, e.g. `127.0.0.1`),
/// not the customer's host. Targets must be loopback.
#[derive(Debug, Clone, Default)]
pub struct IssuerRoutes {
    mappings: Vec<Mapping>,
}

#[derive(Debug, Clone)]
struct Mapping {
    prefix: String,
    scheme: String,
    host: String,
    port: Option<u16>,
    /// Path prefix without a trailing slash (`""` for a whole host).
    path: String,
    target: Url,
    client: Client,
    served_by: ServedBy,
}

/// Where one URL is fetched from.
#[derive(Debug)]
pub(crate) enum Route<'a> {
    S3(S3Object),
    /// A `*.cloudfront.net` host: the emulator's CloudFront edge.
    Edge {
        host: String,
        path: String,
    },
    Mapped {
        url: Url,
        client: &'a Client,
        served_by: &'a ServedBy,
    },
}

impl IssuerRoutes {
    /// An empty table: only S3 URLs resolve.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps every URL starting with `prefix` (an `https://` URL, matched on whole path
    /// segments; the longest matching prefix wins) to the same remaining path under
    /// `target` (`https://` or `http://` on a loopback address). `ca_pem` holds the CA
    /// certificate(s) trusted for an HTTPS target; without it no certificate is trusted.
    ///
    /// # Errors
    /// Bad URLs, a non-loopback target, a duplicate prefix, or unparsable PEM (a CA given
    /// for a plain `http://` target is ignored).
    pub fn add_mapping(
        &mut self,
        prefix: &str,
        target: &str,
        ca_pem: Option<&str>,
    ) -> Result<&mut Self, RouteConfigError> {
        let bad_prefix = |reason: &str| RouteConfigError::InvalidPrefix {
            prefix: prefix.to_owned(),
            reason: reason.to_owned(),
        };
        let bad_target = |reason: &str| RouteConfigError::InvalidTarget {
            target: target.to_owned(),
            reason: reason.to_owned(),
        };
        let prefix_url = Url::parse(prefix).map_err(|e| bad_prefix(&e.to_string()))?;
        if prefix_url.scheme() != "https" {
            return Err(bad_prefix("issuer URLs are https (AWS requires it)"));
        }
        let host = prefix_url
            .host_str()
            .ok_or_else(|| bad_prefix("no host"))?
            .to_owned();
        let path = prefix_url.path().trim_end_matches('/').to_owned();
        let port = prefix_url.port_or_known_default();
        if self
            .mappings
            .iter()
            .any(|m| m.host == host && m.port == port && m.path == path)
        {
            return Err(RouteConfigError::DuplicatePrefix {
                prefix: prefix.to_owned(),
            });
        }

        let mut target_url = Url::parse(target).map_err(|e| bad_target(&e.to_string()))?;
        let plain = match target_url.scheme() {
            "https" => false,
            "http" => true,
            _ => return Err(bad_target("the scheme must be https or http")),
        };
        if !is_loopback(&target_url) {
            return Err(bad_target(
                "targets must be loopback (127.0.0.0/8, ::1, localhost): irsa-lab never contacts other machines",
            ));
        }
        let trimmed = target_url.path().trim_end_matches('/').to_owned();
        target_url.set_path(&trimmed);
        target_url.set_query(None);
        target_url.set_fragment(None);

        let mut builder = Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            // Redirects are followed by the fetcher so each hop is routed again.
            .redirect(redirect::Policy::none())
            // A proxy from the environment could carry the request off the machine.
            .no_proxy();
        let served_by = match (plain, ca_pem) {
            // A CA means nothing over plain HTTP; `serve --issuer-ca` applies one CA to
            // every mapping, so it is ignored here rather than refused.
            (true, _) => ServedBy::PlainHttp,
            // No CA: nothing is trusted, every handshake fails. Useful to reproduce an
            // untrusted certificate; the empty thumbprint is never reported.
            (false, None) => ServedBy::CustomCa {
                sha1_thumbprint: String::new(),
            },
            (false, Some(pem)) => {
                let ders = parse_pem(prefix, pem)?;
                let sha1_thumbprint = ders.first().map(|der| hex::encode(Sha1::digest(der)));
                for der in &ders {
                    let cert =
                        Certificate::from_der(der).map_err(|e| RouteConfigError::InvalidCa {
                            prefix: prefix.to_owned(),
                            reason: e.to_string(),
                        })?;
                    builder = builder.add_root_certificate(cert);
                }
                ServedBy::CustomCa {
                    sha1_thumbprint: sha1_thumbprint.unwrap_or_default(),
                }
            }
        };
        let client = builder.build().map_err(|source| RouteConfigError::Client {
            prefix: prefix.to_owned(),
            source,
        })?;
        self.mappings.push(Mapping {
            prefix: prefix.to_owned(),
            scheme: prefix_url.scheme().to_owned(),
            host,
            port,
            path,
            target: target_url,
            client,
            served_by,
        });
        Ok(self)
    }

    /// The route for a customer-facing URL: a mapping (longest prefix), else S3, else
    /// an error that names the host. Only `https` URLs are accepted.
    pub(crate) fn route(&self, url: &Url) -> Result<Route<'_>, FetchError> {
        if url.scheme() != "https" {
            return Err(FetchError::NotHttps {
                url: url.to_string(),
            });
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let port = url.port_or_known_default();
        let best = self
            .mappings
            .iter()
            .filter(|m| m.scheme == url.scheme() && m.host == host && m.port == port)
            .filter(|m| path_has_prefix(url.path(), &m.path))
            .max_by_key(|m| m.path.len());
        if let Some(mapping) = best {
            let rest = &url.path()[mapping.path.len()..];
            let mut mapped = mapping.target.clone();
            let path = format!("{}{}", mapping.target.path().trim_end_matches('/'), rest);
            mapped.set_path(if path.is_empty() { "/" } else { &path });
            mapped.set_query(url.query());
            tracing::debug!(%url, target = %mapped, prefix = %mapping.prefix, "issuer URL mapped");
            return Ok(Route::Mapped {
                url: mapped,
                client: &mapping.client,
                served_by: &mapping.served_by,
            });
        }
        if let Some(object) = s3_object(url) {
            return Ok(Route::S3(object));
        }
        if host.ends_with(".cloudfront.net") {
            return Ok(Route::Edge {
                host,
                path: url.path().to_owned(),
            });
        }
        if is_aws_host(&host) {
            return Err(FetchError::AwsHost { host });
        }
        Err(FetchError::Unroutable { host })
    }
}

/// True when `path` is `prefix` or continues it with a new segment.
fn path_has_prefix(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

fn parse_pem(prefix: &str, pem: &str) -> Result<Vec<Vec<u8>>, RouteConfigError> {
    let invalid = |reason: String| RouteConfigError::InvalidCa {
        prefix: prefix.to_owned(),
        reason,
    };
    let ders = CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|cert| cert.map(|c| c.as_ref().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    if ders.is_empty() {
        return Err(invalid("no CERTIFICATE block found".to_owned()));
    }
    Ok(ders)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> IssuerRoutes {
        let mut routes = IssuerRoutes::new();
        routes
            .add_mapping("https://oidc.example.com", "http://127.0.0.1:8080/x/", None)
            .unwrap()
            .add_mapping(
                "https://oidc.example.com/deep",
                "http://127.0.0.1:9090",
                None,
            )
            .unwrap()
            .add_mapping(
                "https://d111111abcdef8.cloudfront.net/o7k/",
                "https://localhost:6443",
                None,
            )
            .unwrap()
            .add_mapping("https://s3.amazonaws.com/mapped", "http://[::1]:7000", None)
            .unwrap();
        routes
    }

    /// `Some(target)` for a mapping, `None` for S3; panics on errors (asserted elsewhere).
    fn target(routes: &IssuerRoutes, url: &str) -> Option<String> {
        match routes.route(&Url::parse(url).unwrap()).unwrap() {
            Route::Mapped { url, .. } => Some(url.to_string()),
            Route::S3(_) | Route::Edge { .. } => None,
        }
    }

    #[test]
    fn mappings_rewrite_to_the_target_and_longest_prefix_wins() {
        let routes = routes();
        let cases = [
            (
                "https://oidc.example.com/.well-known/openid-configuration",
                "http://127.0.0.1:8080/x/.well-known/openid-configuration",
            ),
            ("https://oidc.example.com", "http://127.0.0.1:8080/x/"),
            (
                "https://OIDC.example.com:443/keys?a=1",
                "http://127.0.0.1:8080/x/keys?a=1",
            ),
            (
                "https://oidc.example.com/deep/keys.json",
                "http://127.0.0.1:9090/keys.json",
            ),
            ("https://oidc.example.com/deep", "http://127.0.0.1:9090/"),
            // Whole segments only: /deeper is not under /deep.
            (
                "https://oidc.example.com/deeper/k",
                "http://127.0.0.1:8080/x/deeper/k",
            ),
            (
                "https://d111111abcdef8.cloudfront.net/o7k/openid/v1/jwks",
                "https://localhost:6443/openid/v1/jwks",
            ),
            // An explicit mapping beats the built-in S3 rule.
            ("https://s3.amazonaws.com/mapped/k", "http://[::1]:7000/k"),
        ];
        for (url, expected) in cases {
            assert_eq!(target(&routes, url).as_deref(), Some(expected), "{url}");
        }
    }

    #[test]
    fn s3_urls_route_to_the_fake_s3() {
        let routes = routes();
        match routes
            .route(&Url::parse("https://b.s3.us-east-1.amazonaws.com/o7k/keys.json").unwrap())
            .unwrap()
        {
            Route::S3(object) => {
                assert_eq!(object.bucket, "b");
                assert_eq!(object.key, "o7k/keys.json");
            }
            other => panic!("expected S3, got {other:?}"),
        }
    }

    #[test]
    fn unmapped_hosts_are_unroutable_with_a_hint() {
        let routes = routes();
        for url in [
            "https://oidc.example.com.evil.test/k",
            "https://oidc.example.com:8443/k",
            "https://kubernetes.default.svc/openid/v1/jwks",
        ] {
            let error = routes.route(&Url::parse(url).unwrap()).unwrap_err();
            assert!(
                matches!(error, FetchError::Unroutable { .. }),
                "{url}: {error:?}"
            );
            let text = error.to_string();
            assert!(text.contains("no route for host"), "{text}");
            assert!(text.contains("never contacts the internet"), "{text}");
        }
    }

    #[test]
    fn unmapped_cloudfront_hosts_go_to_the_emulated_edge() {
        let routes = routes();
        match routes
            .route(&Url::parse("https://D111111abcdef8.cloudfront.net/other/keys").unwrap())
            .unwrap()
        {
            Route::Edge { host, path } => {
                assert_eq!(host, "d111111abcdef8.cloudfront.net");
                assert_eq!(path, "/other/keys");
            }
            other => panic!("expected the edge, got {other:?}"),
        }
    }

    #[test]
    fn non_s3_amazonaws_hosts_are_never_contacted() {
        let routes = routes();
        for url in [
            "https://sts.amazonaws.com/",
            "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
            "https://iam.amazonaws.com/",
        ] {
            let error = routes.route(&Url::parse(url).unwrap()).unwrap_err();
            assert!(
                matches!(error, FetchError::AwsHost { .. }),
                "{url}: {error:?}"
            );
            assert!(error.to_string().contains("never contacts real AWS"));
        }
    }

    #[test]
    fn plain_http_customer_urls_are_refused() {
        let error = routes()
            .route(&Url::parse("http://oidc.example.com/k").unwrap())
            .unwrap_err();
        assert!(matches!(error, FetchError::NotHttps { .. }), "{error:?}");
    }

    #[test]
    fn invalid_mappings_are_rejected() {
        let mut routes = IssuerRoutes::new();
        let err = routes
            .add_mapping("http://x.example", "http://127.0.0.1:1", None)
            .unwrap_err();
        assert!(
            matches!(err, RouteConfigError::InvalidPrefix { .. }),
            "{err:?}"
        );
        let err = routes
            .add_mapping("https://x.example", "http://10.0.0.1:1", None)
            .unwrap_err();
        assert!(
            matches!(err, RouteConfigError::InvalidTarget { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("loopback"));
        let err = routes
            .add_mapping("https://x.example", "ftp://127.0.0.1", None)
            .unwrap_err();
        assert!(
            matches!(err, RouteConfigError::InvalidTarget { .. }),
            "{err:?}"
        );
        let err = routes
            .add_mapping("https://x.example", "https://127.0.0.1", Some("not pem"))
            .unwrap_err();
        assert!(matches!(err, RouteConfigError::InvalidCa { .. }), "{err:?}");
        // A CA for a plain-HTTP target is ignored (one `--issuer-ca` serves all mappings).
        routes
            .add_mapping("https://x.example", "http://127.0.0.1", Some("not pem"))
            .unwrap();
        match routes
            .route(&Url::parse("https://x.example/k").unwrap())
            .unwrap()
        {
            Route::Mapped { served_by, .. } => assert_eq!(served_by, &ServedBy::PlainHttp),
            other => panic!("expected a mapping, got {other:?}"),
        }
        routes
            .add_mapping("https://x.example/a", "http://127.0.0.1", None)
            .unwrap();
        let err = routes
            .add_mapping("https://x.example/a/", "http://127.0.0.2", None)
            .unwrap_err();
        assert!(
            matches!(err, RouteConfigError::DuplicatePrefix { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn ca_mapping_reports_the_sha1_thumbprint_of_the_ca() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let mut routes = IssuerRoutes::new();
        routes
            .add_mapping(
                "https://x.example",
                "https://127.0.0.1:6443",
                Some(&ca.pem()),
            )
            .unwrap();
        let expected = hex::encode(Sha1::digest(ca.der()));
        match routes
            .route(&Url::parse("https://x.example/k").unwrap())
            .unwrap()
        {
            Route::Mapped { served_by, .. } => assert_eq!(
                served_by,
                &ServedBy::CustomCa {
                    sha1_thumbprint: expected
                }
            ),
            other => panic!("expected a mapping, got {other:?}"),
        }
    }
}
