//! The S3 REST API subset, one handler behind every path (the bucket may be in the Host).

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::addressing::{Addressed, address};
use super::bucket_settings::{
    ObjectOwnership, PublicAccessBlock, ownership_from_xml, ownership_to_xml,
};
use super::chunked;
use super::errors::S3Error;
use super::policy::Requester;
use super::store::{Acl, Object, ObjectMeta, ReadRefusal, S3Store};
use super::xml::{self, ListPage};
use crate::query::new_request_id;
use crate::sts::sigv4;
use crate::xml_tree::Element;

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
        (None, method, Addressed::Bucket(bucket)) => bucket_op(
            &store,
            method,
            &bucket,
            &query,
            &parts.headers,
            &body,
            anonymous,
        ),
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

/// A bucket-level setting's answer: 200 or 204 with no body.
fn empty(status: StatusCode) -> Response {
    status.into_response()
}

fn canned_acl(headers: &HeaderMap) -> Result<Option<&str>, S3Error> {
    match headers.get("x-amz-acl").map(|v| v.to_str().unwrap_or("")) {
        None => Ok(None),
        Some(value) if Acl::from_canned(value).is_some() => Ok(Some(value)),
        Some(value) => Err(S3Error::InvalidArgument(format!(
            "Invalid canned ACL {value:?}"
        ))),
    }
}

