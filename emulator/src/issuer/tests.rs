//! Cross-module tests of the issuer: key round trips, kid, JWK, signatures, token shape.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::*;
use crate::jwt;

/// Known answers computed independently of this code, with
/// `openssl pkey -pubin -in k.pub -outform der | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='`.
const RSA_PUB: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvuEy/hyVXPImXo//9jrW
MBsyvGmQys1zkLCa1DlxTsOOSRHmECE++5CfSnx6BI+EkchD6WDgbFgD5QOYYa6h
xG9pqXmIU3yV6oMMeAweK0zlX1ccbHBGDIJib46bYCGg8lhUBfnlyEso47pa47Ux
XHSIU00sL+Mk2z1Ue7Fdi+L8pUspMX5REZI/soSArAU2kbEhyxz7oYT1R30HR75W
uo7lX2r42oHyYTJQGW1oW+RECeOMeFPZza+LUCbDf96rIY8fJbSO+ud88Bw8RkfI
I6rbRWFXLXX/QclCwiP4Ba+oK9X2kRTvE6ztYa84P+OhCts5akfhs3WFy6du9oVc
HwIDAQAB
-----END PUBLIC KEY-----
";
const RSA_KID: &str = "ogoSMTTOn8m5Q9CFrnqm__sLgwBLCXBlJNzH9o9azmA";
const EC_PUB: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKXn0Ax743TI4I1Ro194UGVhQ7rQt
erqjFFllE0eTdBkYdLxUlat5WdSAzwm7PUqkTirmYfcO8rfZEfcPuvqETw==
-----END PUBLIC KEY-----
";
const EC_KID: &str = "GtKFvGrTC-Dd0BzZHqEh0XSKFKdMxkkqlW_oIipmuBs";

#[test]
fn kid_matches_independent_computation() {
    let rsa = PublicKey::from_pem(RSA_PUB).unwrap();
    assert_eq!(rsa.kid(), RSA_KID);
    assert_eq!(rsa.kid().len(), 43);
    assert_eq!(PublicKey::from_pem(EC_PUB).unwrap().kid(), EC_KID);
}

#[test]
fn public_pem_round_trips_byte_for_byte() {
    // The PEM above is what `openssl`/`ssh-keygen -e -m PKCS8` print: 64-column lines.
    assert_eq!(PublicKey::from_pem(RSA_PUB).unwrap().to_pem(), RSA_PUB);
    assert_eq!(PublicKey::from_pem(EC_PUB).unwrap().to_pem(), EC_PUB);
}

#[test]
fn every_algorithm_round_trips_and_signs() {
    for algorithm in [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcP256,
        KeyAlgorithm::EcP384,
        KeyAlgorithm::EcP521,
    ] {
        let key = PrivateKey::generate(algorithm);
        let again = PrivateKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(
            again.public_key(),
            key.public_key(),
            "{algorithm} private PEM"
        );
        let again = PrivateKey::from_pem(&key.to_pkcs8_pem()).unwrap();
        assert_eq!(
            again.public_key(),
            key.public_key(),
            "{algorithm} PKCS#8 PEM"
        );
        let public = key.public_key();
        assert_eq!(
            PublicKey::from_pem(&public.to_pem()).unwrap(),
            public,
            "{algorithm} public PEM"
        );
        let jwk = public.to_jwk();
        assert_eq!(jwk.kid.as_deref(), Some(public.kid().as_str()));
        assert_eq!(
            PublicKey::from_jwk(&jwk).unwrap(),
            public,
            "{algorithm} JWK"
        );

        let signature = key.sign(b"input");
        assert!(
            public.verify(key.algorithm(), b"input", &signature),
            "{algorithm}"
        );
        assert!(
            !public.verify(key.algorithm(), b"inpuT", &signature),
            "{algorithm} tampered input"
        );
        let other = PrivateKey::generate(algorithm).public_key();
        assert!(
            !other.verify(key.algorithm(), b"input", &signature),
            "{algorithm} other key"
        );
    }
}

