use http::{HeaderMap, Method, Uri};
use time::OffsetDateTime;

use super::*;

fn at(amz: &str) -> OffsetDateTime {
    time::PrimitiveDateTime::parse(
        amz,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .unwrap()
    .assume_utc()
}

fn request<'a>(
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: &'a [u8],
) -> SignedRequest<'a> {
    SignedRequest {
        method,
        uri,
        headers,
        body,
    }
}

/// The worked example of the AWS SigV4 documentation ("Examples of the complete
/// Signature Version 4 signing process", IAM ListUsers, secret
/// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY): its published signature must verify.
#[test]
fn verifies_the_documented_example() {
    let uri: Uri = "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"
        .parse()
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", "iam.amazonaws.com".parse().unwrap());
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8"
            .parse()
            .unwrap(),
    );
    headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
    headers.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7".parse().unwrap(),
    );
    let auth = parse_authorization(&headers, uri.query()).unwrap().unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let now = at("20150830T123600Z");
    let get = request(&Method::GET, &uri, &headers, b"");
    assert_eq!(verify(&get, &auth, secret, SignedService::Iam, now), Ok(()));
    assert_eq!(
        verify(&get, &auth, "wrong", SignedService::Iam, now),
        Err(Refusal::SignatureMismatch)
    );
    let post = request(&Method::POST, &uri, &headers, b"");
    assert_eq!(
        verify(&post, &auth, secret, SignedService::Iam, now),
        Err(Refusal::SignatureMismatch)
    );
    // The hostname (iam.amazonaws.com) names the service, not the router's guess: the
    // IAM-scoped signature stands even if the router took the call for STS.
    assert_eq!(verify(&get, &auth, secret, SignedService::Sts, now), Ok(()));
}

/// AWS's published signed streaming upload (S3 "Signature calculations for the
/// Authorization header: transferring payload in multiple chunks"): 66,560 bytes of `a`
/// in chunks of 65,536, 1,024 and 0 bytes. Its seed and chunk signatures must verify; a
/// flipped byte in the second chunk must not.
#[test]
fn verifies_the_documented_streaming_upload() {
    let uri: Uri = "/examplebucket/chunkObject.txt".parse().unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("content-length", "66824"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        ),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    let chunk = |size: usize, sig: &str, data: u8| {
        let mut out = format!("{size:x};chunk-signature={sig}\r\n").into_bytes();
        out.extend(std::iter::repeat_n(data, size));
        out.extend_from_slice(b"\r\n");
        out
    };
    let body = |second: u8| {
        let mut body = chunk(
            65536,
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            b'a',
        );
        body.extend(chunk(
            1024,
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            second,
        ));
        body.extend(chunk(
            0,
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
            b'a',
        ));
        body
    };
    let auth = parse_authorization(&headers, None).unwrap().unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let now = at("20130524T000500Z");
    let good = body(b'a');
    assert_eq!(good.len(), 66824);
    assert_eq!(
        verify(
            &request(&Method::PUT, &uri, &headers, &good),
            &auth,
            secret,
            SignedService::S3,
            now
        ),
        Ok(())
    );
    let bad = body(b'b');
    assert_eq!(
        verify(
            &request(&Method::PUT, &uri, &headers, &bad),
            &auth,
            secret,
            SignedService::S3,
            now
        ),
        Err(Refusal::ChunkSignatureMismatch { index: 1 })
    );
}

#[test]
fn sign_then_verify_round_trips() {
    let uri: Uri = "http://127.0.0.1:4577/".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", "127.0.0.1:4577".parse().unwrap());
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8"
            .parse()
            .unwrap(),
    );
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    sign(
        &Method::POST,
        &uri,
        &mut headers,
        body,
        "ASIAEXAMPLE",
        "secret",
        Some("tok"),
        "us-east-1",
        "sts",
        "20260101T000000Z",
    );
    let auth = parse_authorization(&headers, None).unwrap().unwrap();
    assert!(
        auth.signed_headers
            .contains(&"x-amz-security-token".to_owned())
    );
    let now = at("20260101T000000Z");
    assert_eq!(
        verify(
            &request(&Method::POST, &uri, &headers, body),
            &auth,
            "secret",
            SignedService::Sts,
            now
        ),
        Ok(())
    );
    assert_eq!(
        verify(
            &request(&Method::POST, &uri, &headers, b"Action=Other"),
            &auth,
            "secret",
            SignedService::Sts,
            now
        ),
        Err(Refusal::SignatureMismatch)
    );
}

#[test]
fn presign_then_verify_round_trips() {
    let uri: Uri = "/b/k".parse().unwrap();
    let presigned = presign(
        &Method::GET,
        &uri,
        "127.0.0.1:4577",
        "ASIAEXAMPLE",
        "secret",
        Some("a+b/c="),
        "us-east-1",
        "s3",
        "20260101T000000Z",
        60,
    );
    let mut headers = HeaderMap::new();
    headers.insert("host", "127.0.0.1:4577".parse().unwrap());
    let auth = parse_authorization(&headers, presigned.query())
        .unwrap()
        .unwrap();
    assert!(auth.presigned);
    assert_eq!(
        session_token(&headers, &presigned).as_deref(),
        Some("a+b/c=")
    );
    let get = request(&Method::GET, &presigned, &headers, b"");
    assert_eq!(
        verify(
            &get,
            &auth,
            "secret",
            SignedService::S3,
            at("20260101T000100Z")
        ),
        Ok(())
    );
    assert!(matches!(
        verify(
            &get,
            &auth,
            "secret",
            SignedService::S3,
            at("20260101T000101Z")
        ),
        Err(Refusal::PresignedExpired { expires: 60, .. })
    ));
}

#[test]
fn only_well_formed_sigv4_counts_as_credentials() {
    let with_auth = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", value.parse().unwrap());
        parse_authorization(&headers, None)
    };
    assert_eq!(
        with_auth("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request"),
        Err(SigV4Error::MissingComponent("SignedHeaders"))
    );
    assert_eq!(
        with_auth("AWS AKID:signature"),
        Err(SigV4Error::UnsupportedMechanism)
    );
    assert_eq!(
        with_auth("Bearer x"),
        Err(SigV4Error::UnsupportedScheme("Bearer x".into()))
    );
    assert_eq!(
        with_auth(""),
        Err(SigV4Error::UnsupportedScheme(String::new()))
    );
    assert_eq!(
        with_auth(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
        ),
        Err(SigV4Error::MalformedSignature)
    );
    assert_eq!(
        parse_authorization(&HeaderMap::new(), Some("X-Amz-Signature=abc")),
        Err(SigV4Error::QueryIncomplete("X-Amz-Algorithm"))
    );
    assert_eq!(
        parse_authorization(&HeaderMap::new(), Some("Action=GetCallerIdentity")),
        Ok(None)
    );
}

#[test]
fn window_texts_are_aws_texts() {
    let expired = Refusal::Expired {
        request: at("20240101T000000Z"),
        now: at("20240101T003100Z"),
    };
    assert_eq!(
        expired.to_string(),
        "Signature expired: 20240101T000000Z is now earlier than 20240101T001600Z (20240101T003100Z - 15 min.)"
    );
    let future = Refusal::NotYetCurrent {
        request: at("20240101T010000Z"),
        now: at("20240101T000000Z"),
    };
    assert_eq!(
        future.to_string(),
        "Signature not yet current: 20240101T010000Z is still later than 20240101T001500Z (20240101T000000Z + 15 min.)"
    );
}