fn bucket_op(
    store: &S3Store,
    method: &Method,
    bucket: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
    anonymous: bool,
) -> Result<Response, S3Error> {
    // Anonymous callers may read what a policy or a public ACL grants them, nothing else:
    // not a bucket's existence (HEAD), location, settings, or listing unless a bucket
    // policy grants s3:ListBucket.
    if anonymous {
        if *method == Method::GET || *method == Method::HEAD {
            store.bucket_region(bucket)?;
        }
        let listing =
            *method == Method::GET && query.keys().all(|k| LIST_PARAMS.contains(&k.as_str()));
        if listing && store.may_list(bucket, &Requester::Anonymous)? {
            return list(store, bucket, query);
        }
        return Err(S3Error::AccessDenied);
    }
    let has = |k: &str| query.contains_key(k);
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
            // `create-bucket --object-ownership`: applies before any ACL is judged.
            let ownership = match headers
                .get("x-amz-object-ownership")
                .map(|v| v.to_str().unwrap_or(""))
            {
                Some(value) => Some(
                    value
                        .parse::<ObjectOwnership>()
                        .map_err(S3Error::InvalidArgument)?,
                ),
                None => None,
            };
            // A bucket ACL other than the owner's own cannot go with ACLs disabled.
            let acl = canned_acl(headers)?;
            let enforced = ownership.or(store.defaults().ownership())
                == Some(ObjectOwnership::BucketOwnerEnforced);
            if enforced && acl.is_some_and(|a| a != "private" && a != "bucket-owner-full-control") {
                return Err(S3Error::InvalidBucketAclWithObjectOwnership);
            }
            store.create_bucket(bucket, constraint.as_deref())?;
            if let Some(ownership) = ownership {
                store.set_ownership(bucket, Some(ownership))?;
            }
            Ok(([(header::LOCATION, format!("/{bucket}"))], "").into_response())
        }
        Method::PUT if has("policy") => {
            let text = std::str::from_utf8(body).map_err(|_| {
                S3Error::MalformedPolicy(
                    "Policies must be valid JSON and the first byte must be '{'".into(),
                )
            })?;
            store.put_policy(bucket, text)?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        Method::GET if has("policy") => Ok((
            [(header::CONTENT_TYPE, "application/json")],
            store.policy(bucket)?,
        )
            .into_response()),
        Method::DELETE if has("policy") => {
            store.delete_policy(bucket)?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        Method::PUT if has("ownershipControls") => {
            let ownership = ownership_from_xml(body).ok_or(S3Error::MalformedXml)?;
            store.set_ownership(bucket, Some(ownership))?;
            Ok(empty(StatusCode::OK))
        }
        Method::GET if has("ownershipControls") => {
            Ok(xml_ok(ownership_to_xml(store.ownership(bucket)?)))
        }
        Method::DELETE if has("ownershipControls") => {
            store.set_ownership(bucket, None)?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        Method::PUT if has("publicAccessBlock") => {
            let block = PublicAccessBlock::from_xml(body).ok_or(S3Error::MalformedXml)?;
            store.set_public_access_block(bucket, Some(block))?;
            Ok(empty(StatusCode::OK))
        }
        Method::GET if has("publicAccessBlock") => {
            Ok(xml_ok(store.public_access_block(bucket)?.to_xml()))
        }
        Method::DELETE if has("publicAccessBlock") => {
            store.set_public_access_block(bucket, None)?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        // put-bucket-acl: judged like object ACLs (ACLs disabled, BlockPublicAcls); a
        // bucket ACL grants nothing here (listing is granted by policy only).
        Method::PUT if has("acl") => {
            store.bucket_region(bucket)?;
            let acl = canned_acl(headers)?;
            let acl = match acl {
                Some(acl) => Some(acl),
                // An ACL in the body (`--access-control-policy`) is an ACL too.
                None if !body.is_empty() => Some("private"),
                None => None,
            };
            store.check_acl(bucket, acl)?;
            Ok(empty(StatusCode::OK))
        }
        Method::GET if has("acl") => {
            store.bucket_region(bucket)?;
            Ok(xml_ok(xml::acl(false)))
        }
        Method::PUT if has("tagging") => {
            store.bucket_region(bucket)?;
            Ok(empty(StatusCode::OK))
        }
        Method::POST if has("delete") => delete_objects(store, bucket, body),
        Method::HEAD => {
            let region = store.bucket_region(bucket)?;
            Ok(([("x-amz-bucket-region", region)], "").into_response())
        }
        Method::DELETE if query.is_empty() => {
            store.delete_bucket(bucket)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Method::GET if has("location") => Ok(xml_ok(xml::location(&store.bucket_region(bucket)?))),
        Method::GET if query.keys().all(|k| LIST_PARAMS.contains(&k.as_str())) => {
            list(store, bucket, query)
        }
        _ => Err(S3Error::NotImplemented),
    }
}

/// S3 refuses more keys than this in one DeleteObjects call (MalformedXML).
const MAX_DELETE_KEYS: usize = 1000;

/// `DeleteObjects` (`aws s3api delete-objects`): a missing key is reported deleted, as
/// S3 does; `Quiet` leaves the successes out.
fn delete_objects(store: &S3Store, bucket: &str, body: &[u8]) -> Result<Response, S3Error> {
    let root = Element::parse(body).map_err(|_| S3Error::MalformedXml)?;
    if root.name != "Delete" {
        return Err(S3Error::MalformedXml);
    }
    let keys: Vec<String> = root
        .children_named("Object")
        .map(|o| o.child("Key").map(|k| k.text.clone()))
        .collect::<Option<_>>()
        .ok_or(S3Error::MalformedXml)?;
    if keys.is_empty() || keys.len() > MAX_DELETE_KEYS {
        return Err(S3Error::MalformedXml);
    }
    let quiet = root.bool_of("Quiet").unwrap_or(false);
    store.delete_objects(bucket, &keys)?;
    Ok(xml_ok(xml::delete_result(if quiet {
        &[]
    } else {
        keys.as_slice()
    })))
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
        url_encoded: query.get("encoding-type").map(String::as_str) == Some("url"),
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
    match *method {
        Method::GET | Method::HEAD => {
            let object = if anonymous {
                // public-read grants READ, not READ_ACP: the ACL itself stays private.
                if query.contains_key("acl") {
                    store.bucket_region(bucket)?;
                    return Err(S3Error::AccessDenied);
                }
                store.read_as(bucket, key, &Requester::Anonymous).map_err(
                    |refusal| match refusal {
                        ReadRefusal::NoSuchBucket => S3Error::NoSuchBucket(bucket.to_owned()),
                        ReadRefusal::NoSuchKey => S3Error::NoSuchKey(key.to_owned()),
                        ReadRefusal::Denied(_) => S3Error::AccessDenied,
                    },
                )?
            } else {
                store.get_object(bucket, key)?
            };
            if query.contains_key("acl") {
                // With ACLs disabled, reads of an ACL show the owner's full control only.
                let acls_on =
                    store.ownership(bucket).ok() != Some(ObjectOwnership::BucketOwnerEnforced);
                return Ok(xml_ok(xml::acl(acls_on && object.acl == Acl::PublicRead)));
            }
            Ok(object_response(&object, *method == Method::HEAD))
        }
        _ if anonymous => {
            store.bucket_region(bucket)?;
            Err(S3Error::AccessDenied)
        }
        Method::PUT if query.contains_key("acl") => {
            let canned = canned_acl(headers)?.ok_or_else(|| {
                S3Error::InvalidRequest(
                    "give the ACL with the x-amz-acl header (e.g. --acl public-read)".into(),
                )
            })?;
            store.check_acl(bucket, Some(canned))?;
            store.set_acl(bucket, key, Acl::from_canned(canned).unwrap_or_default())?;
            Ok(StatusCode::OK.into_response())
        }
        Method::PUT if headers.contains_key("x-amz-copy-source") => {
            copy_object(store, bucket, key, headers)
        }
        Method::PUT => {
            let data = if chunked::is_aws_chunked(headers) {
                Bytes::from(chunked::decode(&body).map_err(|e| S3Error::from(&e))?)
            } else {
                body
            };
            if data.len() > MAX_OBJECT_BYTES {
                return Err(S3Error::EntityTooLarge);
            }
            let canned = canned_acl(headers)?;
            store.check_acl(bucket, canned)?;
            let etag = store.put_object_with(
                bucket,
                key,
                data,
                meta_from(headers),
                canned.and_then(Acl::from_canned).unwrap_or_default(),
            )?;
            Ok(([(header::ETAG, etag)], "").into_response())
        }
        Method::DELETE => {
            store.delete_object(bucket, key)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Method::POST => Err(S3Error::NotImplemented),
        _ => Err(S3Error::MethodNotAllowed),
    }
}

fn meta_from(headers: &HeaderMap) -> ObjectMeta {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    ObjectMeta {
        content_type: text(header::CONTENT_TYPE),
        cache_control: text(header::CACHE_CONTROL),
    }
}

/// An object's bytes (none for HEAD) with the headers `aws s3 sync` compares
/// (Content-Length, ETag, Last-Modified) and Cache-Control for CDNs.
pub(crate) fn object_response(object: &Object, head: bool) -> Response {
    let mut response = if head {
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
    if let Some(cache_control) = &object.cache_control {
        put(header::CACHE_CONTROL, cache_control.clone());
    }
    response
}

/// `CopyObject` (`aws s3 cp s3://a/k s3://b/k`, `aws s3 sync` between buckets): the
/// source's bytes, and its metadata unless `x-amz-metadata-directive: REPLACE`.
fn copy_object(
    store: &S3Store,
    bucket: &str,
    key: &str,
    headers: &HeaderMap,
) -> Result<Response, S3Error> {
    let source = headers
        .get("x-amz-copy-source")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let source = source.split_once("?versionId=").map_or(source, |(s, _)| s);
    let decoded = percent_encoding::percent_decode_str(source.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let (source_bucket, source_key) = decoded
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            S3Error::InvalidArgument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey".into(),
            )
        })?;
    let replace = headers
        .get("x-amz-metadata-directive")
        .and_then(|v| v.to_str().ok())
        == Some("REPLACE");
    if source_bucket == bucket && source_key == key && !replace {
        return Err(S3Error::InvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into()));
    }
    let object = store.get_object(source_bucket, source_key)?;
    let canned = canned_acl(headers)?;
    store.check_acl(bucket, canned)?;
    let meta = if replace {
        meta_from(headers)
    } else {
        ObjectMeta {
            content_type: Some(object.content_type.clone()),
            cache_control: object.cache_control.clone(),
        }
    };
    let etag = store.put_object_with(
        bucket,
        key,
        object.body,
        meta,
        canned.and_then(Acl::from_canned).unwrap_or_default(),
    )?;
    let copied = store.get_object(bucket, key)?;
    Ok(xml_ok(xml::copy_result(&etag, copied.last_modified)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;
    use crate::s3::BucketDefaults;
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
        // The upstream guide was written for buckets that still allowed ACLs.
        let s3 = S3Store::with_defaults(clock::system(), BucketDefaults::Legacy);
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

    /// A bucket made as S3 makes them today (ACLs disabled, Block Public Access on).
    async fn new_bucket(defaults: BucketDefaults) -> S3Store {
        let s3 = S3Store::with_defaults(clock::system(), defaults);
        let (status, _, _) = call(&s3, "PUT", H, "/b-1", true, &[], b"").await;
        assert_eq!(status, StatusCode::OK);
        s3
    }

    async fn put(
        s3: &S3Store,
        uri: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (StatusCode, String) {
        let (status, _, body) = call(s3, "PUT", H, uri, true, headers, body).await;
        (status, body)
    }

    async fn anonymous_get(s3: &S3Store, uri: &str) -> StatusCode {
        call(s3, "GET", H, uri, false, &[], b"").await.0
    }

    const PUBLIC_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/*"}]}"#;
    const NO_BLOCK: &[u8] = b"<PublicAccessBlockConfiguration><BlockPublicAcls>false</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls><BlockPublicPolicy>false</BlockPublicPolicy><RestrictPublicBuckets>false</RestrictPublicBuckets></PublicAccessBlockConfiguration>";

    #[tokio::test]
    async fn public_read_upload_to_a_new_bucket_is_access_control_list_not_supported() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        let (status, body) = put(
            &s3,
            "/b-1/keys.json",
            &[("x-amz-acl", "public-read")],
            b"{}",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body.contains("<Code>AccessControlListNotSupported</Code><Message>The bucket does not allow ACLs</Message>"),
            "{body}"
        );
        assert!(s3.get_object("b-1", "keys.json").is_err(), "nothing stored");
    }

    #[tokio::test]
    async fn private_acl_is_refused_too_when_acls_are_disabled() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        let (status, _) = put(&s3, "/b-1/k", &[("x-amz-acl", "private")], b"x").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn bucket_owner_full_control_is_accepted_when_acls_are_disabled() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        let (status, _) = put(
            &s3,
            "/b-1/k",
            &[("x-amz-acl", "bucket-owner-full-control")],
            b"x",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn upload_without_acl_to_a_new_bucket_stays_private() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        assert_eq!(put(&s3, "/b-1/k", &[], b"x").await.0, StatusCode::OK);
        assert_eq!(anonymous_get(&s3, "/b-1/k").await, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn block_public_acls_refuses_public_read_with_access_denied() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        let controls = b"<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>";
        assert_eq!(
            put(&s3, "/b-1?ownershipControls", &[], controls).await.0,
            StatusCode::OK
        );
        let (status, body) = put(&s3, "/b-1/k", &[("x-amz-acl", "public-read")], b"x").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            body.contains("<Code>AccessDenied</Code><Message>Access Denied</Message>"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn ignore_public_acls_keeps_public_read_objects_private() {
        let s3 = new_bucket(BucketDefaults::Legacy).await;
        assert_eq!(
            put(&s3, "/b-1/k", &[("x-amz-acl", "public-read")], b"x")
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(anonymous_get(&s3, "/b-1/k").await, StatusCode::OK);
        let ignore = b"<PublicAccessBlockConfiguration><IgnorePublicAcls>true</IgnorePublicAcls></PublicAccessBlockConfiguration>";
        assert_eq!(
            put(&s3, "/b-1?publicAccessBlock", &[], ignore).await.0,
            StatusCode::OK
        );
        assert_eq!(anonymous_get(&s3, "/b-1/k").await, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn block_public_policy_refuses_a_public_policy() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        let (status, body) = put(&s3, "/b-1?policy", &[], PUBLIC_POLICY.as_bytes()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    }

    #[tokio::test]
    async fn public_policy_grants_anonymous_reads_once_block_public_access_allows_it() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        assert_eq!(
            put(&s3, "/b-1?publicAccessBlock", &[], NO_BLOCK).await.0,
            StatusCode::OK
        );
        assert_eq!(
            put(&s3, "/b-1?policy", &[], PUBLIC_POLICY.as_bytes())
                .await
                .0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            put(&s3, "/b-1/keys.json", &[], b"{}").await.0,
            StatusCode::OK
        );
        assert_eq!(anonymous_get(&s3, "/b-1/keys.json").await, StatusCode::OK);
    }

    #[tokio::test]
    async fn restrict_public_buckets_ignores_a_public_policy_for_anonymous_reads() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        assert_eq!(
            put(&s3, "/b-1?publicAccessBlock", &[], NO_BLOCK).await.0,
            StatusCode::OK
        );
        assert_eq!(
            put(&s3, "/b-1?policy", &[], PUBLIC_POLICY.as_bytes())
                .await
                .0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(put(&s3, "/b-1/k", &[], b"x").await.0, StatusCode::OK);
        let restrict = b"<PublicAccessBlockConfiguration><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>";
        assert_eq!(
            put(&s3, "/b-1?publicAccessBlock", &[], restrict).await.0,
            StatusCode::OK
        );
        assert_eq!(anonymous_get(&s3, "/b-1/k").await, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn bucket_policy_reads_back_as_written_until_deleted() {
        let s3 = new_bucket(BucketDefaults::Legacy).await;
        assert_eq!(
            put(&s3, "/b-1?policy", &[], PUBLIC_POLICY.as_bytes())
                .await
                .0,
            StatusCode::NO_CONTENT
        );
        let (status, _, body) = call(&s3, "GET", H, "/b-1?policy", true, &[], b"").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, PUBLIC_POLICY));
        let (status, _, _) = call(&s3, "DELETE", H, "/b-1?policy", true, &[], b"").await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, body) = call(&s3, "GET", H, "/b-1?policy", true, &[], b"").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body.contains(
                "<Code>NoSuchBucketPolicy</Code><Message>The bucket policy does not exist</Message>"
            ),
            "{body}"
        );
    }

    #[tokio::test]
    async fn malformed_policy_is_refused_with_s3s_message() {
        let s3 = new_bucket(BucketDefaults::Legacy).await;
        let (status, body) = put(&s3, "/b-1?policy", &[], b"[]").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let doc = roxmltree::Document::parse(&body).unwrap();
        let text = |tag: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name(tag))
                .and_then(|n| n.text())
        };
        assert_eq!(text("Code"), Some("MalformedPolicy"));
        assert_eq!(
            text("Message"),
            Some("Policies must be valid JSON and the first byte must be '{'")
        );
    }

    #[tokio::test]
    async fn ownership_controls_read_back_and_missing_ones_are_not_found() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        let (_, _, body) = call(&s3, "GET", H, "/b-1?ownershipControls", true, &[], b"").await;
        assert!(
            body.contains("<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership>"),
            "{body}"
        );
        let (status, _, _) = call(&s3, "DELETE", H, "/b-1?ownershipControls", true, &[], b"").await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, body) = call(&s3, "GET", H, "/b-1?ownershipControls", true, &[], b"").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body.contains("<Code>OwnershipControlsNotFoundError</Code>"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn public_access_block_reads_back_and_missing_one_is_not_found() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        let (_, _, body) = call(&s3, "GET", H, "/b-1?publicAccessBlock", true, &[], b"").await;
        assert!(
            body.contains("<BlockPublicAcls>true</BlockPublicAcls>")
                && body.contains("<RestrictPublicBuckets>true</RestrictPublicBuckets>"),
            "{body}"
        );
        call(&s3, "DELETE", H, "/b-1?publicAccessBlock", true, &[], b"").await;
        let (status, _, body) = call(&s3, "GET", H, "/b-1?publicAccessBlock", true, &[], b"").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body.contains("<Code>NoSuchPublicAccessBlockConfiguration</Code>"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn delete_objects_removes_each_key_and_reports_it() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        put(&s3, "/b-1/a", &[], b"1").await;
        put(&s3, "/b-1/b", &[], b"2").await;
        let request = b"<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>a</Key></Object><Object><Key>missing</Key></Object></Delete>";
        let (status, _, body) = call(&s3, "POST", H, "/b-1?delete", true, &[], request).await;
        assert_eq!(status, StatusCode::OK);
        let doc = roxmltree::Document::parse(&body).unwrap();
        let deleted: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("Key"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(deleted, ["a", "missing"]);
        assert!(s3.get_object("b-1", "a").is_err());
        assert!(s3.get_object("b-1", "b").is_ok());
    }

    #[tokio::test]
    async fn delete_objects_in_quiet_mode_reports_no_successes() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        put(&s3, "/b-1/a", &[], b"1").await;
        let request = b"<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet></Delete>";
        let (_, _, body) = call(&s3, "POST", H, "/b-1?delete", true, &[], request).await;
        assert!(!body.contains("<Deleted>"), "{body}");
        assert!(s3.get_object("b-1", "a").is_err());
    }

    #[tokio::test]
    async fn copy_object_copies_bytes_and_metadata() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        put(
            &s3,
            "/b-1/src",
            &[
                ("content-type", "application/json"),
                ("cache-control", "max-age=60"),
            ],
            b"{}",
        )
        .await;
        let (status, body) = put(&s3, "/b-1/dst", &[("x-amz-copy-source", "/b-1/src")], b"").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("<CopyObjectResult")
                && body.contains("<ETag>&quot;99914b932bd37a50b983c5e7c90ae93b&quot;</ETag>"),
            "{body}"
        );
        let copied = s3.get_object("b-1", "dst").unwrap();
        assert_eq!(copied.content_type, "application/json");
        assert_eq!(copied.cache_control.as_deref(), Some("max-age=60"));
    }

    #[tokio::test]
    async fn copy_object_onto_itself_without_replace_is_illegal() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        put(&s3, "/b-1/k", &[], b"x").await;
        let (status, body) = put(&s3, "/b-1/k", &[("x-amz-copy-source", "b-1/k")], b"").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("This copy request is illegal"), "{body}");
    }

    #[tokio::test]
    async fn list_objects_v2_pages_with_max_keys_and_continuation_token() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        for key in ["a", "b", "c"] {
            put(&s3, &format!("/b-1/{key}"), &[], b"x").await;
        }
        let (_, _, first) =
            call(&s3, "GET", H, "/b-1?list-type=2&max-keys=2", true, &[], b"").await;
        let doc = roxmltree::Document::parse(&first).unwrap();
        let text = |tag: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name(tag))
                .and_then(|n| n.text())
                .map(str::to_owned)
        };
        assert_eq!(text("IsTruncated").as_deref(), Some("true"));
        let token = text("NextContinuationToken").unwrap();
        let (_, _, second) = call(
            &s3,
            "GET",
            H,
            &format!("/b-1?list-type=2&max-keys=2&continuation-token={token}"),
            true,
            &[],
            b"",
        )
        .await;
        assert!(
            second.contains("<Key>c</Key>")
                && !second.contains("<Key>a</Key>")
                && second.contains("<IsTruncated>false</IsTruncated>"),
            "{second}"
        );
    }

    #[tokio::test]
    async fn url_encoded_listing_encodes_keys() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        put(&s3, "/b-1/a%2Bb%20c", &[], b"x").await;
        let (_, _, body) = call(
            &s3,
            "GET",
            H,
            "/b-1?list-type=2&encoding-type=url",
            true,
            &[],
            b"",
        )
        .await;
        assert!(
            body.contains("<Key>a%2Bb%20c</Key>")
                && body.contains("<EncodingType>url</EncodingType>"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn head_object_carries_what_sync_compares() {
        let s3 = new_bucket(BucketDefaults::Current).await;
        put(&s3, "/b-1/k", &[("cache-control", "max-age=300")], b"hello").await;
        let (status, headers, body) = call(&s3, "HEAD", H, "/b-1/k", true, &[], b"").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
        assert_eq!(headers["content-length"], "5");
        assert_eq!(headers["etag"], "\"5d41402abc4b2a76b9719d911017c592\"");
        assert!(headers["last-modified"].to_str().unwrap().ends_with(" GMT"));
        assert_eq!(headers["cache-control"], "max-age=300");
    }

    #[tokio::test]
    async fn anonymous_missing_key_is_not_found_only_with_list_bucket() {
        let s3 = new_bucket(BucketDefaults::Legacy).await;
        assert_eq!(
            anonymous_get(&s3, "/b-1/missing").await,
            StatusCode::FORBIDDEN
        );
        let list = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b-1","arn:aws:s3:::b-1/*"]}]}"#;
        put(&s3, "/b-1?policy", &[], list.as_bytes()).await;
        assert_eq!(
            anonymous_get(&s3, "/b-1/missing").await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(anonymous_get(&s3, "/b-1?list-type=2").await, StatusCode::OK);
    }

    #[tokio::test]
    async fn object_acl_reads_show_owner_only_when_acls_are_disabled() {
        let s3 = S3Store::with_defaults(clock::system(), BucketDefaults::Current);
        s3.create_bucket("b-1", None).unwrap();
        s3.put_object("b-1", "k", Bytes::from_static(b"x"), None, Acl::PublicRead)
            .unwrap();
        let (_, _, body) = call(&s3, "GET", H, "/b-1/k?acl", true, &[], b"").await;
        assert!(!body.contains("AllUsers"), "{body}");
    }

    #[tokio::test]
    async fn create_bucket_with_a_public_acl_and_acls_disabled_is_invalid_bucket_acl() {
        let s3 = S3Store::with_defaults(clock::system(), BucketDefaults::Current);
        let (status, body) = put(&s3, "/b-1", &[("x-amz-acl", "public-read")], b"").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body.contains("<Code>InvalidBucketAclWithObjectOwnership</Code>"),
            "{body}"
        );
        assert!(s3.bucket_region("b-1").is_err(), "no bucket made");
    }

    #[tokio::test]
    async fn create_bucket_with_object_writer_ownership_accepts_acls() {
        let s3 = S3Store::with_defaults(clock::system(), BucketDefaults::Current);
        let (status, _) = put(
            &s3,
            "/b-1",
            &[("x-amz-object-ownership", "ObjectWriter")],
            b"",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(s3.ownership("b-1"), Ok(ObjectOwnership::ObjectWriter));
    }
}
