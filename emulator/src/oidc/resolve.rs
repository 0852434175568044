//! Where an issuer URL is really served from. Customers' URLs are kept verbatim
//! (`https://s3.us-east-1.amazonaws.com/bucket`, `https://bucket.s3.amazonaws.com/o7k`, a
//! CloudFront host, the apiserver itself); this maps them to the fake S3 or to a local
//! endpoint, and refuses everything else so that nothing ever leaves the machine.

use http::Uri;
use percent_encoding::percent_decode_str;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha1::{Digest, Sha1};

/// Where a URL is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// An object of the fake S3.
    S3 { bucket: String, key: String },
    /// A local endpoint: `url` is the rewritten URL; `mapping` indexes the mapping used.
    Mapped { url: String, mapping: usize },
    /// Not servable; the string says why.
    Unroutable,
}

/// Why a mapping was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("prefix {0:?} must be an https:// URL (the issuer as tokens carry it)")]
    BadPrefix(String),
    #[error(
        "target {0:?} must be an http:// or https:// URL on this machine (127.0.0.0/8, ::1 or localhost)"
    )]
    BadTarget(String),
    #[error("CA certificate: {0}")]
    BadCa(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    pub prefix: String,
    pub target: String,
    pub ca: Option<CertificateDer<'static>>,
    /// SHA-1 of the CA's DER, lower-case hex: what IAM thumbprints are.
    pub ca_thumbprint: Option<String>,
}

/// Issuer URL prefixes mapped to local endpoints. S3 hostnames need no mapping.
#[derive(Debug, Clone, Default)]
pub struct IssuerRoutes {
    pub(crate) mappings: Vec<Mapping>,
}

fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl IssuerRoutes {
    /// Maps every URL starting with `prefix` to `target` + the rest. `ca_pem` is a CA
    /// certificate to trust for an https target (e.g. a kube-apiserver's ca.crt).
    pub fn add_mapping(
        &mut self,
        prefix: &str,
        target: &str,
        ca_pem: Option<&str>,
    ) -> Result<(), RouteError> {
        if !prefix.starts_with("https://") || prefix.parse::<Uri>().is_err() {
            return Err(RouteError::BadPrefix(prefix.to_owned()));
        }
        let target_uri: Uri = target
            .parse()
            .map_err(|_| RouteError::BadTarget(target.to_owned()))?;
        let scheme_ok = matches!(target_uri.scheme_str(), Some("http" | "https"));
        if !scheme_ok || !target_uri.host().is_some_and(is_local_host) {
            return Err(RouteError::BadTarget(target.to_owned()));
        }
        let ca = match ca_pem {
            Some(pem) => Some(
                CertificateDer::from_pem_slice(pem.as_bytes())
                    .map_err(|e| RouteError::BadCa(e.to_string()))?,
            ),
            None => None,
        };
        let ca_thumbprint = ca
            .as_ref()
            .map(|der| hex::encode(Sha1::digest(der.as_ref())));
        self.mappings.push(Mapping {
            prefix: prefix.trim_end_matches('/').to_owned(),
            target: target.trim_end_matches('/').to_owned(),
            ca,
            ca_thumbprint,
        });
        Ok(())
    }

    /// Where `url` is served from.
    pub fn resolve(&self, url: &str) -> Route {
        let best = self
            .mappings
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                url == m.prefix
                    || url
                        .strip_prefix(&m.prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|(_, m)| m.prefix.len());
        if let Some((index, m)) = best {
            return Route::Mapped {
                url: format!("{}{}", m.target, &url[m.prefix.len()..]),
                mapping: index,
            };
        }
        s3_route(url).unwrap_or(Route::Unroutable)
    }
}

