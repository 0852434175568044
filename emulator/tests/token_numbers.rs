//! Numbers a client controls (token timestamps, form parameters) get AWS's answer at any
//! magnitude: no overflow, no wrap, no panic, no hang.

mod support;

use http::StatusCode;
use serde_json::json;
use support::*;

async fn assume_with_duration(duration: &str) -> (StatusCode, (String, String)) {
    let lab = Lab::new();
    let token = lab.token();
    let (status, body) = lab
        .assume_with(&[
            ("RoleArn", ROLE_ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", &token),
            ("DurationSeconds", duration),
        ])
        .await;
    (status, error_of(&body))
}

fn validation(message: &str) -> (StatusCode, (String, String)) {
    (
        StatusCode::BAD_REQUEST,
        (
            "ValidationError".to_owned(),
            format!("1 validation error detected: {message}"),
        ),
    )
}

#[tokio::test]
async fn exp_at_i64_max_is_the_far_future() {
    let lab = Lab::new();
    let token = lab.token_with(|c| c["exp"] = json!(i64::MAX));
    let (status, body) = lab.assume(&token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(xml_text(&body, "AccessKeyId").is_some(), "{body}");
}

#[tokio::test]
async fn exp_at_i64_max_minus_the_tolerance_is_the_far_future() {
    let lab = Lab::new();
    let token = lab.token_with(|c| c["exp"] = json!(i64::MAX - 299));
    let (status, body) = lab.assume(&token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn duration_seconds_beyond_64_bits_fails_the_maximum() {
    assert_eq!(
        assume_with_duration("99999999999999999999999").await,
        validation(
            "Value '99999999999999999999999' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
        )
    );
}

#[tokio::test]
async fn negative_duration_seconds_beyond_64_bits_fails_the_minimum() {
    assert_eq!(
        assume_with_duration("-99999999999999999999999").await,
        validation(
            "Value '-99999999999999999999999' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )
    );
}

#[tokio::test]
async fn policy_arns_with_the_largest_member_index_are_answered() {
    // The old parser counted up to the largest index present: 2^64 - 1 iterations.
    let lab = Lab::new();
    let token = lab.token();
    let (status, body) = lab
        .assume_with(&[
            ("RoleArn", ROLE_ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", &token),
            (
                "PolicyArns.member.18446744073709551615.arn",
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
            ),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
