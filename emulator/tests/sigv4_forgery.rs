//! Requests signed with credentials STS issued, forged or replayed as an attacker would,
//! through the emulator's router: each is refused with AWS's code and text, and leaves
//! nothing changed. Signed with the repository's `sigv4::sign`/`presign` and, as an
//! independent oracle, with the SDKs' own signer (`aws-sigv4`).

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use irsa_emulator::s3::Acl;
use irsa_emulator::sts::sigv4::{self, streaming};
use sha2::{Digest, Sha256};
use support::*;

/// `NOW` as `X-Amz-Date`.
const DATE: &str = "20231114T221320Z";
const HOST: &str = "127.0.0.1:4577";
const LIST_ROLES: &[u8] = b"Action=ListRoles&Version=2010-05-08";
const CREATE_ROLE: &[u8] = b"Action=CreateRole&Version=2010-05-08&RoleName=evil&AssumeRolePolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
const CALLER_IDENTITY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";

struct Creds {
    akid: String,
    secret: String,
    token: String,
}

fn field(xml: &str, tag: &str) -> String {
    let start = xml.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
    xml[start..end].to_owned()
}

async fn issued(lab: &Lab) -> Creds {
    let (status, xml) = lab.assume(&lab.token()).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    Creds {
        akid: field(&xml, "AccessKeyId"),
        secret: field(&xml, "SecretAccessKey"),
        token: field(&xml, "SessionToken"),
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn amz_date(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    t.format(time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .unwrap()
}

fn form_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HOST.parse().unwrap());
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8"
            .parse()
            .unwrap(),
    );
    headers
}

/// Headers of `method uri` with `body` signed by `sigv4::sign`.
#[allow(clippy::too_many_arguments)]
fn sign(
    method: &Method,
    uri: &str,
    mut headers: HeaderMap,
    body: &[u8],
    creds: &Creds,
    service: &str,
    region: &str,
    date: &str,
) -> HeaderMap {
    sigv4::sign(
        method,
        &uri.parse().unwrap(),
        &mut headers,
        body,
        &creds.akid,
        &creds.secret,
        Some(&creds.token),
        region,
        service,
        date,
    );
    headers
}

fn request(method: Method, uri: &str, headers: &HeaderMap, body: &[u8]) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(Body::from(body.to_vec())).unwrap()
}

async fn iam_call(lab: &Lab, headers: &HeaderMap, body: &[u8]) -> (StatusCode, (String, String)) {
    let (status, body) = lab.send(request(Method::POST, "/", headers, body)).await;
    (status, error_of(&body))
}

fn refused(message: &str) -> (StatusCode, (String, String)) {
    (
        StatusCode::FORBIDDEN,
        ("SignatureDoesNotMatch".to_owned(), message.to_owned()),
    )
}

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

fn put_private(lab: &Lab, key: &str, body: &'static [u8]) {
    lab.emulator
        .s3()
        .put_object(BUCKET, key, Bytes::from_static(body), None, Acl::Private)
        .unwrap();
}

fn object(lab: &Lab, key: &str) -> Bytes {
    lab.emulator.s3().get_object(BUCKET, key).unwrap().body
}

// --- the payload is the body received -------------------------------------------------

/// Seen: a ListRoles signature replayed with a CreateRole body and an unsigned
/// `x-amz-content-sha256` naming the ListRoles body created the role.
#[tokio::test]
async fn replayed_list_roles_signature_with_a_create_role_body_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let mut headers = sign(
        &Method::POST,
        "/",
        form_headers(),
        LIST_ROLES,
        &creds,
        "iam",
        "us-east-1",
        DATE,
    );
    let (status, _) = iam_call(&lab, &headers, LIST_ROLES).await;
    assert_eq!(status, StatusCode::OK, "the genuine call passes");
    headers.insert(
        "x-amz-content-sha256",
        sha256_hex(LIST_ROLES).parse().unwrap(),
    );
    assert_eq!(
        iam_call(&lab, &headers, CREATE_ROLE).await,
        refused(MISMATCH)
    );
    assert!(
        lab.emulator.iam().get_role("evil").is_err(),
        "no role was created"
    );
}

