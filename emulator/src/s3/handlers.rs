//! The S3 REST API subset, one handler behind every path (the bucket may be in the Host).

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::addressing::{Addressed, address};
use super::chunked;
use super::errors::S3Error;
use super::store::{Acl, S3Store};
use super::xml::{self, ListPage};
use crate::query::new_request_id;
use crate::sts::sigv4;

/// Objects an issuer publishes are tiny; this is generous and bounds memory.
pub const MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;

/// The S3 REST API over `store`.
pub fn router(store: S3Store) -> Router {
    Router::new().fallback(handle).with_state(store)
}

async fn handle(State(store): State<S3Store>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let body = match axum::body::to_bytes(body, MAX_OBJECT_BYTES + 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return S3Error::EntityTooLarge.into_response(),
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(parts.uri.host());
    let target = address(host, parts.uri.path());
    // Only a well-formed SigV4 header or presigned query counts as credentials; a request
    // with none is anonymous (like STS's own fetches of an issuer's documents), and
    // anything else (`Bearer ..`, an empty header, a lone `X-Amz-Signature`) gets S3's
    // error rather than either.
    let (anonymous, refused) = match sigv4::parse_authorization(&parts.headers, parts.uri.query()) {
        Ok(credentials) => (credentials.is_none(), None),
        Err(e) => (false, Some(S3Error::from(&e))),
    };
    let result = match (refused, &parts.method, target) {
        (Some(refused), _, _) => Err(refused),
        (None, &Method::GET, Addressed::Service) if anonymous => Err(S3Error::AccessDenied),
        (None, &Method::GET, Addressed::Service) => {
            Ok(xml_ok(xml::list_buckets(&store.list_buckets())))
        }
        (None, _, Addressed::Service) => Err(S3Error::MethodNotAllowed),
        (None, method, Addressed::Bucket(bucket)) => {
            bucket_op(&store, method, &bucket, &query, &body, anonymous)
        }
        (None, method, Addressed::Object { bucket, key }) => object_op(
            &store,
            method,
            &bucket,
            &key,
            &query,
            &parts.headers,
            body,
            anonymous,
        ),
    };
    let mut response = match result {
        Ok(response) => response,
        // HEAD responses carry no body, only the status.
        Err(e) if parts.method == Method::HEAD => e.status().into_response(),
        Err(e) => e.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&new_request_id()) {
        response
            .headers_mut()
            .entry("x-amz-request-id")
            .or_insert(v);
    }
    response
}

fn xml_ok(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn bucket_op(
    store: &S3Store,
    method: &Method,
    bucket: &str,
    query: &HashMap<String, String>,
    body: &[u8],
    anonymous: bool,
) -> Result<Response, S3Error> {
    // Anonymous callers may read public objects, nothing else: not a bucket's existence
    // (HEAD), location or listing, as S3 without a bucket policy.
    if anonymous {
        if *method == Method::GET || *method == Method::HEAD {
            store.bucket_region(bucket)?;
        }
        return Err(S3Error::AccessDenied);
    }
    match *method {
        Method::PUT if query.is_empty() => {
            let constraint =
                xml::parse_location_constraint(body).map_err(|()| S3Error::MalformedXml)?;
            if constraint.as_deref() == Some("us-east-1") {
                // S3's answer to an explicit us-east-1 constraint: the guide's if/else exists for this.
                return Err(S3Error::InvalidArgument(
                    "The specified location-constraint is not valid".into(),
                ));
            }
            store.create_bucket(bucket, constraint.as_deref())?;
            Ok(([(header::LOCATION, format!("/{bucket}"))], "").into_response())
        }
        // Bucket-level settings guides sometimes apply (public access block, ownership,
        // policy, ACL): accepted and ignored, object ACLs alone decide anonymous reads here.
        Method::PUT
            if [
                "publicAccessBlock",
                "ownershipControls",
                "policy",
                "acl",
                "tagging",
            ]
            .iter()
            .any(|k| query.contains_key(*k)) =>
        {
            store.bucket_region(bucket)?;
            Ok(StatusCode::OK.into_response())
        }
        Method::HEAD => {
            let region = store.bucket_region(bucket)?;
            Ok(([("x-amz-bucket-region", region)], "").into_response())
        }
        Method::DELETE if query.is_empty() => {
            store.delete_bucket(bucket)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Method::GET if query.contains_key("location") => {
            Ok(xml_ok(xml::location(&store.bucket_region(bucket)?)))
        }
        Method::GET if query.keys().all(|k| LIST_PARAMS.contains(&k.as_str())) => {
            list(store, bucket, query)
        }
        _ => Err(S3Error::NotImplemented),
    }
}

const LIST_PARAMS: &[&str] = &[
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "marker",
    "encoding-type",
    "fetch-owner",
];

fn list(
    store: &S3Store,
    bucket: &str,
    query: &HashMap<String, String>,
) -> Result<Response, S3Error> {
    let v2 = query.get("list-type").map(String::as_str) == Some("2");
    let prefix = query.get("prefix").map(String::as_str).unwrap_or("");
    let delimiter = query
        .get("delimiter")
        .map(String::as_str)
        .filter(|d| !d.is_empty());
    let max_keys = match query.get("max-keys") {
        Some(v) => v.parse::<usize>().map_err(|_| {
            S3Error::InvalidArgument(
                "Provided max-keys not an integer or within integer range".into(),
            )
        })?,
        None => 1000,
    }
    .min(1000);
    // Our continuation token is simply the last key returned; S3's is opaque, clients
    // only echo it.
    let continuation = query.get("continuation-token").map(String::as_str);
    let start_after = query.get("start-after").map(String::as_str);
    let marker = query.get("marker").map(String::as_str);
    let after = if v2 {
        continuation.or(start_after)
    } else {
        marker
    };
    let mut contents = Vec::new();
    let mut common_prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last = None;
    for (key, object) in store.list_objects(bucket, prefix, after)? {
        if contents.len() + common_prefixes.len() >= max_keys {
            truncated = true;
            break;
        }
        if let Some(d) = delimiter
            && let Some(pos) = key[prefix.len()..].find(d)
        {
            let common = key[..prefix.len() + pos + d.len()].to_owned();
            if common_prefixes.last() != Some(&common) {
                common_prefixes.push(common);
            }
            last = Some(key);
            continue;
        }
        last = Some(key.clone());
        contents.push((key, object));
    }
    let page = ListPage {
        bucket,
        prefix,
        delimiter,
        max_keys,
        v2,
        contents,
        common_prefixes,
        truncated,
        next: if truncated { last } else { None },
        continuation_token: continuation,
        start_after,
    };
    Ok(xml_ok(xml::list_objects(&page)))
}

#[allow(clippy::too_many_arguments)]
fn object_op(
    store: &S3Store,
    method: &Method,
    bucket: &str,
    key: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
    anonymous: bool,
) -> Result<Response, S3Error> {
    let canned = |headers: &HeaderMap| -> Result<Option<Acl>, S3Error> {
        match headers.get("x-amz-acl").map(|v| v.to_str().unwrap_or("")) {
            None => Ok(None),
            Some(value) => Acl::from_canned(value)
                .map(Some)
                .ok_or_else(|| S3Error::InvalidArgument(format!("Invalid canned ACL {value:?}"))),
        }
    };
    match *method {
        Method::GET | Method::HEAD => {
            let object = match store.get_object(bucket, key) {
                // Without s3:ListBucket, S3 does not say whether a key exists.
                Err(S3Error::NoSuchKey(_)) if anonymous => return Err(S3Error::AccessDenied),
                other => other?,
            };
            // public-read grants READ, not READ_ACP: the ACL itself stays private.
            if anonymous && (object.acl != Acl::PublicRead || query.contains_key("acl")) {
                return Err(S3Error::AccessDenied);
            }
            if query.contains_key("acl") {
                return Ok(xml_ok(xml::acl(object.acl == Acl::PublicRead)));
            }
            let mut response = if *method == Method::HEAD {
                Response::new(Body::empty())
            } else {
                Response::new(Body::from(object.body.clone()))
            };
            let h = response.headers_mut();
            let mut put = |name: header::HeaderName, value: String| {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.insert(name, v);
                }
            };
            put(header::CONTENT_TYPE, object.content_type.clone());
            put(header::CONTENT_LENGTH, object.body.len().to_string());
            put(header::ETAG, object.etag.clone());
            put(header::LAST_MODIFIED, xml::http_date(object.last_modified));
            put(header::ACCEPT_RANGES, "bytes".into());
            Ok(response)
        }
        _ if anonymous => Err(S3Error::AccessDenied),
        Method::PUT if query.contains_key("acl") => {
            let acl = canned(headers)?.ok_or_else(|| {
                S3Error::InvalidRequest(
                    "give the ACL with the x-amz-acl header (e.g. --acl public-read)".into(),
                )
            })?;
            store.set_acl(bucket, key, acl)?;
            Ok(StatusCode::OK.into_response())
        }
        Method::PUT if headers.contains_key("x-amz-copy-source") => Err(S3Error::NotImplemented),
        Method::PUT => {
            let data = if chunked::is_aws_chunked(headers) {
                Bytes::from(chunked::decode(&body).map_err(|e| S3Error::from(&e))?)
            } else {
                body
            };
            if data.len() > MAX_OBJECT_BYTES {
                return Err(S3Error::EntityTooLarge);
            }
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let etag = store.put_object(
                bucket,
                key,
                data,
                content_type,
                canned(headers)?.unwrap_or_default(),
            )?;
            Ok(([(header::ETAG, etag)], "").into_response())
        }
        Method::DELETE => {
            store.delete_object(bucket, key)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(S3Error::MethodNotAllowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(
        store: &S3Store,
        method: &str,
        host: &str,
        uri: &str,
        signed: bool,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host);
        if signed {
            req = req.header("authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = router(store.clone())
            .oneshot(req.body(Body::from(body.to_vec())).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    const H: &str = "127.0.0.1:4577";

    #[tokio::test]
    async fn guide_workflow_path_style() {
        let s3 = S3Store::new(clock::system());
        let (status, _, _) = call(&s3, "PUT", H, "/oidc-test", true, &[], b"").await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, body) = call(&s3, "PUT", H, "/oidc-test", true, &[], b"").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(
            body.contains("<Code>BucketAlreadyOwnedByYou</Code>"),
            "{body}"
        );

        let (status, headers, _) = call(
            &s3,
            "PUT",
            H,
            "/oidc-test/.well-known/openid-configuration",
            true,
            &[("x-amz-acl", "public-read")],
            b"{\"issuer\":1}",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.contains_key("etag"));
        call(&s3, "PUT", H, "/oidc-test/keys.json", true, &[], b"{}").await;

        // Anonymous reads: public object yes, private object no (S3's AccessDenied XML).
        let (status, _, body) = call(
            &s3,
            "GET",
            H,
            "/oidc-test/.well-known/openid-configuration",
            false,
            &[],
            b"",
        )
        .await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "{\"issuer\":1}"));
        let (status, _, body) = call(&s3, "GET", H, "/oidc-test/keys.json", false, &[], b"").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            body.contains("<Code>AccessDenied</Code><Message>Access Denied</Message>"),
            "{body}"
        );
        let (status, _, body) = call(&s3, "HEAD", H, "/oidc-test/keys.json", false, &[], b"").await;
        assert_eq!((status, body.as_str()), (StatusCode::FORBIDDEN, ""));

        // The fix users apply: put-object-acl.
        let (status, _, _) = call(
            &s3,
            "PUT",
            H,
            "/oidc-test/keys.json?acl",
            true,
            &[("x-amz-acl", "public-read")],
            b"",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = call(&s3, "GET", H, "/oidc-test/keys.json", false, &[], b"").await;
        assert_eq!(status, StatusCode::OK);

        let (_, _, body) = call(
            &s3,
            "GET",
            H,
            "/oidc-test?list-type=2&prefix=.well",
            true,
            &[],
            b"",
        )
        .await;
        assert!(
            body.contains("<KeyCount>1</KeyCount>")
                && body.contains("<Key>.well-known/openid-configuration</Key>"),
            "{body}"
        );
        let (_, _, body) = call(
            &s3,
            "GET",
            H,
            "/oidc-test?list-type=2&delimiter=/",
            true,
            &[],
            b"",
        )
        .await;
        assert!(
            body.contains("<CommonPrefixes><Prefix>.well-known/</Prefix></CommonPrefixes>")
                && body.contains("<Key>keys.json</Key>"),
            "{body}"
        );
        let (_, _, body) = call(&s3, "GET", H, "/", true, &[], b"").await;
        assert!(body.contains("<Name>oidc-test</Name>"), "{body}");
    }

    #[tokio::test]
    async fn virtual_host_and_errors() {
        let s3 = S3Store::new(clock::system());
        let config = b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>";
        let (status, _, _) = call(&s3, "PUT", "oidc.localhost:4577", "/", true, &[], config).await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, body) = call(&s3, "GET", H, "/oidc?location", true, &[], b"").await;
        assert!(body.contains(">eu-west-1</LocationConstraint>"), "{body}");
        let (status, _, body) = call(
            &s3,
            "GET",
            "oidc.localhost:4577",
            "/missing",
            true,
            &[],
            b"",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body.contains("<Code>NoSuchKey</Code>") && body.contains("<Key>missing</Key>"),
            "{body}"
        );
        let (status, _, body) = call(&s3, "GET", H, "/nobucket/k", true, &[], b"").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("<Code>NoSuchBucket</Code>"), "{body}");
        let (status, _, body) = call(&s3, "PUT", H, "/anon-bucket", false, &[], b"").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let us_east = b"<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>";
        let (status, _, body) = call(&s3, "PUT", H, "/b-east", true, &[], us_east).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("location-constraint is not valid"), "{body}");
        let (status, _, _) = call(
            &s3,
            "PUT",
            H,
            "/oidc/k",
            true,
            &[("x-amz-acl", "bogus")],
            b"x",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn aws_chunked_uploads_store_the_payload() {
        let s3 = S3Store::new(clock::system());
        s3.create_bucket("b-1", None).unwrap();
        let body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
        let headers = [
            ("content-encoding", "aws-chunked"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ];
        let (status, _, _) = call(&s3, "PUT", H, "/b-1/k", true, &headers, body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            s3.get_object("b-1", "k").unwrap().body,
            Bytes::from_static(b"hello")
        );
    }
}
