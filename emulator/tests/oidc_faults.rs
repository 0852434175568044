//! An issuer that misbehaves: every failure becomes AWS's "Couldn't retrieve verification
//! key" answer (checked through STS), with a precise diagnosis, and nothing ever hangs.

use std::sync::Arc;
use std::time::Duration;

use irsa_emulator::clock::ManualClock;
use irsa_emulator::issuer::{KeyAlgorithm, PrivateKey, jwks};
use irsa_emulator::oidc::{FetchError, IssuerRoutes, JwksCache, KeyRetrievalError, OidcSettings};
use irsa_emulator::s3::S3Store;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ISSUER: &str = "https://oidc.example.com/cluster";

async fn cache_for(server: &MockServer) -> JwksCache {
    let mut routes = IssuerRoutes::default();
    routes
        .add_mapping("https://oidc.example.com", &server.uri(), None)
        .unwrap();
    let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
    JwksCache::new(
        OidcSettings::default(),
        routes,
        Arc::new(S3Store::new(clock.clone())),
        clock,
    )
}

fn discovery() -> serde_json::Value {
    serde_json::json!({"issuer": ISSUER, "jwks_uri": format!("{ISSUER}/openid/v1/jwks")})
}

async fn mount(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Looks a key up, never waiting more than 15 s whatever the server does.
async fn lookup(server: &MockServer) -> Result<(), KeyRetrievalError> {
    let cache = cache_for(server).await;
    match tokio::time::timeout(Duration::from_secs(15), cache.key_for(ISSUER, "k")).await {
        Ok(result) => result.map(|_| ()),
        Err(_) => panic!("the lookup hung"),
    }
}

const DISCOVERY: &str = "/cluster/.well-known/openid-configuration";
const JWKS: &str = "/cluster/openid/v1/jwks";

#[tokio::test]
async fn status_errors() {
    for status in [403, 404, 500] {
        let server = MockServer::start().await;
        mount(&server, DISCOVERY, ResponseTemplate::new(status)).await;
        let err = lookup(&server).await.unwrap_err();
        assert!(
            matches!(&err, KeyRetrievalError::DiscoveryFetch(FetchError::Status { status: s, .. }) if *s == status),
            "{status}: {err}"
        );
    }
    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(200).set_body_json(discovery()),
    )
    .await;
    mount(&server, JWKS, ResponseTemplate::new(403)).await;
    let err = lookup(&server).await.unwrap_err();
    assert!(
        matches!(
            err,
            KeyRetrievalError::JwksFetch(FetchError::Status { status: 403, .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_documents() {
    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(200).set_body_string("<html>not json</html>"),
    )
    .await;
    let err = lookup(&server).await.unwrap_err();
    assert!(
        matches!(&err, KeyRetrievalError::BadDiscovery { problem, .. } if problem.starts_with("not JSON")),
        "{err}"
    );

    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"issuer": ISSUER})),
    )
    .await;
    let err = lookup(&server).await.unwrap_err();
    assert!(
        matches!(&err, KeyRetrievalError::BadDiscovery { problem, .. } if problem.contains("jwks_uri")),
        "{err}"
    );

    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(200).set_body_json(discovery()),
    )
    .await;
    mount(
        &server,
        JWKS,
        ResponseTemplate::new(200).set_body_string(r#"{"keys": "nope"}"#),
    )
    .await;
    let err = lookup(&server).await.unwrap_err();
    assert!(matches!(err, KeyRetrievalError::BadJwks { .. }), "{err}");
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(200).set_body_json(discovery()),
    )
    .await;
    mount(
        &server,
        JWKS,
        ResponseTemplate::new(200)
            .set_body_string("x".repeat(OidcSettings::default().max_body_bytes + 1)),
    )
    .await;
    let err = lookup(&server).await.unwrap_err();
    assert!(
        matches!(
            err,
            KeyRetrievalError::JwksFetch(FetchError::TooLarge { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn redirect_loop_is_cut() {
    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(302).insert_header("location", DISCOVERY),
    )
    .await;
    let err = lookup(&server).await.unwrap_err();
    assert!(
        matches!(
            err,
            KeyRetrievalError::DiscoveryFetch(FetchError::TooManyRedirects { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn redirects_cannot_leave_the_machine() {
    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(301).insert_header("location", "https://sts.amazonaws.com/steal"),
    )
    .await;
    let err = lookup(&server).await.unwrap_err();
    assert!(
        matches!(
            err,
            KeyRetrievalError::DiscoveryFetch(FetchError::Unroutable { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn slow_issuer_times_out_at_five_seconds() {
    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(200)
            .set_body_json(discovery())
            .set_delay(Duration::from_secs(7)),
    )
    .await;
    let err = lookup(&server).await.unwrap_err();
    assert!(
        matches!(
            err,
            KeyRetrievalError::DiscoveryFetch(FetchError::Timeout { seconds: 5, .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_healthy_mapped_issuer_serves_keys() {
    let key = PrivateKey::generate(KeyAlgorithm::EcP256);
    let mut set = jwks(&[key.public_key()], false);
    set.keys[0].kid = Some("k".into());
    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(200).set_body_json(discovery()),
    )
    .await;
    mount(
        &server,
        JWKS,
        ResponseTemplate::new(200).set_body_json(&set),
    )
    .await;
    lookup(&server).await.unwrap();
}

#[tokio::test]
async fn sts_answers_a_slow_issuer_with_aws_message() {
    use irsa_emulator::issuer::{BoundTokenRequest, KidMode, ObjectRef, sign_bound_token};
    use irsa_emulator::query::QueryRequest;
    use irsa_emulator::server::{Emulator, EmulatorConfig};
    use irsa_emulator::sts::{AssumeRoleWithWebIdentityInput, KEY_RETRIEVAL_MESSAGE};

    let server = MockServer::start().await;
    mount(
        &server,
        DISCOVERY,
        ResponseTemplate::new(200)
            .set_body_json(discovery())
            .set_delay(Duration::from_secs(7)),
    )
    .await;
    let mut config = EmulatorConfig::default();
    config
        .routes
        .add_mapping("https://oidc.example.com", &server.uri(), None)
        .unwrap();
    let emulator = Emulator::new(config);
    emulator
        .iam()
        .create_provider(ISSUER, &["sts.amazonaws.com".into()], &[])
        .unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcP256);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = sign_bound_token(
        &BoundTokenRequest {
            issuer: ISSUER.into(),
            audiences: vec!["sts.amazonaws.com".into()],
            namespace: "default".into(),
            service_account: ObjectRef::new("app", "u"),
            pod: None,
            node: None,
            secret: None,
            issued_at: now,
            expiration_seconds: 3600,
            warn_after: None,
            jti: None,
        },
        &key,
        KidMode::Sha256,
    );
    let query = QueryRequest::new(
        "AssumeRoleWithWebIdentity",
        [
            ("RoleArn", "arn:aws:iam::111122223333:role/r"),
            ("RoleSessionName", "s1"),
            ("WebIdentityToken", token.as_str()),
        ],
    );
    let input = AssumeRoleWithWebIdentityInput::from_query(&query).unwrap();
    let answer = tokio::time::timeout(
        Duration::from_secs(15),
        emulator.sts().assume_role_with_web_identity(&input),
    )
    .await
    .expect("no hang");
    let err = answer.unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        ("InvalidIdentityToken", KEY_RETRIEVAL_MESSAGE)
    );
    assert!(
        err.detail()
            .unwrap_or("")
            .contains("no complete answer within 5 s"),
        "{:?}",
        err.detail()
    );
}