/// A signed `x-amz-content-sha256` that is not the body's hash does not vouch for it.
#[tokio::test]
async fn iam_body_that_does_not_match_its_signed_content_hash_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let mut base = form_headers();
    base.insert(
        "x-amz-content-sha256",
        sha256_hex(LIST_ROLES).parse().unwrap(),
    );
    let headers = sign(
        &Method::POST,
        "/",
        base,
        LIST_ROLES,
        &creds,
        "iam",
        "us-east-1",
        DATE,
    );
    assert_eq!(
        iam_call(&lab, &headers, CREATE_ROLE).await,
        refused(MISMATCH)
    );
    assert!(lab.emulator.iam().get_role("evil").is_err());
}

/// Seen: a replayed S3 PUT with another body replaced the object.
#[tokio::test]
async fn replayed_s3_put_with_another_body_is_refused_and_the_object_kept() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    put_private(&lab, "app.txt", b"original");
    let mut base = HeaderMap::new();
    base.insert("host", HOST.parse().unwrap());
    let uri = "/oidc-test/app.txt";
    let headers = sign(
        &Method::PUT,
        uri,
        base,
        b"signed body",
        &creds,
        "s3",
        "us-east-1",
        DATE,
    );
    let (status, body) = lab
        .send(request(Method::PUT, uri, &headers, b"forged body"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        error_of(&body),
        (
            "XAmzContentSHA256Mismatch".into(),
            "The provided 'x-amz-content-sha256' header does not match what was computed.".into()
        )
    );
    assert!(
        body.contains(&format!(
            "<ClientComputedContentSHA256>{}</ClientComputedContentSHA256><S3ComputedContentSHA256>{}</S3ComputedContentSHA256>",
            sha256_hex(b"signed body"),
            sha256_hex(b"forged body")
        )),
        "{body}"
    );
    assert_eq!(object(&lab, "app.txt"), Bytes::from_static(b"original"));
    let (status, body) = lab
        .send(request(Method::PUT, uri, &headers, b"signed body"))
        .await;
    assert_eq!(status, StatusCode::OK, "the genuine upload passes: {body}");
    assert_eq!(object(&lab, "app.txt"), Bytes::from_static(b"signed body"));
}

// --- the 15-minute window, on the emulator's clock ------------------------------------

#[tokio::test]
async fn signature_older_than_15_minutes_is_refused_with_aws_text() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let date = amz_date(NOW - 16 * 60);
    let headers = sign(
        &Method::POST,
        "/",
        form_headers(),
        LIST_ROLES,
        &creds,
        "iam",
        "us-east-1",
        &date,
    );
    assert_eq!(
        iam_call(&lab, &headers, LIST_ROLES).await,
        refused(
            "Signature expired: 20231114T215720Z is now earlier than 20231114T215820Z (20231114T221320Z - 15 min.)"
        )
    );
}

#[tokio::test]
async fn signature_more_than_15_minutes_ahead_is_refused_with_aws_text() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let date = amz_date(NOW + 16 * 60);
    let headers = sign(
        &Method::POST,
        "/",
        form_headers(),
        CALLER_IDENTITY,
        &creds,
        "sts",
        "us-east-1",
        &date,
    );
    assert_eq!(
        iam_call(&lab, &headers, CALLER_IDENTITY).await,
        refused(
            "Signature not yet current: 20231114T222920Z is still later than 20231114T222820Z (20231114T221320Z + 15 min.)"
        )
    );
}

#[tokio::test]
async fn signature_14_minutes_old_passes() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let date = amz_date(NOW - 14 * 60);
    let headers = sign(
        &Method::POST,
        "/",
        form_headers(),
        CALLER_IDENTITY,
        &creds,
        "sts",
        "us-east-1",
        &date,
    );
    let (status, body) = lab
        .send(request(Method::POST, "/", &headers, CALLER_IDENTITY))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn s3_signature_outside_the_window_is_request_time_too_skewed() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let mut base = HeaderMap::new();
    base.insert("host", HOST.parse().unwrap());
    let date = amz_date(NOW - 20 * 60);
    let uri = "/oidc-test/keys.json";
    let headers = sign(
        &Method::GET,
        uri,
        base,
        b"",
        &creds,
        "s3",
        "us-east-1",
        &date,
    );
    let (status, body) = lab.send(request(Method::GET, uri, &headers, b"")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_of(&body).0, "RequestTimeTooSkewed");
    assert!(
        body.contains("<RequestTime>20231114T215320Z</RequestTime><ServerTime>2023-11-14T22:13:20Z</ServerTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>"),
        "{body}"
    );
}

// --- the credential scope -------------------------------------------------------------

