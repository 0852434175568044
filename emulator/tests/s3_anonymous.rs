//! Who counts as anonymous on the fake S3, through the emulator's router: only a request
//! with no credentials at all; anything that is neither nothing nor well-formed SigV4 gets
//! S3's error. Anonymous callers read public objects and nothing else.

mod support;

use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode};
use irsa_emulator::s3::Acl;
use support::*;

const PRIVATE: &str = "/oidc-test/private.txt";

fn lab() -> Lab {
    let lab = Lab::new();
    lab.emulator
        .s3()
        .put_object(
            BUCKET,
            "private.txt",
            Bytes::from_static(b"secret"),
            None,
            Acl::Private,
        )
        .unwrap();
    lab
}

fn get(uri: &str, authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri).header("host", "127.0.0.1:4577");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.body(Body::empty()).unwrap()
}

fn head(uri: &str) -> Request<Body> {
    Request::head(uri)
        .header("host", "127.0.0.1:4577")
        .body(Body::empty())
        .unwrap()
}

/// Seen: `Authorization: Bearer x` read a private object.
#[tokio::test]
async fn bearer_authorization_is_an_unsupported_type_not_credentials() {
    let lab = lab();
    let (status, body) = lab.send(get(PRIVATE, Some("Bearer x"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        error_of(&body),
        (
            "InvalidArgument".into(),
            "Unsupported Authorization Type".into()
        )
    );
    assert!(
        body.contains(
            "<ArgumentName>Authorization</ArgumentName><ArgumentValue>Bearer x</ArgumentValue>"
        ),
        "{body}"
    );
}

/// Seen: an empty `Authorization` header read a private object.
#[tokio::test]
async fn empty_authorization_is_an_unsupported_type_not_credentials() {
    let lab = lab();
    let (status, body) = lab.send(get(PRIVATE, Some(""))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body).0, "InvalidArgument");
    assert!(!body.contains("secret"));
}

/// Seen: a lone `X-Amz-Signature` query parameter read a private object.
#[tokio::test]
async fn lone_x_amz_signature_is_an_incomplete_presigned_query() {
    let lab = lab();
    let (status, body) = lab
        .send(get(&format!("{PRIVATE}?X-Amz-Signature=abc"), None))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        error_of(&body),
        (
            "AuthorizationQueryParametersError".into(),
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.".into()
        )
    );
}

#[tokio::test]
async fn signature_version_2_is_not_supported() {
    let lab = lab();
    let (status, body) = lab.send(get(PRIVATE, Some("AWS AKID:c2lnbmF0dXJl"))).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::BAD_REQUEST,
            (
                "InvalidRequest".into(),
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.".into()
            )
        )
    );
}

#[tokio::test]
async fn sigv4_header_without_signature_is_malformed() {
    let lab = lab();
    let (status, body) = lab
        .send(get(
            PRIVATE,
            Some("AWS4-HMAC-SHA256 Credential=test/20231114/us-east-1/s3/aws4_request, SignedHeaders=host"),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body).0, "AuthorizationHeaderMalformed");
}

#[tokio::test]
async fn sigv4_header_with_a_signature_that_is_not_hex_is_refused() {
    let lab = lab();
    let (status, body) = lab
        .send(get(
            PRIVATE,
            Some("AWS4-HMAC-SHA256 Credential=test/20231114/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"),
        ))
        .await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
        "{body}"
    );
}

/// public-read grants READ, not READ_ACP.
#[tokio::test]
async fn anonymous_get_object_acl_of_a_public_object_is_denied() {
    let lab = lab();
    let (status, _) = lab.send(get("/oidc-test/keys.json", None)).await;
    assert_eq!(status, StatusCode::OK, "the object itself is public");
    let (status, body) = lab.send(get("/oidc-test/keys.json?acl", None)).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::FORBIDDEN,
            ("AccessDenied".into(), "Access Denied".into())
        )
    );
}

/// Without s3:ListBucket S3 does not say whether a key exists.
#[tokio::test]
async fn anonymous_get_of_a_missing_key_is_access_denied() {
    let lab = lab();
    let (status, body) = lab.send(get("/oidc-test/missing.json", None)).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::FORBIDDEN,
            ("AccessDenied".into(), "Access Denied".into())
        )
    );
}

#[tokio::test]
async fn anonymous_head_of_a_missing_key_is_access_denied() {
    let lab = lab();
    let (status, body) = lab.send(head("/oidc-test/missing.json")).await;
    assert_eq!((status, body.as_str()), (StatusCode::FORBIDDEN, ""));
}

#[tokio::test]
async fn anonymous_head_of_a_private_bucket_is_access_denied() {
    let lab = lab();
    let (status, _) = lab.send(head("/oidc-test")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// S3 does say when a bucket does not exist, to anyone.
#[tokio::test]
async fn anonymous_get_in_a_missing_bucket_is_no_such_bucket() {
    let lab = lab();
    let (status, body) = lab.send(get("/no-such-bucket/k", None)).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (StatusCode::NOT_FOUND, "NoSuchBucket")
    );
}

#[tokio::test]
async fn anonymous_get_of_a_private_object_is_access_denied() {
    let lab = lab();
    let (status, body) = lab.send(get(PRIVATE, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.contains("secret"));
}
