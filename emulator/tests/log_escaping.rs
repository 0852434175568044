//! Log lines carry request and token text escaped, so that a newline in `sub`, `iss` or
//! `Action` cannot forge a line, and secret parameters stay redacted however their names
//! are percent-encoded. Logs are captured with the `fmt` subscriber `irsa-lab serve`
//! uses, one buffer per event: each event must be exactly one line.

mod support;

use std::io;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode};
use serde_json::json;
use support::*;
use tracing_subscriber::fmt::MakeWriter;

const FORGED: &str = "\n2026-12-01T00:00:00.000000Z  INFO irsa_emulator::sts: forged";

/// Every event the subscriber wrote, one `String` per event.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<String>>>);

struct EventWriter {
    events: Events,
    buffer: Vec<u8>,
}

impl io::Write for EventWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer).into_owned();
        self.events.0.lock().unwrap().push(text);
    }
}

impl<'a> MakeWriter<'a> for Events {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> EventWriter {
        EventWriter {
            events: self.clone(),
            buffer: Vec::new(),
        }
    }
}

impl Events {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Asserts that each event is one line and returns them joined.
    fn single_lines(&self) -> String {
        let events = self.all();
        assert!(!events.is_empty(), "nothing was logged");
        for event in &events {
            assert_eq!(
                event.matches('\n').count(),
                1,
                "an event spans several lines: {event:?}"
            );
        }
        events.concat()
    }
}

/// Runs `f` with a subscriber capturing every event of this (current-thread) test.
async fn captured<F: Future<Output = ()>>(f: impl FnOnce() -> F) -> Events {
    let events = Events::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(events.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    f().await;
    events
}

#[tokio::test]
async fn a_newline_in_sub_does_not_forge_a_log_line() {
    let lab = Lab::new();
    let role = lab.allow_any_subject();
    let token = lab.token_with(|c| c["sub"] = json!(format!("{SUB}{FORGED}")));
    let events = captured(|| async {
        let (status, body) = lab
            .assume_with(&[
                ("RoleArn", role),
                ("RoleSessionName", "s1"),
                ("WebIdentityToken", &token),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
    let logged = events.single_lines();
    assert!(
        logged.contains("AssumeRoleWithWebIdentity allowed"),
        "{logged}"
    );
}

#[tokio::test]
async fn a_newline_in_an_unregistered_iss_does_not_forge_a_log_line() {
    let lab = Lab::new();
    let claims = json!({"iss": format!("https://oidc.example.com{FORGED}"), "aud": "sts.amazonaws.com", "sub": SUB});
    let token = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let events = captured(|| async {
        let (status, _) = lab.assume(&token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
    let logged = events.single_lines();
    assert!(
        logged.contains("No OpenIDConnect provider found"),
        "{logged}"
    );
}

#[tokio::test]
async fn a_newline_in_the_action_does_not_forge_a_log_line() {
    let lab = Lab::new();
    let body = serde_urlencoded::to_string([
        ("Action", format!("GetCallerIdentity{FORGED}")),
        ("Version", "2011-06-15".to_owned()),
    ])
    .unwrap();
    let events = captured(|| async {
        let request = Request::post("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "127.0.0.1:4577")
            .body(body.into())
            .unwrap();
        let (status, _) = lab.send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
    let logged = events.single_lines();
    assert!(logged.contains("InvalidAction"), "{logged}");
}

#[tokio::test]
async fn a_percent_encoded_token_parameter_name_is_redacted() {
    let lab = Lab::new();
    let token = lab.token();
    let query = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName=s1&WebIdentity%54oken={token}",
        ROLE_ARN.replace(':', "%3A").replace('/', "%2F")
    );
    let events = captured(|| async {
        let request = Request::get(format!("/?{query}"))
            .header("host", "127.0.0.1:4577")
            .body(axum::body::Body::empty())
            .unwrap();
        let (status, body) = lab.send(request).await;
        // The parser reads the encoded name as WebIdentityToken: the call succeeds.
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
    let logged = events.all().concat();
    assert!(logged.contains("WebIdentity%54oken=<redacted>"), "{logged}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(
        !logged.contains(signature),
        "the token reached the log: {logged}"
    );
}