#[tokio::test]
async fn scope_date_other_than_x_amz_date_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let mut headers = sign(
        &Method::POST,
        "/",
        form_headers(),
        CALLER_IDENTITY,
        &creds,
        "sts",
        "us-east-1",
        DATE,
    );
    let authorization = headers["authorization"]
        .to_str()
        .unwrap()
        .replace("/20231114/", "/20231113/");
    headers.insert("authorization", authorization.parse().unwrap());
    assert_eq!(
        iam_call(&lab, &headers, CALLER_IDENTITY).await,
        refused(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20231113' != '20231114', from '20231114T221320Z'. "
        )
    );
}

#[tokio::test]
async fn scope_with_an_invalid_region_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let headers = sign(
        &Method::POST,
        "/",
        form_headers(),
        CALLER_IDENTITY,
        &creds,
        "sts",
        "moon",
        DATE,
    );
    assert_eq!(
        iam_call(&lab, &headers, CALLER_IDENTITY).await,
        refused("Credential should be scoped to a valid region. ")
    );
}

/// A scope naming another service (the router places the call by its `Version`).
#[tokio::test]
async fn scope_for_another_service_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let headers = sign(
        &Method::POST,
        "/",
        form_headers(),
        CALLER_IDENTITY,
        &creds,
        "ec2",
        "us-east-1",
        DATE,
    );
    assert_eq!(
        iam_call(&lab, &headers, CALLER_IDENTITY).await,
        refused("Credential should be scoped to correct service: 'sts'. ")
    );
}

/// The hostname names the service: an IAM-scoped call sent to STS's hostname is refused.
#[tokio::test]
async fn scope_for_another_service_than_the_hostname_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let mut base = form_headers();
    base.insert("host", "sts.us-east-1.amazonaws.com".parse().unwrap());
    let headers = sign(
        &Method::POST,
        "/",
        base,
        LIST_ROLES,
        &creds,
        "iam",
        "us-east-1",
        DATE,
    );
    assert_eq!(
        iam_call(&lab, &headers, LIST_ROLES).await,
        refused("Credential should be scoped to correct service: 'sts'. ")
    );
}

#[tokio::test]
async fn host_must_be_among_the_signed_headers() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let mut base = form_headers();
    base.remove("host");
    let mut headers = sign(
        &Method::POST,
        "/",
        base,
        CALLER_IDENTITY,
        &creds,
        "sts",
        "us-east-1",
        DATE,
    );
    headers.insert("host", HOST.parse().unwrap());
    assert_eq!(
        iam_call(&lab, &headers, CALLER_IDENTITY).await,
        refused("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    );
}

// --- streaming uploads: every chunk is signed -----------------------------------------

fn streaming_headers(decoded_len: usize, trailer: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HOST.parse().unwrap());
    headers.insert("content-encoding", "aws-chunked".parse().unwrap());
    let payload = if trailer {
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    } else {
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    };
    headers.insert("x-amz-content-sha256", payload.parse().unwrap());
    headers.insert(
        "x-amz-decoded-content-length",
        decoded_len.to_string().parse().unwrap(),
    );
    if trailer {
        headers.insert("x-amz-trailer", "x-amz-checksum-crc32".parse().unwrap());
    }
    headers
}

fn seed_signature(headers: &HeaderMap) -> String {
    let value = headers["authorization"].to_str().unwrap();
    value.rsplit("Signature=").next().unwrap().to_owned()
}

const CHUNKS: [&[u8]; 2] = [b"hello ", b"world"];

#[tokio::test]
async fn signed_streaming_upload_is_stored() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let uri = "/oidc-test/streamed.txt";
    let headers = sign(
        &Method::PUT,
        uri,
        streaming_headers(11, false),
        b"",
        &creds,
        "s3",
        "us-east-1",
        DATE,
    );
    let body = streaming::sign_chunked_body(
        &creds.secret,
        DATE,
        "us-east-1",
        "s3",
        &seed_signature(&headers),
        &CHUNKS,
        None,
    );
    let (status, text) = lab.send(request(Method::PUT, uri, &headers, &body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        object(&lab, "streamed.txt"),
        Bytes::from_static(b"hello world")
    );
}

