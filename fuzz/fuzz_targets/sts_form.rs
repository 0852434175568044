//! An STS/IAM Query request through the emulator's router: the first line is the URL query
//! string, the rest the `application/x-www-form-urlencoded` body. Covers the Query
//! parser, the service classifier, AssumeRoleWithWebIdentity's parameter checks and,
//! for seeds with a valid token, the whole validation and the XML answer.
#![no_main]

use axum::body::Body;
use irsa_lab_fuzz::{Lab, assert_not_internal_error, split_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (query, form) = split_line(data);
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let uri = if query.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{query}")
    };
    let Ok(request) = http::Request::post(uri)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header(http::header::HOST, "127.0.0.1:4577")
        .body(Body::from(form.to_vec()))
    else {
        return;
    };
    let (status, body) = Lab::with(|lab| lab.send(request));
    assert_not_internal_error(status, &body);
});
