//! A published issuer, an IAM provider and role, and helpers to call the emulator's router
//! in-process, shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use irsa_emulator::clock::ManualClock;
use irsa_emulator::issuer::{
    BoundTokenRequest, DiscoveryDocument, JwkSet, KeyAlgorithm, KidMode, ObjectRef, PrivateKey,
    jwks, sign_bound_token,
};
use irsa_emulator::s3::{Acl, BucketDefaults};
use irsa_emulator::server::{Emulator, EmulatorConfig};
use tower::ServiceExt;

pub const NOW: i64 = 1_700_000_000;
pub const BUCKET: &str = "oidc-test";
pub const ISSUER: &str = "https://s3.us-east-1.amazonaws.com/oidc-test";
pub const PROVIDER_KEY: &str = "s3.us-east-1.amazonaws.com/oidc-test";
pub const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/s3-reader";
pub const SUB: &str = "system:serviceaccount:default:app";

pub struct Lab {
    pub emulator: Emulator,
    pub clock: Arc<ManualClock>,
    pub key: PrivateKey,
    pub router: Router,
}

impl Lab {
    /// The seed guide's setup: bucket with public discovery + JWKS, provider, role.
    pub fn new() -> Self {
        Self::with_key(PrivateKey::generate(KeyAlgorithm::Rsa2048))
    }

    pub fn with_key(key: PrivateKey) -> Self {
        let clock = Arc::new(ManualClock::at_unix(NOW));
        // The seed guide publishes with `--acl public-read`: buckets as S3 made them then.
        let config = EmulatorConfig {
            clock: clock.clone(),
            s3_bucket_defaults: BucketDefaults::Legacy,
            ..EmulatorConfig::default()
        };
        let emulator = Emulator::new(config);
        emulator.s3().create_bucket(BUCKET, None).unwrap();
        let lab = Self {
            router: emulator.router(),
            emulator,
            clock,
            key,
        };
        lab.publish_discovery(ISSUER);
        lab.publish_jwks(&jwks(&[lab.key.public_key()], false), Acl::PublicRead);
        lab.emulator
            .iam()
            .create_provider(ISSUER, &["sts.amazonaws.com".into()], &[])
            .unwrap();
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{PROVIDER_KEY}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {format!("{PROVIDER_KEY}:sub"): SUB, format!("{PROVIDER_KEY}:aud"): "sts.amazonaws.com"}}
            }]
        });
        lab.emulator
            .iam()
            .create_role("s3-reader", None, &trust.to_string(), None)
            .unwrap();
        lab
    }

    /// Adds a role `any-subject` trusting every `sub` of the provider (audience still
    /// checked), for tests whose tokens carry unusual subjects; returns its ARN.
    pub fn allow_any_subject(&self) -> &'static str {
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{PROVIDER_KEY}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {format!("{PROVIDER_KEY}:aud"): "sts.amazonaws.com"}}
            }]
        });
        self.emulator
            .iam()
            .create_role("any-subject", None, &trust.to_string(), None)
            .unwrap();
        "arn:aws:iam::111122223333:role/any-subject"
    }

    /// A token signed with the lab's key (kube-apiserver's header) after `edit` changed
    /// the claims.
    pub fn token_with(&self, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut claims = self.claims();
        edit(&mut claims);
        irsa_emulator::issuer::sign_raw(
            &irsa_emulator::issuer::header_for(&self.key, KidMode::Sha256),
            &claims,
            &self.key,
        )
    }

    pub fn publish_discovery(&self, issuer: &str) {
        let doc = DiscoveryDocument::new(issuer, Some(&format!("{ISSUER}/keys.json")), &["RS256"]);
        let body = Bytes::from(serde_json::to_vec(&doc).unwrap());
        self.emulator
            .s3()
            .put_object(
                BUCKET,
                ".well-known/openid-configuration",
                body,
                None,
                Acl::PublicRead,
            )
            .unwrap();
    }

    pub fn publish_jwks(&self, set: &JwkSet, acl: Acl) {
        let body = Bytes::from(serde_json::to_vec(set).unwrap());
        self.emulator
            .s3()
            .put_object(BUCKET, "keys.json", body, None, acl)
            .unwrap();
        self.emulator.jwks_cache().clear();
    }

    /// Claims a kube-apiserver would put in a projected IRSA token now.
    pub fn claims(&self) -> serde_json::Value {
        bound_request().claims()
    }

    /// A valid token for the `app` service account.
    pub fn token(&self) -> String {
        sign_bound_token(&bound_request(), &self.key, KidMode::Sha256)
    }

    /// POSTs AssumeRoleWithWebIdentity as the SDKs do (form body, unsigned).
    pub async fn assume(&self, token: &str) -> (StatusCode, String) {
        self.assume_with(&[
            ("RoleArn", ROLE_ARN),
            ("RoleSessionName", "botocore-session-1700000000"),
            ("WebIdentityToken", token),
        ])
        .await
    }

    pub async fn assume_with(&self, params: &[(&str, &str)]) -> (StatusCode, String) {
        let mut all = vec![
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
        ];
        all.extend_from_slice(params);
        let body = serde_urlencoded::to_string(&all).unwrap();
        let request = Request::post("/")
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .header("host", "127.0.0.1:4577")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, String) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

pub fn bound_request() -> BoundTokenRequest {
    BoundTokenRequest {
        issuer: ISSUER.into(),
        audiences: vec!["sts.amazonaws.com".into()],
        namespace: "default".into(),
        service_account: ObjectRef::new("app", "3f1b6c1e-0000-4000-8000-000000000001"),
        pod: Some(ObjectRef::new(
            "app-7d9c",
            "3f1b6c1e-0000-4000-8000-000000000002",
        )),
        node: Some(ObjectRef::new(
            "node-1",
            "3f1b6c1e-0000-4000-8000-000000000003",
        )),
        secret: None,
        issued_at: NOW,
        expiration_seconds: 86_400,
        warn_after: None,
        jti: Some("3f1b6c1e-0000-4000-8000-000000000004".into()),
    }
}

/// Parses an answer with roxmltree, a parser independent of the quick-xml writer that made
/// it, so a test fails when an answer is not well-formed XML 1.0.
pub fn parse_xml(body: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(body)
        .unwrap_or_else(|e| panic!("the answer is not well-formed XML ({e}): {body:?}"))
}

/// The text of the first element named `tag` (any namespace), entities decoded; `None`
/// when there is no such element. Panics when the body is not well-formed XML.
pub fn xml_text(body: &str, tag: &str) -> Option<String> {
    parse_xml(body)
        .descendants()
        .find(|n| n.has_tag_name(tag))
        .map(|n| n.text().unwrap_or_default().to_owned())
}

/// `(Code, Message)` of an AWS error envelope (empty strings when absent).
pub fn error_of(body: &str) -> (String, String) {
    (
        xml_text(body, "Code").unwrap_or_default(),
        xml_text(body, "Message").unwrap_or_default(),
    )
}