/// Seen: chunk signatures of all zeros stored the body.
#[tokio::test]
async fn streaming_upload_with_all_zero_chunk_signatures_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let uri = "/oidc-test/streamed.txt";
    let headers = sign(
        &Method::PUT,
        uri,
        streaming_headers(11, false),
        b"",
        &creds,
        "s3",
        "us-east-1",
        DATE,
    );
    let zeros = "0".repeat(64);
    let body = format!(
        "6;chunk-signature={zeros}\r\nhello \r\n5;chunk-signature={zeros}\r\nworld\r\n0;chunk-signature={zeros}\r\n\r\n"
    );
    let (status, text) = lab
        .send(request(Method::PUT, uri, &headers, body.as_bytes()))
        .await;
    assert_eq!(
        (status, error_of(&text).0.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
        "{text}"
    );
    assert!(
        lab.emulator
            .s3()
            .get_object(BUCKET, "streamed.txt")
            .is_err()
    );
}

#[tokio::test]
async fn streaming_upload_with_a_changed_chunk_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let uri = "/oidc-test/streamed.txt";
    let headers = sign(
        &Method::PUT,
        uri,
        streaming_headers(11, false),
        b"",
        &creds,
        "s3",
        "us-east-1",
        DATE,
    );
    let body = streaming::sign_chunked_body(
        &creds.secret,
        DATE,
        "us-east-1",
        "s3",
        &seed_signature(&headers),
        &CHUNKS,
        None,
    );
    let forged = String::from_utf8(body).unwrap().replace("world", "WORLD");
    let (status, text) = lab
        .send(request(Method::PUT, uri, &headers, forged.as_bytes()))
        .await;
    assert_eq!(
        (status, error_of(&text).0.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
        "{text}"
    );
    assert!(
        lab.emulator
            .s3()
            .get_object(BUCKET, "streamed.txt")
            .is_err()
    );
}

/// A chain signed for one upload does not carry over to another seed (replayed chunks).
#[tokio::test]
async fn streaming_chunks_replayed_under_another_seed_are_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let uri = "/oidc-test/streamed.txt";
    let headers = sign(
        &Method::PUT,
        uri,
        streaming_headers(11, false),
        b"",
        &creds,
        "s3",
        "us-east-1",
        DATE,
    );
    let body = streaming::sign_chunked_body(
        &creds.secret,
        DATE,
        "us-east-1",
        "s3",
        &"1".repeat(64),
        &CHUNKS,
        None,
    );
    let (status, text) = lab.send(request(Method::PUT, uri, &headers, &body)).await;
    assert_eq!(
        (status, error_of(&text).0.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
        "{text}"
    );
}

// --- presigned URLs -------------------------------------------------------------------

fn presigned(uri: &str, creds: &Creds, service: &str, date: &str, expires: u32) -> String {
    sigv4::presign(
        &Method::GET,
        &uri.parse::<Uri>().unwrap(),
        HOST,
        &creds.akid,
        &creds.secret,
        Some(&creds.token),
        "us-east-1",
        service,
        date,
        expires,
    )
    .to_string()
}

fn host_only() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HOST.parse().unwrap());
    headers
}

/// Seen: every presigned URL made with issued credentials failed with
/// InvalidClientTokenId (the token was compared still percent-encoded).
#[tokio::test]
async fn presigned_get_with_issued_credentials_reads_a_private_object() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    assert!(
        creds.token.contains(['+', '/', '=']),
        "the token needs encoding"
    );
    put_private(&lab, "private.txt", b"for the workload");
    let url = presigned("/oidc-test/private.txt", &creds, "s3", DATE, 300);
    assert!(url.contains("X-Amz-Security-Token=IQoJ"), "{url}");
    let (status, body) = lab
        .send(request(Method::GET, &url, &host_only(), b""))
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "for the workload")
    );
}

#[tokio::test]
async fn presigned_url_past_its_expiry_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    put_private(&lab, "private.txt", b"for the workload");
    let url = presigned(
        "/oidc-test/private.txt",
        &creds,
        "s3",
        &amz_date(NOW - 61),
        60,
    );
    let (status, body) = lab
        .send(request(Method::GET, &url, &host_only(), b""))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::FORBIDDEN,
            ("AccessDenied".into(), "Request has expired".into())
        ),
        "{body}"
    );
    assert!(
        body.contains("<X-Amz-Expires>60</X-Amz-Expires><Expires>2023-11-14T22:13:19Z</Expires><ServerTime>2023-11-14T22:13:20Z</ServerTime>"),
        "{body}"
    );
}

#[tokio::test]
async fn presigned_url_without_expires_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let url = presigned("/oidc-test/keys.json", &creds, "s3", DATE, 60);
    let url = url.replace("X-Amz-Expires=60&", "");
    let (status, body) = lab
        .send(request(Method::GET, &url, &host_only(), b""))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body).0, "AuthorizationQueryParametersError");
}

