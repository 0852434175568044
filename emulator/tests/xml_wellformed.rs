//! Every XML answer stays well-formed whatever the token or the request carries: text that
//! XML 1.0 cannot hold (C0 controls, U+FFFE, U+FFFF) comes back as U+FFFD, everything else
//! exactly. roxmltree, not the quick-xml that writes the answers, is the oracle.

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode};
use serde_json::json;
use support::*;

/// A token that parses but carries no valid signature: no provider lookup needs one.
fn unsigned_token(claims: serde_json::Value) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// What the answer says for `text` once XML 1.0 has to carry it.
fn as_xml_carries(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

async fn unregistered_iss(iss: &str) {
    let lab = Lab::new();
    let (status, body) = lab
        .assume(&unsigned_token(
            json!({"iss": iss, "aud": "sts.amazonaws.com", "sub": SUB}),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
    assert_eq!(
        error_of(&body),
        (
            "InvalidIdentityToken".to_owned(),
            format!(
                "No OpenIDConnect provider found in your account for {}",
                as_xml_carries(iss)
            )
        )
    );
}

async fn subject(sub: &str) {
    let lab = Lab::new();
    let role = lab.allow_any_subject();
    let token = lab.token_with(|c| c["sub"] = json!(sub));
    let (status, body) = lab
        .assume_with(&[
            ("RoleArn", role),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", &token),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(
        xml_text(&body, "SubjectFromWebIdentityToken"),
        Some(as_xml_carries(sub))
    );
}

#[tokio::test]
async fn unregistered_iss_with_nul() {
    unregistered_iss("https://oidc.example.com/\u{0}").await;
}

#[tokio::test]
async fn unregistered_iss_with_bel_and_esc() {
    unregistered_iss("https://oidc.example.com/\u{7}\u{1b}[31m").await;
}

#[tokio::test]
async fn unregistered_iss_with_u_fffe_and_u_ffff() {
    unregistered_iss("https://oidc.example.com/\u{FFFE}\u{FFFF}").await;
}

#[tokio::test]
async fn sub_with_nul() {
    subject("system:serviceaccount:default:\u{0}app").await;
}

#[tokio::test]
async fn sub_with_esc_and_bel() {
    subject("system:serviceaccount:default:\u{1b}]0;pwned\u{7}").await;
}

#[tokio::test]
async fn sub_with_u_fffe() {
    subject("system:serviceaccount:default:\u{FFFE}").await;
}

#[tokio::test]
async fn sub_with_a_carriage_return_reads_back_exactly() {
    // A raw CR would reach every XML reader as LF (XML 1.0 §2.11).
    subject("system:serviceaccount:default:a\r\nb").await;
}

async fn iam(params: &[(&str, &str)]) -> (StatusCode, String) {
    let lab = Lab::new();
    let mut all = vec![("Version", "2010-05-08")];
    all.extend_from_slice(params);
    let request = Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "127.0.0.1:4577")
        .body(serde_urlencoded::to_string(&all).unwrap().into())
        .unwrap();
    lab.send(request).await
}

#[tokio::test]
async fn iam_error_echoing_a_role_name_with_controls() {
    let (status, body) = iam(&[("Action", "GetRole"), ("RoleName", "a\u{0}b\u{1b}")]).await;
    assert!(status.is_client_error(), "{status}");
    let (_, message) = error_of(&body);
    assert!(message.contains("a\u{FFFD}b\u{FFFD}"), "{message:?}");
}

#[tokio::test]
async fn iam_role_description_with_controls() {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{PROVIDER_KEY}")},
            "Action": "sts:AssumeRoleWithWebIdentity"
        }]
    })
    .to_string();
    let (status, body) = iam(&[
        ("Action", "CreateRole"),
        ("RoleName", "described"),
        ("AssumeRolePolicyDocument", &trust),
        ("Description", "line\u{0}\u{FFFF}<end>"),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(
        xml_text(&body, "Description").as_deref(),
        Some("line\u{FFFD}\u{FFFD}<end>")
    );
}
