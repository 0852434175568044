//! Which bucket and key a request addresses, path-style or virtual-hosted.
//!
//! Behind a local endpoint the Host is `127.0.0.1:PORT` or `localhost:PORT` (path-style:
//! `/bucket/key`), or `bucket.localhost:PORT` / `bucket.s3.<region>.amazonaws.com` when a
//! client uses virtual-hosted addressing (the bucket is the part before `.localhost` or
//! `.s3`).

use percent_encoding::percent_decode_str;

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addressed {
    /// `/`: the service (ListBuckets).
    Service,
    Bucket(String),
    Object {
        bucket: String,
        key: String,
    },
}

fn bucket_from_host(host: &str) -> Option<&str> {
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.parse::<u16>().is_ok())
        .map_or(host, |(h, _)| h);
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') || host == "localhost" {
        return None;
    }
    if let Some(bucket) = host.strip_suffix(".localhost") {
        return Some(bucket.strip_suffix(".s3").unwrap_or(bucket));
    }
    // bucket.s3.amazonaws.com, bucket.s3.<region>.amazonaws.com, bucket.s3-<region>.amazonaws.com
    let index = host.find(".s3.").or_else(|| host.find(".s3-"))?;
    Some(&host[..index]).filter(|b| !b.is_empty())
}

/// Addresses a request from its Host header and (raw, percent-encoded) path.
pub fn address(host: Option<&str>, path: &str) -> Addressed {
    let decoded = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let path = path.strip_prefix('/').unwrap_or(path);
    if let Some(bucket) = host.and_then(bucket_from_host) {
        return if path.is_empty() {
            Addressed::Bucket(bucket.to_owned())
        } else {
            Addressed::Object {
                bucket: bucket.to_owned(),
                key: decoded(path),
            }
        };
    }
    match path.split_once('/') {
        None if path.is_empty() => Addressed::Service,
        None => Addressed::Bucket(decoded(path)),
        Some((bucket, "")) => Addressed::Bucket(decoded(bucket)),
        Some((bucket, key)) => Addressed::Object {
            bucket: decoded(bucket),
            key: decoded(key),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(bucket: &str, key: &str) -> Addressed {
        Addressed::Object {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    #[test]
    fn path_style() {
        assert_eq!(address(Some("127.0.0.1:4577"), "/"), Addressed::Service);
        assert_eq!(
            address(Some("localhost:4577"), "/oidc-test"),
            Addressed::Bucket("oidc-test".into())
        );
        assert_eq!(
            address(Some("127.0.0.1"), "/oidc-test/"),
            Addressed::Bucket("oidc-test".into())
        );
        assert_eq!(
            address(
                Some("127.0.0.1:1"),
                "/oidc-test/.well-known/openid-configuration"
            ),
            object("oidc-test", ".well-known/openid-configuration")
        );
        assert_eq!(address(None, "/b-1/a%20b%2Bc"), object("b-1", "a b+c"));
    }

    #[test]
    fn virtual_hosted() {
        assert_eq!(
            address(Some("oidc-test.localhost:4577"), "/keys.json"),
            object("oidc-test", "keys.json")
        );
        assert_eq!(
            address(Some("oidc-test.s3.localhost"), "/"),
            Addressed::Bucket("oidc-test".into())
        );
        assert_eq!(
            address(
                Some("my.bucket.s3.us-west-2.amazonaws.com"),
                "/o7k/keys.json"
            ),
            object("my.bucket", "o7k/keys.json")
        );
        assert_eq!(
            address(Some("b.s3-eu-west-1.amazonaws.com"), "/k"),
            object("b", "k")
        );
    }
}