/// STS ignores `X-Amz-Expires` (EKS tokens rely on it): a presigned GetCallerIdentity
/// lives for the 15-minute window.
#[tokio::test]
async fn presigned_get_caller_identity_with_issued_credentials_answers() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let url = presigned(
        "/?Action=GetCallerIdentity&Version=2011-06-15",
        &creds,
        "sts",
        DATE,
        60,
    );
    let (status, body) = lab
        .send(request(Method::GET, &url, &host_only(), b""))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("<Arn>arn:aws:sts::111122223333:assumed-role/s3-reader/botocore-session-1700000000</Arn>"),
        "{body}"
    );
}

// --- the SDKs' own signer as the oracle -----------------------------------------------

mod sdk {
    use std::borrow::Cow;
    use std::time::SystemTime;

    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{
        PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
        sign,
    };
    use aws_sigv4::sign::v4;
    use http::Request;

    pub struct Signing<'a> {
        pub akid: &'a str,
        pub secret: &'a str,
        pub token: &'a str,
        pub service: &'a str,
        pub time: SystemTime,
    }

    impl Signing<'_> {
        fn identity(&self) -> aws_smithy_runtime_api::client::identity::Identity {
            Credentials::new(
                self.akid,
                self.secret,
                Some(self.token.to_owned()),
                None,
                "irsa-lab-test",
            )
            .into()
        }

        /// Signs `request` in place (headers or query), as the SDK for Rust does.
        pub fn sign<B>(
            &self,
            request: &mut Request<B>,
            body: SignableBody<'_>,
            settings: SigningSettings,
        ) -> String {
            let identity = self.identity();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name(self.service)
                .time(self.time)
                .settings(settings)
                .build()
                .unwrap()
                .into();
            let uri = format!("http://{}{}", super::HOST, request.uri());
            let headers: Vec<(String, String)> = request
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect();
            let signable = SignableRequest::new(
                request.method().as_str(),
                Cow::Owned(uri),
                headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                body,
            )
            .unwrap();
            let (instructions, signature) = sign(signable, &params).unwrap().into_parts();
            instructions.apply_to_request_http1x(request);
            signature
        }

        pub fn chunk(&self, data: &[u8], previous: &str) -> String {
            let identity = self.identity();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name(self.service)
                .time(self.time)
                .settings(())
                .build()
                .unwrap();
            v4::sign_chunk(&bytes::Bytes::copy_from_slice(data), previous, &params)
                .unwrap()
                .into_parts()
                .1
        }

        pub fn trailer(&self, name: &str, value: &str, previous: &str) -> String {
            let identity = self.identity();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name(self.service)
                .time(self.time)
                .settings(())
                .build()
                .unwrap();
            let mut headers = aws_smithy_runtime_api::http::Headers::new();
            headers.insert(name.to_owned(), value.to_owned());
            v4::sign_trailer(&headers, previous, &params)
                .unwrap()
                .into_parts()
                .1
        }
    }

    pub fn header_settings(s3: bool) -> SigningSettings {
        let mut settings = SigningSettings::default();
        if s3 {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
            settings.uri_path_normalization_mode =
                aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
        }
        settings
    }

    pub fn presign_settings(expires: std::time::Duration) -> SigningSettings {
        let mut settings = header_settings(true);
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
        settings
    }
}

fn sdk_time(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap())
}

fn sdk<'a>(creds: &'a Creds, service: &'a str) -> sdk::Signing<'a> {
    sdk::Signing {
        akid: &creds.akid,
        secret: &creds.secret,
        token: &creds.token,
        service,
        time: sdk_time(NOW),
    }
}

#[tokio::test]
async fn iam_call_signed_by_the_sdk_signer_passes_and_its_replay_does_not() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let mut genuine = request(Method::POST, "/", &form_headers(), LIST_ROLES);
    sdk(&creds, "iam").sign(
        &mut genuine,
        aws_sigv4::http_request::SignableBody::Bytes(LIST_ROLES),
        sdk::header_settings(false),
    );
    let headers = genuine.headers().clone();
    let (status, body) = lab.send(genuine).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        iam_call(&lab, &headers, CREATE_ROLE).await,
        refused(MISMATCH)
    );
}