/// S3 URLs in every form AWS serves them.
fn s3_route(url: &str) -> Option<Route> {
    let uri: Uri = url.parse().ok()?;
    if uri.scheme_str() != Some("https") || uri.port_u16().is_some_and(|p| p != 443) {
        return None;
    }
    let host = uri.host()?.to_ascii_lowercase();
    let domain = host.strip_suffix(".amazonaws.com")?;
    let path = uri.path().strip_prefix('/').unwrap_or("");
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let is_s3_endpoint = |d: &str| {
        d == "s3"
            || d.strip_prefix("s3.").is_some_and(|r| !r.contains("s3"))
            || d.strip_prefix("s3-").is_some_and(|r| !r.contains('.'))
    };
    if is_s3_endpoint(domain) {
        // Path-style: /bucket/key
        let (bucket, key) = path.split_once('/')?;
        return (!bucket.is_empty() && !key.is_empty()).then(|| Route::S3 {
            bucket: decode(bucket),
            key: decode(key),
        });
    }
    // Virtual-hosted: bucket.s3[.-]... ; the bucket may itself contain dots.
    let split = if domain.ends_with(".s3") {
        domain.len() - 3
    } else {
        domain.rfind(".s3.").or_else(|| domain.rfind(".s3-"))?
    };
    let (bucket, endpoint) = (&domain[..split], &domain[split + 1..]);
    (is_s3_endpoint(endpoint) && !bucket.is_empty() && !path.is_empty()).then(|| Route::S3 {
        bucket: bucket.to_owned(),
        key: decode(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(bucket: &str, key: &str) -> Route {
        Route::S3 {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    #[test]
    fn every_s3_form_routes_to_the_fake_s3() {
        let routes = IssuerRoutes::default();
        let k = "/.well-known/openid-configuration";
        for (url, bucket, key) in [
            (
                format!("https://s3.amazonaws.com/oidc-test{k}"),
                "oidc-test",
                ".well-known/openid-configuration",
            ),
            (
                format!("https://s3.us-west-2.amazonaws.com/oidc-test{k}"),
                "oidc-test",
                ".well-known/openid-configuration",
            ),
            (
                format!("https://s3-us-west-2.amazonaws.com/oidc-test{k}"),
                "oidc-test",
                ".well-known/openid-configuration",
            ),
            (
                format!("https://s3.dualstack.eu-west-1.amazonaws.com/oidc-test{k}"),
                "oidc-test",
                ".well-known/openid-configuration",
            ),
            (
                "https://oidc-test.s3.amazonaws.com/o7k/keys.json".into(),
                "oidc-test",
                "o7k/keys.json",
            ),
            (
                "https://oidc-test.s3.us-east-1.amazonaws.com/keys.json".into(),
                "oidc-test",
                "keys.json",
            ),
            (
                "https://oidc-test.s3-eu-west-1.amazonaws.com/keys.json".into(),
                "oidc-test",
                "keys.json",
            ),
            (
                "https://my.dotted.bucket.s3.amazonaws.com/keys.json".into(),
                "my.dotted.bucket",
                "keys.json",
            ),
            (
                "https://s3.amazonaws.com/b-1/a%20b.json".into(),
                "b-1",
                "a b.json",
            ),
        ] {
            assert_eq!(routes.resolve(&url), s3(bucket, key), "{url}");
        }
    }

    #[test]
    fn everything_else_is_unroutable() {
        let routes = IssuerRoutes::default();
        for url in [
            "https://sts.amazonaws.com/x",
            "https://oidc.eks.us-west-2.amazonaws.com/id/ABC/.well-known/openid-configuration",
            "https://iam.amazonaws.com/x",
            "http://s3.amazonaws.com/b/k",
            "https://s3.amazonaws.com/bucket-only",
            "https://s3.amazonaws.com:8443/b/k",
            "https://example.com/.well-known/openid-configuration",
            "https://d111111abcdef8.cloudfront.net/keys.json",
            "not a url",
        ] {
            assert_eq!(routes.resolve(url), Route::Unroutable, "{url}");
        }
    }

    #[test]
    fn mappings_use_the_longest_prefix_and_stay_local() {
        let mut routes = IssuerRoutes::default();
        routes
            .add_mapping("https://oidc.example.com", "http://127.0.0.1:8080", None)
            .unwrap();
        routes
            .add_mapping(
                "https://oidc.example.com/cluster-b",
                "https://localhost:6443/",
                None,
            )
            .unwrap();
        assert_eq!(
            routes.resolve("https://oidc.example.com/.well-known/openid-configuration"),
            Route::Mapped {
                url: "http://127.0.0.1:8080/.well-known/openid-configuration".into(),
                mapping: 0
            }
        );
        assert_eq!(
            routes.resolve("https://oidc.example.com/cluster-b/openid/v1/jwks"),
            Route::Mapped {
                url: "https://localhost:6443/openid/v1/jwks".into(),
                mapping: 1
            }
        );
        // A prefix only matches whole path segments.
        assert_eq!(
            routes.resolve("https://oidc.example.com.evil.io/x"),
            Route::Unroutable
        );
        assert!(matches!(
            routes.add_mapping("https://x.example", "https://10.0.0.5:6443", None),
            Err(RouteError::BadTarget(_))
        ));
        assert!(matches!(
            routes.add_mapping("https://x.example", "https://example.org", None),
            Err(RouteError::BadTarget(_))
        ));
        assert!(matches!(
            routes.add_mapping("http://x.example", "http://127.0.0.1:1", None),
            Err(RouteError::BadPrefix(_))
        ));
        assert!(matches!(
            routes.add_mapping("https://x.example", "http://127.0.0.1:1", Some("junk")),
            Err(RouteError::BadCa(_))
        ));
    }
}
