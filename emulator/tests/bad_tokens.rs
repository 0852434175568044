//! A corpus of malformed and forged web-identity tokens, each answered with AWS's exact
//! code and message through the emulator's HTTP endpoint. No forgery is ever accepted.
//!
//! Every corpus case is its own named test (`harness = false`, libtest-mimic), so one
//! failure names its case and one case runs alone:
//! `cargo test -p irsa-emulator --test bad_tokens -- --exact alg-none-empty-signature`.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use irsa_emulator::issuer::{
    Jwk, JwkSet, KeyAlgorithm, KidMode, PrivateKey, header_for, jwks, sign_hs256, sign_raw,
};
use irsa_emulator::s3::Acl;
use irsa_emulator::sts::{KEY_RETRIEVAL_MESSAGE, NOT_A_JWT_MESSAGE, UNVERIFIABLE_MESSAGE};
use libtest_mimic::{Arguments, Trial};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use support::*;

enum Expect {
    Ok,
    Err(u16, &'static str, String),
}

fn invalid(message: &str) -> Expect {
    Expect::Err(400, "InvalidIdentityToken", message.to_owned())
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn header(lab: &Lab) -> Value {
    header_for(&lab.key, KidMode::Sha256)
}

fn with_claim(lab: &Lab, name: &str, value: Value) -> String {
    let mut claims = lab.claims();
    claims[name] = value;
    sign_raw(&header(lab), &claims, &lab.key)
}

fn without_claim(lab: &Lab, name: &str) -> String {
    let mut claims = lab.claims();
    claims.as_object_mut().unwrap().remove(name);
    sign_raw(&header(lab), &claims, &lab.key)
}

fn replace_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[index] = part.to_owned();
    parts.join(".")
}

async fn check(lab: &Lab, name: &str, token: &str, expect: Expect) {
    let (status, body) = lab.assume(token).await;
    match expect {
        Expect::Ok => assert_eq!(
            status,
            StatusCode::OK,
            "{name}: expected success, got {body}"
        ),
        Expect::Err(code_status, code, message) => {
            assert_eq!(status.as_u16(), code_status, "{name}: {body}");
            let (got_code, got_message) = error_of(&body);
            assert_eq!(
                (got_code.as_str(), got_message.as_str()),
                (code, message.as_str()),
                "{name}"
            );
        }
    }
}

/// A test name from a case's description: lower case, words joined by `-`.
fn slug(description: &str) -> String {
    let mut out = String::new();
    for c in description.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Cases that need nothing but a token against the standard lab: (description, token,
/// expected answer).
fn corpus(lab: &Lab) -> Vec<(&'static str, String, Expect)> {
    let attacker = PrivateKey::generate(KeyAlgorithm::Rsa2048);
    let good = lab.token();
    let (signing_input, signature) = good.rsplit_once('.').unwrap();
    let real_kid = lab.key.public_key().kid();
    let now_plus = |s: i64| json!(NOW + s);

    let mut tampered_sig = signature.to_owned();
    tampered_sig.replace_range(10..11, if &signature[10..11] == "A" { "B" } else { "A" });
    let mut other_claims = lab.claims();
    other_claims["sub"] = json!("system:serviceaccount:kube-system:admin");

    let es = PrivateKey::generate(KeyAlgorithm::EcP256);
    let expired_at = NOW - 360;
    let cases: Vec<(&str, String, Expect)> = vec![
        ("control: a valid token", good.clone(), Expect::Ok),
        ("alg none, empty signature", format!("{}.{}.", b64(&json!({"alg":"none"})), b64(&lab.claims())), invalid(NOT_A_JWT_MESSAGE)),
        ("alg none with the kid and a signature", format!("{}.{}.c2ln", b64(&json!({"alg":"none","kid":real_kid})), b64(&lab.claims())), invalid(UNVERIFIABLE_MESSAGE)),
        ("HS256 signed with the RSA public key PEM", sign_hs256(&json!({"alg":"HS256","kid":real_kid}), &lab.claims(), lab.key.public_key().to_pem().as_bytes()), invalid(UNVERIFIABLE_MESSAGE)),
        ("HS256 signed with the RSA public key DER", sign_hs256(&json!({"alg":"HS256","kid":real_kid}), &lab.claims(), lab.key.public_key().spki_der()), invalid(UNVERIFIABLE_MESSAGE)),
        ("stripped signature", format!("{signing_input}."), invalid(NOT_A_JWT_MESSAGE)),
        ("tampered payload", replace_part(&good, 1, &b64(&other_claims)), invalid(UNVERIFIABLE_MESSAGE)),
        ("tampered signature", format!("{signing_input}.{tampered_sig}"), invalid(UNVERIFIABLE_MESSAGE)),
        ("signed by another key under the real kid", sign_raw(&header(lab), &lab.claims(), &attacker), invalid(UNVERIFIABLE_MESSAGE)),
        ("unknown kid", sign_raw(&json!({"alg":"RS256","kid":"not-published"}), &lab.claims(), &lab.key), invalid(KEY_RETRIEVAL_MESSAGE)),
        ("no kid and no \"\" key in the JWKS", sign_raw(&json!({"alg":"RS256"}), &lab.claims(), &lab.key), invalid(KEY_RETRIEVAL_MESSAGE)),
        ("empty kid and no \"\" key in the JWKS", sign_raw(&json!({"alg":"RS256","kid":""}), &lab.claims(), &lab.key), invalid(KEY_RETRIEVAL_MESSAGE)),
        ("expired 6 minutes ago", with_claim(lab, "exp", json!(expired_at)), Expect::Err(400, "ExpiredTokenException", format!("Token expired: current date/time {NOW} must be before the expiration date/time {expired_at}"))),
        ("expired 4 minutes ago (within tolerance)", with_claim(lab, "exp", now_plus(-240)), Expect::Ok),
        ("non-integer exp", with_claim(lab, "exp", json!(1_700_086_400.5)), invalid(NOT_A_JWT_MESSAGE)),
        ("string exp", with_claim(lab, "exp", json!("1700086400")), invalid(NOT_A_JWT_MESSAGE)),
        ("missing exp", without_claim(lab, "exp"), invalid("Missing a required claim: exp")),
        ("missing aud", without_claim(lab, "aud"), invalid("Missing a required claim: aud")),
        ("missing sub", without_claim(lab, "sub"), invalid("Missing a required claim: sub")),
        ("aud array without a match", with_claim(lab, "aud", json!(["https://kubernetes.default.svc", "vault"])), invalid("Incorrect token audience")),
        ("aud array with a match", with_claim(lab, "aud", json!(["https://kubernetes.default.svc", "sts.amazonaws.com"])), Expect::Ok),
        ("aud as a plain string", with_claim(lab, "aud", json!("sts.amazonaws.com")), Expect::Ok),
        ("azp not among the client ids", with_claim(lab, "azp", json!("someone-else")), invalid("Incorrect token audience")),
        ("issuer with an extra trailing slash", with_claim(lab, "iss", json!(format!("{ISSUER}/"))), invalid(&format!("No OpenIDConnect provider found in your account for {ISSUER}/"))),
        ("issuer over http", with_claim(lab, "iss", json!(ISSUER.replace("https", "http"))), invalid(&format!("No OpenIDConnect provider found in your account for {}", ISSUER.replace("https", "http")))),
        ("legacy secret-based token issuer", with_claim(lab, "iss", json!("kubernetes/serviceaccount")), invalid("No OpenIDConnect provider found in your account for kubernetes/serviceaccount")),
        ("jku pointing at the attacker's keys", sign_raw(&json!({"alg":"RS256","kid":attacker.public_key().kid(),"jku":"https://attacker.example/keys.json"}), &lab.claims(), &attacker), invalid(KEY_RETRIEVAL_MESSAGE)),
        ("x5u pointing at the attacker's certificate", sign_raw(&json!({"alg":"RS256","kid":attacker.public_key().kid(),"x5u":"https://attacker.example/cert.pem"}), &lab.claims(), &attacker), invalid(KEY_RETRIEVAL_MESSAGE)),
        ("embedded jwk of the attacker under the real kid", sign_raw(&json!({"alg":"RS256","kid":real_kid,"jwk":attacker.public_key().to_jwk()}), &lab.claims(), &attacker), invalid(UNVERIFIABLE_MESSAGE)),
        ("x5c of the attacker under the real kid", sign_raw(&json!({"alg":"RS256","kid":real_kid,"x5c":["MIIB"]}), &lab.claims(), &attacker), invalid(UNVERIFIABLE_MESSAGE)),
        ("two parts", signing_input.to_owned(), invalid(NOT_A_JWT_MESSAGE)),
        ("four parts", format!("{good}.extra"), invalid(NOT_A_JWT_MESSAGE)),
        ("bad base64 in the claims", replace_part(&good, 1, "eyJ!!!"), invalid(NOT_A_JWT_MESSAGE)),
        ("padded base64", replace_part(&good, 0, &format!("{}=", &good.split('.').next().unwrap())), invalid(NOT_A_JWT_MESSAGE)),
        ("header is not JSON", replace_part(&good, 0, &URL_SAFE_NO_PAD.encode("{alg:RS256")), invalid(NOT_A_JWT_MESSAGE)),
        ("claims are a JSON array", replace_part(&good, 1, &URL_SAFE_NO_PAD.encode("[]")), invalid(NOT_A_JWT_MESSAGE)),
        ("ES256 token against the RSA key's kid", sign_raw(&json!({"alg":"ES256","kid":real_kid}), &lab.claims(), &es), invalid(UNVERIFIABLE_MESSAGE)),
        ("PS256 under the real kid", format!("{}.{}.{}", b64(&json!({"alg":"PS256","kid":real_kid})), b64(&lab.claims()), signature), invalid(UNVERIFIABLE_MESSAGE)),
        ("RS512 signed by the real key (a valid algorithm the JWK does not name)", sign_raw(&json!({"alg":"RS512","kid":real_kid}), &lab.claims(), &lab.key), invalid(UNVERIFIABLE_MESSAGE)),
        ("not valid before an hour from now", with_claim(lab, "nbf", now_plus(3600)), invalid(UNVERIFIABLE_MESSAGE)),
        ("roles claim pinning another role", with_claim(lab, "https://aws.amazon.com/roles", json!(["arn:aws:iam::111122223333:role/admin"])), Expect::Err(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity".into())),
        ("roles claim pinning this role", with_claim(lab, "https://aws.amazon.com/roles", json!(ROLE_ARN)), Expect::Ok),
        ("another service account (trust policy sub)", with_claim(lab, "sub", json!("system:serviceaccount:default:other")), Expect::Err(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity".into())),
        ("session tags without sts:TagSession", with_claim(lab, "https://aws.amazon.com/tags", json!({"principal_tags": {"team": ["a"]}})), Expect::Err(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity".into())),
        ("under 4 characters", "a.b".into(), Expect::Err(400, "ValidationError", "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4".into())),
        ("over 20000 characters", with_claim(lab, "pad", json!("x".repeat(20_000))), Expect::Err(400, "ValidationError", "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000".into())),
    ];
    cases
}

/// A test that sets up its own lab and checks a sequence of answers.
type Scenario = fn() -> Pin<Box<dyn Future<Output = ()> + Send>>;

fn main() {
    let args = Arguments::from_args();
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime"),
    );
    // One lab for the whole corpus, as a real STS serves every caller from one cache.
    let lab = Arc::new(Lab::new());
    let cases = corpus(&lab);
    assert!(cases.len() >= 30, "the corpus lost cases");
    let mut trials = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (description, token, expect) in cases {
        let name = slug(description);
        assert!(names.insert(name.clone()), "two cases are named {name}");
        let (lab, runtime) = (lab.clone(), runtime.clone());
        trials.push(Trial::test(name, move || {
            runtime.block_on(check(&lab, description, &token, expect));
            Ok(())
        }));
    }
    let scenarios: [(&str, Scenario); 4] = [
        ("pre_116_tokens_need_an_empty_kid_key", || {
            Box::pin(pre_116_tokens_need_an_empty_kid_key())
        }),
        ("jwks_problems_are_retrieval_errors", || {
            Box::pin(jwks_problems_are_retrieval_errors())
        }),
        ("role_and_parameter_errors", || {
            Box::pin(role_and_parameter_errors())
        }),
        ("random_mutations_are_never_accepted", || {
            Box::pin(random_mutations_are_never_accepted())
        }),
    ];
    for (name, scenario) in scenarios {
        let runtime = runtime.clone();
        trials.push(Trial::test(name, move || {
            runtime.block_on(scenario());
            Ok(())
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}

async fn pre_116_tokens_need_an_empty_kid_key() {
    let lab = Lab::new();
    let no_kid = sign_raw(
        &header_for(&lab.key, KidMode::Omitted),
        &lab.claims(),
        &lab.key,
    );
    check(
        &lab,
        "no kid, JWKS without \"\"",
        &no_kid,
        invalid(KEY_RETRIEVAL_MESSAGE),
    )
    .await;

    // A JWK without any kid field is unusable, even for a token without kid.
    let mut kidless: Jwk = lab.key.public_key().to_jwk();
    kidless.kid = None;
    lab.publish_jwks(
        &JwkSet {
            keys: vec![kidless],
        },
        Acl::PublicRead,
    );
    check(
        &lab,
        "no kid, JWK without a kid field",
        &no_kid,
        invalid(KEY_RETRIEVAL_MESSAGE),
    )
    .await;

    // The guide's bridge: the same key twice, once with kid "".
    lab.publish_jwks(&jwks(&[lab.key.public_key()], true), Acl::PublicRead);
    check(&lab, "no kid, JWKS with \"\"", &no_kid, Expect::Ok).await;
    check(&lab, "1.16 token still verifies", &lab.token(), Expect::Ok).await;
    let attacker = PrivateKey::generate(KeyAlgorithm::Rsa2048);
    let forged = sign_raw(&json!({"alg":"RS256"}), &lab.claims(), &attacker);
    check(
        &lab,
        "no kid, signed by another key",
        &forged,
        invalid(UNVERIFIABLE_MESSAGE),
    )
    .await;
}

async fn jwks_problems_are_retrieval_errors() {
    let lab = Lab::new();
    lab.publish_jwks(&jwks(&[lab.key.public_key()], false), Acl::Private);
    check(
        &lab,
        "JWKS uploaded without --acl public-read",
        &lab.token(),
        invalid(KEY_RETRIEVAL_MESSAGE),
    )
    .await;

    let mut wrong_alg = lab.key.public_key().to_jwk();
    wrong_alg.alg = Some("ES256".into());
    lab.publish_jwks(
        &JwkSet {
            keys: vec![wrong_alg],
        },
        Acl::PublicRead,
    );
    check(
        &lab,
        "RS256 token, JWK says ES256",
        &lab.token(),
        invalid(UNVERIFIABLE_MESSAGE),
    )
    .await;

    lab.emulator
        .s3()
        .delete_object(BUCKET, ".well-known/openid-configuration")
        .unwrap();
    lab.emulator.jwks_cache().clear();
    check(
        &lab,
        "no discovery document",
        &lab.token(),
        invalid(KEY_RETRIEVAL_MESSAGE),
    )
    .await;
}

async fn role_and_parameter_errors() {
    let lab = Lab::new();
    let token = lab.token();
    let (status, body) = lab
        .assume_with(&[
            (
                "RoleArn",
                "arn:aws:iam::111122223333:oidc-provider/s3.us-east-1.amazonaws.com/oidc-test",
            ),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", &token),
        ])
        .await;
    assert_eq!(
        (status.as_u16(), error_of(&body)),
        (
            400,
            ("ValidationError".into(), "Request ARN is invalid".into())
        )
    );
    let (status, body) = lab
        .assume_with(&[
            ("RoleArn", "arn:aws:iam::111122223333:role/missing"),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", &token),
        ])
        .await;
    assert_eq!(
        (status.as_u16(), error_of(&body).0.as_str()),
        (403, "AccessDenied")
    );
    let (status, body) = lab
        .assume_with(&[
            ("RoleArn", ROLE_ARN),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", &token),
            ("DurationSeconds", "7200"),
        ])
        .await;
    assert_eq!(
        (status.as_u16(), error_of(&body)),
        (
            400,
            (
                "ValidationError".into(),
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                    .into()
            )
        )
    );
}

async fn random_mutations_are_never_accepted() {
    let lab = Lab::new();
    let good = lab.token();
    let alphabet: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
        .chars()
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x1AB5);
    let mut tried = 0;
    for _ in 0..150 {
        let mut chars: Vec<char> = good.chars().collect();
        let at = rng.gen_range(0..chars.len());
        let replacement = alphabet[rng.gen_range(0..alphabet.len())];
        if chars[at] == replacement {
            continue;
        }
        chars[at] = replacement;
        let mutated: String = chars.into_iter().collect();
        let (status, body) = lab.assume(&mutated).await;
        assert_ne!(
            status,
            StatusCode::OK,
            "mutation at {at} was accepted: {body}"
        );
        tried += 1;
    }
    assert!(tried > 100);
}
