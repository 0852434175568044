//! A compact JWS through the JWT parser and the claim accessors, then, re-signed with the
//! lab issuer's key (header and payload exactly as given), through STS's whole
//! web-identity validation: claims a fuzzer invents reach the checks after the signature
//! (`exp`, `nbf`, `iat`, the trust policy) instead of all stopping at "unverifiable".
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use irsa_emulator::query::QueryRequest;
use irsa_emulator::sts::AssumeRoleWithWebIdentityInput;
use irsa_lab_fuzz::{Lab, ROLE_ARN, runtime};
use libfuzzer_sys::fuzz_target;

/// `{header}\n{claims}` (JSON as text) becomes the compact token the two would make, so
/// the fuzzer can change claims directly instead of through base64; anything else is
/// taken as a compact token.
fn token_text(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    Some(match text.split_once('\n') {
        Some((header, claims)) if text.starts_with('{') => format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        ),
        _ => text.to_owned(),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = token_text(data) else {
        return;
    };
    let text = text.as_str();
    if let Ok(token) = irsa_emulator::jwt::parse(text) {
        let _ = token.issuer();
        let _ = token.subject();
        let _ = token.authorized_party();
        let _ = token.audiences();
        for claim in ["exp", "nbf", "iat"] {
            let _ = token.numeric_date(claim);
        }
        assert!(text.starts_with(token.signing_input()));
        let _ = token.signature();
    }

    Lab::with(|lab| validate_resigned(lab, text));
});

fn validate_resigned(lab: &Lab, text: &str) {
    let signing_input = text.rsplit_once('.').map_or(text, |(input, _)| input);
    let signature = URL_SAFE_NO_PAD.encode(lab.key.sign(signing_input.as_bytes()));
    let resigned = format!("{signing_input}.{signature}");
    let query = QueryRequest::new(
        "AssumeRoleWithWebIdentity",
        [
            ("RoleArn", ROLE_ARN),
            ("RoleSessionName", "fuzz"),
            ("WebIdentityToken", resigned.as_str()),
        ],
    );
    let Ok(input) = AssumeRoleWithWebIdentityInput::from_query(&query) else {
        return;
    };
    let _ = runtime().block_on(lab.emulator.sts().assume_role_with_web_identity(&input));
}

irsa_lab_fuzz::json_number_mutator!();