#[tokio::test]
async fn s3_put_signed_by_the_sdk_signer_passes_and_its_replay_does_not() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let uri = "/oidc-test/sdk.txt";
    let mut genuine = request(Method::PUT, uri, &host_only(), b"sdk body");
    sdk(&creds, "s3").sign(
        &mut genuine,
        aws_sigv4::http_request::SignableBody::Bytes(b"sdk body"),
        sdk::header_settings(true),
    );
    let headers = genuine.headers().clone();
    let (status, body) = lab.send(genuine).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = lab
        .send(request(Method::PUT, uri, &headers, b"other body"))
        .await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (StatusCode::BAD_REQUEST, "XAmzContentSHA256Mismatch"),
        "{body}"
    );
    assert_eq!(object(&lab, "sdk.txt"), Bytes::from_static(b"sdk body"));
}

/// S3 requires the payload hash to be signed: the same header added after signing is
/// refused, as S3 does.
#[tokio::test]
async fn s3_put_whose_content_hash_is_not_signed_is_refused() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let uri = "/oidc-test/sdk.txt";
    let mut forged = request(Method::PUT, uri, &host_only(), b"body");
    sdk(&creds, "s3").sign(
        &mut forged,
        aws_sigv4::http_request::SignableBody::Bytes(b"body"),
        sdk::header_settings(false),
    );
    forged
        .headers_mut()
        .insert("x-amz-content-sha256", sha256_hex(b"body").parse().unwrap());
    let (status, body) = lab.send(forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        error_of(&body),
        (
            "AccessDenied".into(),
            "There were headers present in the request which were not signed".into()
        )
    );
    assert!(
        body.contains("<HeadersNotSigned>x-amz-content-sha256</HeadersNotSigned>"),
        "{body}"
    );
}

#[tokio::test]
async fn presigned_url_signed_by_the_sdk_signer_reads_a_private_object() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    put_private(&lab, "private.txt", b"for the workload");
    let mut presigned = request(Method::GET, "/oidc-test/private.txt", &host_only(), b"");
    sdk(&creds, "s3").sign(
        &mut presigned,
        aws_sigv4::http_request::SignableBody::UnsignedPayload,
        sdk::presign_settings(Duration::from_secs(300)),
    );
    let url = presigned.uri().to_string();
    assert!(url.contains("X-Amz-Security-Token="), "{url}");
    let (status, body) = lab
        .send(request(Method::GET, &url, &host_only(), b""))
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "for the workload")
    );
}

/// Chunk and trailer signatures computed by the SDK's signer verify; the emulator's own
/// signer produces the same body.
#[tokio::test]
async fn streaming_upload_with_trailer_signed_by_the_sdk_signer_is_stored() {
    let lab = Lab::new();
    let creds = issued(&lab).await;
    let uri = "/oidc-test/trailer.txt";
    let headers = sign(
        &Method::PUT,
        uri,
        streaming_headers(11, true),
        b"",
        &creds,
        "s3",
        "us-east-1",
        DATE,
    );
    let seed = seed_signature(&headers);
    let signer = sdk(&creds, "s3");
    let first = signer.chunk(CHUNKS[0], &seed);
    let second = signer.chunk(CHUNKS[1], &first);
    let last = signer.chunk(b"", &second);
    let trailer = signer.trailer("x-amz-checksum-crc32", "DUoRhQ==", &last);
    let body = format!(
        "6;chunk-signature={first}\r\nhello \r\n5;chunk-signature={second}\r\nworld\r\n0;chunk-signature={last}\r\nx-amz-checksum-crc32:DUoRhQ==\r\nx-amz-trailer-signature:{trailer}\r\n\r\n"
    );
    let ours = streaming::sign_chunked_body(
        &creds.secret,
        DATE,
        "us-east-1",
        "s3",
        &seed,
        &CHUNKS,
        Some(&[("x-amz-checksum-crc32", "DUoRhQ==")]),
    );
    assert_eq!(String::from_utf8(ours).unwrap(), body, "both signers agree");
    let (status, text) = lab
        .send(request(Method::PUT, uri, &headers, body.as_bytes()))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        object(&lab, "trailer.txt"),
        Bytes::from_static(b"hello world")
    );
    let forged = body.replace("DUoRhQ==\r\n", "AAAAAA==\r\n");
    let (status, text) = lab
        .send(request(Method::PUT, uri, &headers, forged.as_bytes()))
        .await;
    assert_eq!(
        (status, error_of(&text).0.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
        "a changed trailer: {text}"
    );
}
