//! Issuer faults over a real loopback network path: discovery and JWKS served by wiremock
//! (plain HTTP behind a mapping) and by a local rustls server with its own CA.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use irsa_emulator::clock::ManualClock;
use irsa_emulator::oidc::{
    AnonymousGetError, AnonymousObjects, FetchError, IssuerRoutes, JwksCache, KeyRetrievalError,
    OidcSettings, ServedBy,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ISS: &str = "https://oidc.example.com/o7k";
const DISCOVERY_PATH: &str = "/o7k/.well-known/openid-configuration";
const JWKS_PATH: &str = "/o7k/openid/v1/jwks";

/// No buckets: these tests never route to S3.
#[derive(Debug)]
struct NoS3;

impl AnonymousObjects for NoS3 {
    fn get_anonymous(&self, _: &str, _: &str) -> Result<Bytes, AnonymousGetError> {
        Err(AnonymousGetError::NoSuchBucket)
    }
}

fn discovery() -> serde_json::Value {
    json!({
        "issuer": ISS,
        "jwks_uri": format!("{ISS}/openid/v1/jwks"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

fn jwks() -> serde_json::Value {
    json!({"keys": [{"use": "sig", "kty": "RSA", "kid": "k1", "alg": "RS256", "n": "AQAB", "e": "AQAB"}]})
}

/// The fetch timeout of the timeout tests: short, so they wait a fraction of a second
/// instead of AWS's 5 s (whose default is checked on its own).
const SHORT_FETCH_TIMEOUT: Duration = Duration::from_millis(300);
/// How late the slow issuer answers: well past [`SHORT_FETCH_TIMEOUT`]; never waited for.
const SLOW_ISSUER_DELAY: Duration = Duration::from_secs(30);

/// A cache whose issuer host is mapped onto `target` (the server's base URL).
fn cache_for(target: &str, ca_pem: Option<&str>) -> JwksCache {
    cache_with(target, ca_pem, OidcSettings::default())
}

fn cache_with(target: &str, ca_pem: Option<&str>, settings: OidcSettings) -> JwksCache {
    let mut routes = IssuerRoutes::new();
    routes
        .add_mapping("https://oidc.example.com", target, ca_pem)
        .unwrap();
    JwksCache::new(
        settings,
        routes,
        Arc::new(NoS3),
        Arc::new(ManualClock::at_unix(1_700_000_000)),
    )
}

async fn serve(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn healthy_issuer() -> MockServer {
    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(200).set_body_json(discovery()),
    )
    .await;
    serve(
        &server,
        JWKS_PATH,
        ResponseTemplate::new(200).set_body_json(jwks()),
    )
    .await;
    server
}

async fn lookup_error(server: &MockServer) -> KeyRetrievalError {
    cache_for(&server.uri(), None)
        .key_for(ISS, "k1")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn happy_path_through_a_mapping() {
    let server = healthy_issuer().await;
    let found = cache_for(&server.uri(), None)
        .key_for(ISS, "k1")
        .await
        .unwrap();
    assert_eq!(found.jwk.kid.as_deref(), Some("k1"));
    assert_eq!(found.served_by, ServedBy::PlainHttp);
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
}

#[tokio::test]
async fn discovery_http_errors_carry_the_status() {
    for status in [403, 404, 500] {
        let server = MockServer::start().await;
        serve(&server, DISCOVERY_PATH, ResponseTemplate::new(status)).await;
        let err = lookup_error(&server).await;
        match &err {
            KeyRetrievalError::Discovery {
                source: FetchError::Status { status: got, .. },
                ..
            } => assert_eq!(*got, status),
            other => panic!("expected a status error, got {other:?}"),
        }
        assert!(err.to_string().contains(&format!("HTTP {status}")), "{err}");
    }
}

#[tokio::test]
async fn discovery_that_is_not_json_is_rejected() {
    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(200).set_body_string("<html>"),
    )
    .await;
    let err = lookup_error(&server).await;
    assert!(
        matches!(err, KeyRetrievalError::DiscoveryNotJson { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn discovery_without_required_fields_is_rejected() {
    for field in ["issuer", "jwks_uri"] {
        let server = MockServer::start().await;
        let mut document = discovery();
        document.as_object_mut().unwrap().remove(field);
        serve(
            &server,
            DISCOVERY_PATH,
            ResponseTemplate::new(200).set_body_json(document),
        )
        .await;
        serve(
            &server,
            JWKS_PATH,
            ResponseTemplate::new(200).set_body_json(jwks()),
        )
        .await;
        match lookup_error(&server).await {
            KeyRetrievalError::DiscoveryMissingField { field: missing, .. } => {
                assert_eq!(missing, field)
            }
            other => panic!("expected a missing {field}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn invalid_jwks_is_rejected() {
    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(200).set_body_json(discovery()),
    )
    .await;
    serve(
        &server,
        JWKS_PATH,
        ResponseTemplate::new(200).set_body_json(json!({"keys": [{"kid": "k1"}]})),
    )
    .await;
    let err = lookup_error(&server).await;
    assert!(
        matches!(err, KeyRetrievalError::InvalidJwks { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("kty"), "{err}");
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(200).set_body_json(discovery()),
    )
    .await;
    let huge = format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(200 * 1024));
    serve(
        &server,
        JWKS_PATH,
        ResponseTemplate::new(200).set_body_string(huge),
    )
    .await;
    let err = lookup_error(&server).await;
    assert!(
        matches!(
            err,
            KeyRetrievalError::Jwks {
                source: FetchError::TooLarge { limit: 65536, .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn redirect_loop_is_detected() {
    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(302).insert_header("Location", "/o7k/a"),
    )
    .await;
    serve(
        &server,
        "/o7k/a",
        ResponseTemplate::new(301).insert_header("Location", DISCOVERY_PATH),
    )
    .await;
    let err = lookup_error(&server).await;
    assert!(
        matches!(
            err,
            KeyRetrievalError::Discovery {
                source: FetchError::RedirectLoop { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn redirect_chains_stop_after_the_limit() {
    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(302).insert_header("Location", "/o7k/hop/0"),
    )
    .await;
    // Every hop is a new URL (no loop), so only the hop limit ends the chain.
    for hop in 0..10 {
        serve(
            &server,
            &format!("/o7k/hop/{hop}"),
            ResponseTemplate::new(302).insert_header("Location", format!("/o7k/hop/{}", hop + 1)),
        )
        .await;
    }
    let err = lookup_error(&server).await;
    assert!(
        matches!(
            err,
            KeyRetrievalError::Discovery {
                source: FetchError::TooManyRedirects { max: 5, .. },
                ..
            }
        ),
        "{err:?}"
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 6, "the first request and 5 redirects");
}

#[tokio::test]
async fn redirects_are_followed_and_routed_again() {
    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(307).insert_header("Location", "/o7k/moved"),
    )
    .await;
    serve(
        &server,
        "/o7k/moved",
        ResponseTemplate::new(200).set_body_json(discovery()),
    )
    .await;
    serve(
        &server,
        JWKS_PATH,
        ResponseTemplate::new(302).insert_header("Location", "https://elsewhere.example/jwks"),
    )
    .await;
    let err = lookup_error(&server).await;
    // Discovery came through one redirect; the JWKS redirect to an unmapped host is
    // refused without any request leaving the machine.
    match err {
        KeyRetrievalError::Jwks {
            source: FetchError::Unroutable { host },
            ..
        } => assert_eq!(host, "elsewhere.example"),
        other => panic!("expected an unroutable redirect, got {other:?}"),
    }
}

#[tokio::test]
async fn slow_issuer_times_out() {
    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(200)
            .set_body_json(discovery())
            .set_delay(SLOW_ISSUER_DELAY),
    )
    .await;
    let settings = OidcSettings {
        fetch_timeout: SHORT_FETCH_TIMEOUT,
        ..OidcSettings::default()
    };
    let cache = cache_with(&server.uri(), None, settings);
    let outcome = tokio::time::timeout(Duration::from_secs(15), cache.key_for(ISS, "k1")).await;
    match outcome {
        Ok(Err(KeyRetrievalError::Discovery {
            source: FetchError::Timeout { after, .. },
            ..
        })) => assert_eq!(after, SHORT_FETCH_TIMEOUT),
        other => panic!("expected the {SHORT_FETCH_TIMEOUT:?} fetch timeout, got {other:?}"),
    }
}

#[test]
fn fetch_timeout_defaults_to_aws_five_seconds() {
    assert_eq!(
        OidcSettings::default().fetch_timeout,
        Duration::from_secs(5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_fetch_once() {
    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(200).set_body_json(discovery()),
    )
    .await;
    serve(
        &server,
        JWKS_PATH,
        ResponseTemplate::new(200)
            .set_body_json(jwks())
            .set_delay(Duration::from_millis(300)),
    )
    .await;
    let cache = cache_for(&server.uri(), None);
    let lookups = (0..8).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move { cache.key_for(ISS, "k1").await })
    });
    for lookup in futures::future::join_all(lookups).await {
        assert!(lookup.unwrap().is_ok());
    }
    let requests = server.received_requests().await.unwrap();
    let jwks_fetches = requests
        .iter()
        .filter(|r| r.url.path() == JWKS_PATH)
        .count();
    assert_eq!(jwks_fetches, 1);
}

mod https {
    //! A local rustls server whose certificate chains to an rcgen CA.

    use std::sync::Arc;

    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use sha1::{Digest, Sha1};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;

    use super::*;

    struct Ca {
        pem: String,
        der: Vec<u8>,
        cert: rcgen::Certificate,
        key: rcgen::KeyPair,
    }

    fn ca() -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            der: cert.der().to_vec(),
            cert,
            key,
        }
    }

    /// Serves discovery and JWKS over TLS on 127.0.0.1; returns the base URL.
    async fn start(ca: &Ca) -> String {
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca.cert, &ca.key)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let body = if head.starts_with(&format!("GET {DISCOVERY_PATH} ")) {
                        discovery().to_string()
                    } else {
                        jwks().to_string()
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        format!("https://127.0.0.1:{}", addr.port())
    }

    #[tokio::test]
    async fn mapped_https_with_its_ca_reports_the_thumbprint() {
        let ca = ca();
        let base = start(&ca).await;
        let found = cache_for(&base, Some(&ca.pem))
            .key_for(ISS, "k1")
            .await
            .unwrap();
        assert_eq!(found.jwk.kid.as_deref(), Some("k1"));
        let expected = hex::encode(Sha1::digest(&ca.der));
        assert_eq!(expected.len(), 40);
        assert_eq!(
            found.served_by,
            ServedBy::CustomCa {
                sha1_thumbprint: expected
            }
        );
    }

    #[tokio::test]
    async fn sts_checks_provider_thumbprints_for_a_custom_ca() {
        use irsa_emulator::issuer::{KeyAlgorithm, PrivateKey, sign_raw};
        use irsa_emulator::query::QueryRequest;
        use irsa_emulator::server::{Emulator, EmulatorConfig};
        use irsa_emulator::sts::{AssumeRoleWithWebIdentityInput, UNVERIFIABLE_MESSAGE};

        let ca = ca();
        let base = start(&ca).await;
        let mut config = EmulatorConfig::default();
        config
            .routes
            .add_mapping("https://oidc.example.com", &base, Some(&ca.pem))
            .unwrap();
        let emulator = Emulator::new(config);
        let provider = emulator
            .iam()
            .create_provider(ISS, &["sts.amazonaws.com".into()], &["0".repeat(40)])
            .unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({"iss": ISS, "sub": "system:serviceaccount:default:app", "aud": ["sts.amazonaws.com"], "exp": now + 3600, "iat": now});
        let token = sign_raw(
            &json!({"alg": "RS256", "kid": "k1"}),
            &claims,
            &PrivateKey::generate(KeyAlgorithm::Rsa2048),
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

        let err = emulator
            .sts()
            .assume_role_with_web_identity(&input)
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            (
                "InvalidIdentityToken",
                "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
            )
        );
        // With the CA's real thumbprint the check passes and validation moves on to the
        // signature (this test's JWKS holds a dummy key).
        emulator
            .iam()
            .update_thumbprints(&provider.arn, &[hex::encode(Sha1::digest(&ca.der))])
            .unwrap();
        let err = emulator
            .sts()
            .assume_role_with_web_identity(&input)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), UNVERIFIABLE_MESSAGE);
    }

    #[tokio::test]
    async fn untrusted_certificate_is_a_tls_error() {
        let served = ca();
        let other = ca();
        let base = start(&served).await;
        for pem in [Some(other.pem.as_str()), None] {
            let err = cache_for(&base, pem).key_for(ISS, "k1").await.unwrap_err();
            assert!(
                matches!(
                    err,
                    KeyRetrievalError::Discovery {
                        source: FetchError::Tls { .. },
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains("certificate"), "{err}");
        }
    }
}

/// A server that streams the JWKS with chunked encoding (no Content-Length), so only the
/// running byte count can stop it.
#[tokio::test]
async fn chunked_body_is_cut_off_at_the_cap() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if String::from_utf8_lossy(&head).starts_with(&format!("GET {DISCOVERY_PATH} ")) {
                    let body = discovery().to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tcp.write_all(response.as_bytes()).await;
                    return;
                }
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                // Up to 1 MiB in 16 KiB chunks; the client must hang up long before.
                let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
                for _ in 0..64 {
                    if tcp.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
                let _ = tcp.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    let err = cache_for(&base, None).key_for(ISS, "k1").await.unwrap_err();
    assert!(
        matches!(
            err,
            KeyRetrievalError::Jwks {
                source: FetchError::TooLarge { limit: 65536, .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn sts_answers_a_slow_issuer_with_aws_message() {
    use irsa_emulator::issuer::{
        BoundTokenRequest, KeyAlgorithm, KidMode, ObjectRef, PrivateKey, sign_bound_token,
    };
    use irsa_emulator::query::QueryRequest;
    use irsa_emulator::server::{Emulator, EmulatorConfig};
    use irsa_emulator::sts::{AssumeRoleWithWebIdentityInput, KEY_RETRIEVAL_MESSAGE};

    let server = MockServer::start().await;
    serve(
        &server,
        DISCOVERY_PATH,
        ResponseTemplate::new(200)
            .set_body_json(discovery())
            .set_delay(SLOW_ISSUER_DELAY),
    )
    .await;
    let mut config = EmulatorConfig::default();
    config.oidc.fetch_timeout = SHORT_FETCH_TIMEOUT;
    config
        .routes
        .add_mapping("https://oidc.example.com", &server.uri(), None)
        .unwrap();
    let emulator = Emulator::new(config);
    emulator
        .iam()
        .create_provider(ISS, &["sts.amazonaws.com".into()], &[])
        .unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcP256);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = sign_bound_token(
        &BoundTokenRequest {
            issuer: ISS.into(),
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
            .contains("did not complete within 300ms (AWS gives up after 5 s)"),
        "{:?}",
        err.detail()
    );
}