#[test]
fn rsa_signs_all_three_hashes_and_refuses_ec_algorithms() {
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048);
    for alg in [
        JwsAlgorithm::RS256,
        JwsAlgorithm::RS384,
        JwsAlgorithm::RS512,
    ] {
        let sig = key.sign_with(alg, b"m").unwrap();
        assert!(key.public_key().verify(alg, b"m", &sig));
        // A signature made with one hash never verifies under another.
        let other = if alg == JwsAlgorithm::RS256 {
            JwsAlgorithm::RS512
        } else {
            JwsAlgorithm::RS256
        };
        assert!(!key.public_key().verify(other, b"m", &sig));
    }
    assert!(key.sign_with(JwsAlgorithm::ES256, b"m").is_none());
}

#[test]
fn jwk_field_order_matches_apiserver() {
    let rsa = PublicKey::from_pem(RSA_PUB).unwrap().to_jwk();
    let text = serde_json::to_string(&rsa).unwrap();
    assert!(
        text.starts_with(&format!(
            r#"{{"use":"sig","kty":"RSA","kid":"{RSA_KID}","alg":"RS256","n":""#
        )),
        "{text}"
    );
    assert!(text.ends_with(r#","e":"AQAB"}"#), "{text}");
    let ec = serde_json::to_string(&PublicKey::from_pem(EC_PUB).unwrap().to_jwk()).unwrap();
    assert!(
        ec.starts_with(&format!(
            r#"{{"use":"sig","kty":"EC","kid":"{EC_KID}","crv":"P-256","alg":"ES256","x":""#
        )),
        "{ec}"
    );
}

#[test]
fn jwks_with_empty_kid_is_the_guides_jq_output() {
    let key = PublicKey::from_pem(RSA_PUB).unwrap();
    let set = serde_json::to_value(jwks(std::slice::from_ref(&key), true)).unwrap();
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], RSA_KID);
    assert_eq!(keys[1]["kid"], "");
    let mut first_without_kid = keys[0].clone();
    first_without_kid["kid"] = json!("");
    assert_eq!(keys[1], first_without_kid);
}

#[test]
fn pem_bundles_yield_every_key_and_reject_certificates() {
    let a = PrivateKey::generate(KeyAlgorithm::EcP256);
    let b = PrivateKey::generate(KeyAlgorithm::EcP384);
    let bundle = format!("{}{}{}", RSA_PUB, a.public_key().to_pem(), b.to_pem());
    let keys = PublicKey::all_from_pem(&bundle).unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[2], b.public_key());
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        PublicKey::all_from_pem(cert),
        Err(KeyError::UnsupportedPem { .. })
    ));
    assert_eq!(
        PublicKey::all_from_pem("nothing here"),
        Err(KeyError::NoPem)
    );
}

fn bound(audiences: &[&str]) -> BoundTokenRequest {
    BoundTokenRequest {
        issuer: "https://s3.us-east-1.amazonaws.com/oidc-test".into(),
        audiences: audiences.iter().map(|s| s.to_string()).collect(),
        namespace: "default".into(),
        service_account: ObjectRef::new("app", "sa-uid"),
        pod: Some(ObjectRef::new("app-0", "pod-uid")),
        node: Some(ObjectRef::new("node-1", "node-uid")),
        secret: None,
        issued_at: 1_700_000_000,
        expiration_seconds: 86_400,
        warn_after: None,
        jti: Some("jti-1".into()),
    }
}

