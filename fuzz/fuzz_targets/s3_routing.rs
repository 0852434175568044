//! Which service and which bucket/key a request addresses. Input: the Host header on the
//! first line, `METHOD target` on the second, `Name: value` header lines up to an empty
//! line, then the body. Runs the SigV4 scope reader, the service classifier (S3 vs the
//! Query-protocol STS/IAM) and S3's path-style/virtual-hosted addressing.
#![no_main]

use http::{HeaderName, HeaderValue, Method, Request};
use irsa_emulator::s3::address;
use irsa_emulator::server::classify;
use irsa_emulator::sts::sigv4;
use irsa_lab_fuzz::split_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (host, rest) = split_line(data);
    let (request_line, mut rest) = split_line(rest);
    let Ok(request_line) = std::str::from_utf8(request_line) else {
        return;
    };
    let (method, target) = request_line
        .split_once(' ')
        .unwrap_or(("GET", request_line));
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let mut builder = Request::builder().method(method).uri(target);
    if let Ok(host) = HeaderValue::from_bytes(host) {
        builder = builder.header(http::header::HOST, host);
    }
    loop {
        let (line, after) = split_line(rest);
        rest = after;
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) {
            builder = builder.header(name, value);
        }
    }
    let Ok(request) = builder.body(()) else {
        return;
    };
    let (parts, ()) = request.into_parts();
    let body = rest;

    let scope = sigv4::parse_authorization(&parts.headers, parts.uri.query())
        .ok()
        .flatten()
        .map(|auth| auth.service);
    let _ = classify(&parts, body, scope.as_deref());

    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    // `//key` with no bucket-bearing Host addresses bucket "": refusing it is the handlers'
    // job, so nothing beyond "no panic" is asserted here.
    let _ = address(host, parts.uri.path());
});
