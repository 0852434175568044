//! Recognising S3 URLs in every form customers write them, to send them to the fake S3.

use percent_encoding::percent_decode_str;
use reqwest::Url;

/// Domains under which AWS serves its endpoints (commercial and China partitions).
const AWS_DOMAINS: [&str; 2] = [".amazonaws.com", ".amazonaws.com.cn"];

/// An object addressed by an S3 URL. Either part may be empty: the caller treats that as
/// "not found", like S3 answering a bucket listing or an empty key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
}

/// True for any host under an AWS domain: those are never contacted, S3 or not.
pub(crate) fn is_aws_host(host: &str) -> bool {
    AWS_DOMAINS
        .iter()
        .any(|domain| host.ends_with(domain) || host == &domain[1..])
}

/// The object an S3 URL designates, or `None` when the host is not an S3 endpoint.
///
/// Path style: `s3.amazonaws.com`, `s3.<region>.amazonaws.com`, `s3-<region>.amazonaws.com`,
/// `s3.dualstack.<region>.amazonaws.com`, with `/<bucket>/<key>`. Virtual-hosted: any of
/// those endpoints prefixed by `<bucket>.`, with `/<key>`; a bucket may contain dots, so
/// it is everything before the first `.s3` that starts a valid endpoint.
pub fn s3_object(url: &Url) -> Option<S3Object> {
    let host = url.host_str()?.to_ascii_lowercase();
    let rest = AWS_DOMAINS
        .iter()
        .find_map(|domain| host.strip_suffix(domain))?;
    let path = url.path();
    if is_s3_endpoint(rest) {
        let path = path.strip_prefix('/').unwrap_or(path);
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        return Some(S3Object {
            bucket: decode(bucket),
            key: decode(key),
        });
    }
    let bucket = rest
        .match_indices(".s3")
        .map(|(at, _)| at)
        .find(|&at| is_s3_endpoint(&rest[at + 1..]))
        .map(|at| &rest[..at])?;
    Some(S3Object {
        bucket: bucket.to_owned(),
        key: decode(path.strip_prefix('/').unwrap_or(path)),
    })
}

/// `s3`, `s3.<region>`, `s3-<region>` or `s3.dualstack.<region>` (the host minus the AWS
/// domain). Regions never contain dots, which is what keeps dotted bucket names apart.
fn is_s3_endpoint(label: &str) -> bool {
    if label == "s3" {
        return true;
    }
    let region = label
        .strip_prefix("s3.dualstack.")
        .or_else(|| label.strip_prefix("s3."))
        .or_else(|| label.strip_prefix("s3-"));
    region.is_some_and(is_region)
}

fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn decode(part: &str) -> String {
    percent_decode_str(part).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(url: &str) -> Option<(String, String)> {
        let url = Url::parse(url).unwrap();
        s3_object(&url).map(|o| (o.bucket, o.key))
    }

    #[test]
    fn every_s3_url_form_resolves_to_bucket_and_key() {
        let cases = [
            ("https://s3.amazonaws.com/b/k", "b", "k"),
            (
                "https://s3.us-east-1.amazonaws.com/b/.well-known/openid-configuration",
                "b",
                ".well-known/openid-configuration",
            ),
            (
                "https://s3-eu-west-1.amazonaws.com/b/keys.json",
                "b",
                "keys.json",
            ),
            ("https://s3-external-1.amazonaws.com/b/k", "b", "k"),
            (
                "https://s3.dualstack.us-west-2.amazonaws.com/b/a/b",
                "b",
                "a/b",
            ),
            ("https://b.s3.amazonaws.com/k", "b", "k"),
            (
                "https://b.s3.us-east-1.amazonaws.com/o7k/keys.json",
                "b",
                "o7k/keys.json",
            ),
            ("https://b.s3-us-west-2.amazonaws.com/k", "b", "k"),
            (
                "https://b.s3.dualstack.eu-central-1.amazonaws.com/k",
                "b",
                "k",
            ),
            (
                "https://my.dotted.bucket.s3.amazonaws.com/k",
                "my.dotted.bucket",
                "k",
            ),
            ("https://a.s3-x.s3.us-east-1.amazonaws.com/k", "a.s3-x", "k"),
            ("https://B.S3.AMAZONAWS.COM/k", "b", "k"),
            ("https://b.s3.cn-north-1.amazonaws.com.cn/k", "b", "k"),
            (
                "https://s3.amazonaws.com/b/with%20space/%2Fx",
                "b",
                "with space//x",
            ),
            ("https://s3.amazonaws.com/b/k?versionId=1", "b", "k"),
        ];
        for (url, bucket, key) in cases {
            assert_eq!(
                object(url),
                Some((bucket.to_owned(), key.to_owned())),
                "{url}"
            );
        }
    }

    #[test]
    fn empty_bucket_or_key_is_reported_empty() {
        assert_eq!(
            object("https://s3.amazonaws.com/"),
            Some((String::new(), String::new()))
        );
        assert_eq!(
            object("https://s3.amazonaws.com/b"),
            Some(("b".into(), String::new()))
        );
        assert_eq!(
            object("https://b.s3.amazonaws.com/"),
            Some(("b".into(), String::new()))
        );
    }

    #[test]
    fn other_hosts_are_not_s3() {
        for url in [
            "https://sts.amazonaws.com/",
            "https://iam.amazonaws.com/",
            "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
            "https://s3.us.east.amazonaws.com/b/k",
            "https://s3.example.com/b/k",
            "https://bucket.s3.amazonaws.com.evil.example/k",
            "https://d111111abcdef8.cloudfront.net/k",
        ] {
            assert_eq!(object(url), None, "{url}");
        }
    }

    #[test]
    fn aws_hosts_are_recognised() {
        assert!(is_aws_host("sts.amazonaws.com"));
        assert!(is_aws_host("oidc.eks.cn-north-1.amazonaws.com.cn"));
        assert!(!is_aws_host("amazonaws.com.example"));
        assert!(!is_aws_host("d111111abcdef8.cloudfront.net"));
    }
}
