//! Malformed request bodies: aws-chunked framing through the router, and broken HTTP
//! chunked transfer encoding over a real socket. Each is a 400 naming the problem; a
//! body that is only too large is still 413 (S3: EntityTooLarge).

mod support;

use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An aws-chunked PUT with admin credentials (not verified), as the CLI sends one.
fn chunked_put(key: &str, body: &[u8]) -> Request<Body> {
    Request::put(format!("/oidc-test/{key}"))
        .header("host", "127.0.0.1:4577")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20231114/us-east-1/s3/aws4_request, SignedHeaders=host, Signature={}",
                "0".repeat(64)
            ),
        )
        .body(Body::from(body.to_vec()))
        .unwrap()
}

/// Seen: this size overflowed `size + 2` and killed the request handler.
#[tokio::test]
async fn chunk_size_of_u64_max_is_an_incomplete_body_not_a_panic() {
    let lab = Lab::new();
    let (status, body) = lab
        .send(chunked_put("k", b"ffffffffffffffff\r\nhello\r\n0\r\n\r\n"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        error_of(&body),
        (
            "IncompleteBody".into(),
            "the aws-chunked body is incomplete: chunk 0 declares 18446744073709551615 bytes but 12 remain".into()
        )
    );
    assert!(lab.emulator.s3().get_object(BUCKET, "k").is_err());
}

#[tokio::test]
async fn chunk_size_that_is_not_hexadecimal_is_an_invalid_request() {
    let lab = Lab::new();
    let (status, body) = lab
        .send(chunked_put("k", b"zz\r\nhello\r\n0\r\n\r\n"))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::BAD_REQUEST,
            (
                "InvalidRequest".into(),
                "malformed aws-chunked body: chunk 0's size \"zz\" is not 1 to 16 hexadecimal digits".into()
            )
        )
    );
}

#[tokio::test]
async fn chunk_data_not_followed_by_crlf_is_an_invalid_request() {
    let lab = Lab::new();
    let (status, body) = lab.send(chunked_put("k", b"5\r\nhelloXX0\r\n\r\n")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body).0, "InvalidRequest");
}

#[tokio::test]
async fn well_formed_chunked_upload_is_stored() {
    let lab = Lab::new();
    let (status, body) = lab
        .send(chunked_put(
            "k",
            b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        lab.emulator.s3().get_object(BUCKET, "k").unwrap().body,
        bytes::Bytes::from_static(b"hello")
    );
}

#[tokio::test]
async fn s3_body_over_the_cap_is_entity_too_large() {
    let lab = Lab::new();
    let request = Request::put("/oidc-test/big")
        .header("host", "127.0.0.1:4577")
        .body(Body::from(vec![b'x'; 16 * 1024 * 1024 + 1]))
        .unwrap();
    let (status, body) = lab.send(request).await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (StatusCode::BAD_REQUEST, "EntityTooLarge"),
        "{body}"
    );
}

/// Sends `raw` over a real socket to the emulator and returns the status line and body.
async fn raw_exchange(raw: &[u8]) -> String {
    let lab = Lab::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = lab.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut answer = Vec::new();
    // The server closes the connection after answering a request whose body it could
    // not read; the timeout only bounds a broken test.
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    server.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Seen: broken HTTP chunked framing was answered "413 request body larger than ...".
#[tokio::test]
async fn broken_http_chunked_framing_is_400_not_413() {
    let answer = raw_exchange(
        b"PUT /oidc-test/k HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>IncompleteBody</Code>"), "{answer}");
    assert!(!answer.contains("larger than"), "{answer}");
}

#[tokio::test]
async fn broken_http_chunked_framing_of_a_query_call_is_400() {
    let answer = raw_exchange(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nAction\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("could not be read"), "{answer}");
}
