//! A JWS whose `crit` header names anything is refused (RFC 7515 §4.1.11: we implement no
//! JWS extension), with AWS's text for a token that is not a valid JWT, even when the
//! signature is the issuer's own.

mod support;

use http::StatusCode;
use irsa_emulator::issuer::{KidMode, header_for, sign_raw};
use irsa_emulator::sts::NOT_A_JWT_MESSAGE;
use serde_json::{Value, json};
use support::*;

async fn refused(extra_header: Value) {
    let lab = Lab::new();
    let mut header = header_for(&lab.key, KidMode::Sha256);
    for (name, value) in extra_header.as_object().unwrap() {
        header[name] = value.clone();
    }
    let token = sign_raw(&header, &lab.claims(), &lab.key);
    let (status, body) = lab.assume(&token).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::BAD_REQUEST,
            (
                "InvalidIdentityToken".to_owned(),
                NOT_A_JWT_MESSAGE.to_owned()
            )
        )
    );
}

#[tokio::test]
async fn crit_naming_a_registered_claim_is_refused() {
    refused(json!({"crit": ["exp"], "exp": 1_700_086_400})).await;
}

#[tokio::test]
async fn crit_naming_an_unknown_extension_is_refused() {
    refused(json!({"crit": ["http://example.com/ext"], "http://example.com/ext": true})).await;
}

#[tokio::test]
async fn crit_b64_unencoded_payload_is_refused() {
    refused(json!({"crit": ["b64"], "b64": false})).await;
}

#[tokio::test]
async fn an_empty_crit_list_is_refused() {
    refused(json!({"crit": []})).await;
}