fn decode_part(token: &str, index: usize) -> String {
    String::from_utf8(
        URL_SAFE_NO_PAD
            .decode(token.split('.').nth(index).unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn bound_token_has_apiserver_shape() {
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048);
    let token = sign_bound_token(&bound(&["sts.amazonaws.com"]), &key, KidMode::Sha256);
    assert_eq!(
        decode_part(&token, 0),
        format!(r#"{{"alg":"RS256","kid":"{}"}}"#, key.public_key().kid())
    );
    assert_eq!(
        decode_part(&token, 1),
        r#"{"aud":["sts.amazonaws.com"],"exp":1700086400,"iat":1700000000,"iss":"https://s3.us-east-1.amazonaws.com/oidc-test","jti":"jti-1","kubernetes.io":{"namespace":"default","node":{"name":"node-1","uid":"node-uid"},"pod":{"name":"app-0","uid":"pod-uid"},"serviceaccount":{"name":"app","uid":"sa-uid"}},"nbf":1700000000,"sub":"system:serviceaccount:default:app"}"#
    );
    let parsed = jwt::parse(&token).unwrap();
    jwt::verify_signature(&parsed, &key.public_key().to_jwk()).unwrap();
}

#[test]
fn pre_116_tokens_have_no_kid_field() {
    let key = PrivateKey::generate(KeyAlgorithm::EcP256);
    let token = sign_bound_token(&bound(&["a"]), &key, KidMode::Omitted);
    assert_eq!(decode_part(&token, 0), r#"{"alg":"ES256"}"#);
    assert_eq!(jwt::parse(&token).unwrap().header.kid, None);
}

#[test]
fn legacy_token_shape() {
    let key = PrivateKey::generate(KeyAlgorithm::EcP256);
    let token = sign_legacy_token(
        "kube-system",
        "default-token-abc",
        &ObjectRef::new("default", "u"),
        &key,
        KidMode::Sha256,
    );
    let claims: serde_json::Value = serde_json::from_str(&decode_part(&token, 1)).unwrap();
    assert_eq!(claims["iss"], "kubernetes/serviceaccount");
    assert!(claims.get("aud").is_none() && claims.get("exp").is_none());
    assert_eq!(
        claims["kubernetes.io/serviceaccount/secret.name"],
        "default-token-abc"
    );
}

#[test]
fn signature_checks_refuse_forgeries() {
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048);
    let jwk = key.public_key().to_jwk();
    let claims = bound(&["a"]).claims();
    let check = |token: &str| jwt::verify_signature(&jwt::parse(token).unwrap(), &jwk);

    let none = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert!(matches!(
        check(&none),
        Err(jwt::SignatureError::UnsupportedAlgorithm(_))
    ));
    let hs = sign_hs256(
        &json!({"alg":"HS256"}),
        &claims,
        key.public_key().to_pem().as_bytes(),
    );
    assert!(matches!(
        check(&hs),
        Err(jwt::SignatureError::UnsupportedAlgorithm(_))
    ));

    let good = sign_raw(&json!({"alg":"RS256"}), &claims, &key);
    assert_eq!(check(&good), Ok(()));
    let (input, sig) = good.rsplit_once('.').unwrap();
    let mut tampered_sig = sig.to_owned();
    tampered_sig.replace_range(0..1, if sig.starts_with('A') { "B" } else { "A" });
    assert_eq!(
        check(&format!("{input}.{tampered_sig}")),
        Err(jwt::SignatureError::Invalid)
    );
    let other_claims = URL_SAFE_NO_PAD
        .encode(json!({"sub": "system:serviceaccount:kube-system:admin"}).to_string());
    let header = input.split('.').next().unwrap();
    assert_eq!(
        check(&format!("{header}.{other_claims}.{sig}")),
        Err(jwt::SignatureError::Invalid)
    );

    let es_key = PrivateKey::generate(KeyAlgorithm::EcP256);
    let es = sign_raw(&json!({"alg":"ES256"}), &claims, &es_key);
    assert!(matches!(
        check(&es),
        Err(jwt::SignatureError::KeyTypeMismatch { .. })
    ));
    let mut wrong_alg = jwk.clone();
    wrong_alg.alg = Some("RS512".into());
    assert!(matches!(
        jwt::verify_signature(&jwt::parse(&good).unwrap(), &wrong_alg),
        Err(jwt::SignatureError::AlgMismatch { .. })
    ));
    let mut enc = jwk.clone();
    enc.use_ = Some("enc".into());
    assert!(matches!(
        jwt::verify_signature(&jwt::parse(&good).unwrap(), &enc),
        Err(jwt::SignatureError::NotForSigning(_))
    ));
}

#[test]
fn extension_applies_only_to_api_audiences_at_3607() {
    let api = vec!["https://kubernetes.default.svc".to_owned()];
    assert_eq!(
        extended_expiration(3607, &api, &api, true, true),
        (365 * 24 * 3600, Some(3607))
    );
    assert_eq!(
        extended_expiration(3607, &["sts.amazonaws.com".to_owned()], &api, true, true),
        (3607, None)
    );
    assert_eq!(
        extended_expiration(3600, &api, &api, true, true),
        (3600, None)
    );
    assert_eq!(
        extended_expiration(3607, &api, &api, true, false),
        (3607, None)
    );
}
