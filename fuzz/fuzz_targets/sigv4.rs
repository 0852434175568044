//! The SigV4 reader and verifier. Input: the URL query string on the first line (a
//! presigned URL's `X-Amz-*` parameters), then `Name: value` header lines up to an empty
//! line (`Authorization`, `X-Amz-Date`, `X-Amz-Content-Sha256`, ...), then the body.
//! A readable signature is then verified against a fixed secret, which exercises the
//! canonical request (query and header canonicalisation, payload hash).
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use irsa_emulator::sts::sigv4;
use irsa_lab_fuzz::split_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (query, mut rest) = split_line(data);
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let mut headers = HeaderMap::new();
    loop {
        let (line, after) = split_line(rest);
        rest = after;
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let body = rest;
    let uri: Uri = if query.is_empty() {
        Uri::from_static("/")
    } else {
        match format!("/?{query}").parse() {
            Ok(uri) => uri,
            Err(_) => return,
        }
    };
    if let Ok(Some(auth)) = sigv4::parse_authorization(&headers, uri.query()) {
        // "Now" is the signed time itself (when readable), so the window check passes and
        // the canonical request and payload paths are reached.
        let format =
            time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        let now = headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .and_then(|d| time::PrimitiveDateTime::parse(d, &format).ok())
            .map(time::PrimitiveDateTime::assume_utc)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let request = sigv4::SignedRequest {
            method: &Method::POST,
            uri: &uri,
            headers: &headers,
            body,
        };
        for service in [
            sigv4::SignedService::Sts,
            sigv4::SignedService::Iam,
            sigv4::SignedService::S3,
        ] {
            let _ = sigv4::verify(
                &request,
                &auth,
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                service,
                now,
            );
        }
    }
});
