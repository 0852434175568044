//! Which service a request is for. AWS tells services apart by hostname; behind one local
//! endpoint we use what the request itself says, in order of reliability:
//! 1. the SigV4 credential scope (`.../us-east-1/iam/aws4_request`), which every signed
//!    SDK and CLI call carries;
//! 2. for unsigned Query-protocol calls (`AssumeRoleWithWebIdentity` needs no signature),
//!    the `Version` parameter, then the action name;
//! 3. anything else is S3's REST API (anonymous object reads, as STS itself makes).

use http::request::Parts;
use http::{Method, header};

use crate::query::QueryRequest;

/// The service that handles a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Service {
    Sts(QueryRequest),
    Iam(QueryRequest),
    S3,
    /// CloudFront's REST-XML API (signed for `cloudfront`).
    CloudFront,
    /// A read of a distribution's domain (`Host: dXXXX.cloudfront.net`), as `curl` makes
    /// it in the guides: served by the emulated edge.
    Edge,
    /// A Query-protocol request that could not be parsed (the message says why).
    BadQuery {
        sts: bool,
        message: String,
    },
}

const STS_VERSION: &str = "2011-06-15";
const IAM_VERSION: &str = "2010-05-08";
const STS_ACTIONS: &[&str] = &[
    "AssumeRoleWithWebIdentity",
    "GetCallerIdentity",
    "AssumeRole",
    "AssumeRoleWithSAML",
    "GetSessionToken",
    "GetFederationToken",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
];

/// Decides which service `parts`/`body` is addressed to. `scope_service` is the service
/// named in the SigV4 credential scope, when the request is signed.
pub fn classify(parts: &Parts, body: &[u8], scope_service: Option<&str>) -> Service {
    match scope_service {
        Some("s3") => return Service::S3,
        Some("sts") => return query(parts, body, true),
        Some("iam") => return query(parts, body, false),
        Some("cloudfront") => return Service::CloudFront,
        _ => {}
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(parts.uri.host());
    if scope_service.is_none() && host.is_some_and(crate::cloudfront::is_distribution_host) {
        return Service::Edge;
    }
    if !looks_like_query(parts, body) {
        return Service::S3;
    }
    match QueryRequest::parse(parts.uri.query(), form_body(parts, body)) {
        Ok(req) => {
            let sts = match req.version.as_deref() {
                Some(STS_VERSION) => true,
                Some(IAM_VERSION) => false,
                _ => STS_ACTIONS.contains(&req.action.as_str()),
            };
            if sts {
                Service::Sts(req)
            } else {
                Service::Iam(req)
            }
        }
        Err(e) => Service::BadQuery {
            sts: true,
            message: e.to_string(),
        },
    }
}

fn query(parts: &Parts, body: &[u8], sts: bool) -> Service {
    match QueryRequest::parse(parts.uri.query(), form_body(parts, body)) {
        Ok(req) if sts => Service::Sts(req),
        Ok(req) => Service::Iam(req),
        Err(e) => Service::BadQuery {
            sts,
            message: e.to_string(),
        },
    }
}

fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

fn form_body<'a>(parts: &Parts, body: &'a [u8]) -> &'a [u8] {
    if is_form(parts) { body } else { &[] }
}

/// A Query-protocol call carries `Action=` in its form body (POST) or query string (GET).
fn looks_like_query(parts: &Parts, body: &[u8]) -> bool {
    let in_query = parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("Action=")));
    let in_form = parts.method == Method::POST
        && is_form(parts)
        && body
            .split(|b| *b == b'&')
            .any(|kv| kv.starts_with(b"Action="));
    in_query || in_form
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    fn parts(method: &str, uri: &str, form: bool) -> Parts {
        let mut builder = Request::builder().method(method).uri(uri);
        if form {
            builder = builder.header(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            );
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn unsigned_assume_role_goes_to_sts() {
        let p = parts("POST", "/", true);
        let s = classify(
            &p,
            b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=x",
            None,
        );
        assert!(matches!(s, Service::Sts(ref q) if q.action == "AssumeRoleWithWebIdentity"));
    }

    #[test]
    fn get_with_query_goes_to_sts() {
        let p = parts(
            "GET",
            "/?Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
            false,
        );
        assert!(matches!(classify(&p, b"", None), Service::Sts(_)));
    }

    #[test]
    fn signed_scope_decides() {
        let p = parts("POST", "/", true);
        assert!(matches!(
            classify(&p, b"Action=CreateRole&Version=2010-05-08", Some("iam")),
            Service::Iam(_)
        ));
        assert_eq!(classify(&p, b"Action=CreateRole", Some("s3")), Service::S3);
    }

    #[test]
    fn unsigned_iam_version_goes_to_iam() {
        let p = parts("POST", "/", true);
        assert!(matches!(
            classify(&p, b"Action=ListRoles&Version=2010-05-08", None),
            Service::Iam(_)
        ));
    }

    #[test]
    fn object_reads_go_to_s3() {
        let p = parts("GET", "/oidc-test/.well-known/openid-configuration", false);
        assert_eq!(classify(&p, b"", None), Service::S3);
        let p = parts("PUT", "/oidc-test/keys.json", false);
        assert_eq!(
            classify(&p, b"Action=looks-like-but-not-form", None),
            Service::S3
        );
    }

    #[test]
    fn cloudfront_scope_goes_to_cloudfront() {
        let p = parts("POST", "/2020-05-31/distribution", false);
        assert_eq!(
            classify(&p, b"<DistributionConfig/>", Some("cloudfront")),
            Service::CloudFront
        );
    }

    #[test]
    fn distribution_host_goes_to_the_edge() {
        let mut p = parts("GET", "/.well-known/openid-configuration", false);
        p.headers.insert(
            header::HOST,
            "d111111abcdef8.cloudfront.net".parse().unwrap(),
        );
        assert_eq!(classify(&p, b"", None), Service::Edge);
    }

    #[test]
    fn signed_query_without_action_is_a_bad_query() {
        let p = parts("POST", "/", true);
        assert!(matches!(
            classify(&p, b"Version=2011-06-15", Some("sts")),
            Service::BadQuery { sts: true, .. }
        ));
    }
}
