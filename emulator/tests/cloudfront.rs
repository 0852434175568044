//! CloudFront through the emulator's one endpoint, as the `aws cloudfront` commands call
//! it (SigV4 for `cloudfront`, REST-XML bodies), and the edge STS reads issuers through.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::BodyExt;
use irsa_emulator::clock::{Clock, ManualClock};
use irsa_emulator::issuer::{
    BoundTokenRequest, DiscoveryDocument, KeyAlgorithm, KidMode, ObjectRef, PrivateKey, jwks,
    sign_bound_token,
};
use irsa_emulator::s3::{Acl, BucketDefaults, ObjectMeta};
use irsa_emulator::server::{Emulator, EmulatorConfig};
use irsa_emulator::sts::sigv4;
use tower::ServiceExt;

const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const BUCKET: &str = "openunison-sts-docs";

const OAC: &str = "<OriginAccessControlConfig xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Name>oac-openunison-sts-1</Name><Description>OAC for S3 origin</Description><SigningProtocol>sigv4</SigningProtocol><SigningBehavior>always</SigningBehavior><OriginAccessControlOriginType>s3</OriginAccessControlOriginType></OriginAccessControlConfig>";

/// The OpenUnison guide's cf-config.json as the CLI sends it, with `OAC_ID` to fill.
fn distribution_config(oac_id: &str, caller_reference: &str) -> String {
    format!(
        "<DistributionConfig xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><CallerReference>{caller_reference}</CallerReference><Origins><Quantity>1</Quantity><Items><Origin><Id>S3-openunison-sts-docs</Id><DomainName>openunison-sts-docs.s3.us-east-1.amazonaws.com</DomainName><S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig><OriginAccessControlId>{oac_id}</OriginAccessControlId></Origin></Items></Origins><DefaultCacheBehavior><TargetOriginId>S3-openunison-sts-docs</TargetOriginId><TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners><ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy><ForwardedValues><QueryString>false</QueryString><Cookies><Forward>none</Forward></Cookies></ForwardedValues><MinTTL>0</MinTTL></DefaultCacheBehavior><Comment>My ou sts 001</Comment><Enabled>true</Enabled></DistributionConfig>"
    )
}

fn oac_policy(distribution_arn: &str) -> String {
    format!(
        r#"{{"Version":"2008-10-17","Id":"PolicyForCloudFrontPrivateContent","Statement":[{{"Sid":"AllowCloudFrontServicePrincipal","Effect":"Allow","Principal":{{"Service":"cloudfront.amazonaws.com"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/*","Condition":{{"ArnLike":{{"AWS:SourceArn":"{distribution_arn}"}}}}}}]}}"#
    )
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn field(&self, tag: &str) -> Option<String> {
        let doc = roxmltree::Document::parse(&self.body).ok()?;
        doc.descendants()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .map(str::to_owned)
    }
}

struct Lab {
    emulator: Emulator,
    router: Router,
    clock: Arc<ManualClock>,
}

impl Lab {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::at_unix(NOW));
        let emulator = Emulator::new(EmulatorConfig {
            clock: clock.clone(),
            ..EmulatorConfig::default()
        });
        emulator.s3().create_bucket(BUCKET, None).unwrap();
        Self {
            router: emulator.router(),
            emulator,
            clock,
        }
    }

    fn amz_date(&self) -> String {
        let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        self.clock.now().format(&f).unwrap()
    }

    /// A request signed as the CLI signs it (service `cloudfront`, us-east-1).
    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let uri: Uri = format!("http://127.0.0.1:4577{path}").parse().unwrap();
        let mut map = HeaderMap::new();
        map.insert(http::header::HOST, "127.0.0.1:4577".parse().unwrap());
        for (k, v) in headers {
            map.insert(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        sigv4::sign(
            &method,
            &uri,
            &mut map,
            body.as_bytes(),
            "test",
            "test",
            None,
            "us-east-1",
            "cloudfront",
            &self.amz_date(),
        );
        let mut request = Request::builder().method(method).uri(path);
        for (k, v) in &map {
            request = request.header(k, v);
        }
        self.send(request.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `curl https://<domain><path>`: an unsigned GET with the distribution's Host.
    async fn edge(&self, domain: &str, path: &str) -> Answer {
        let request = Request::get(path)
            .header("host", domain)
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    async fn create_oac(&self) -> String {
        let answer = self
            .call(Method::POST, "/2020-05-31/origin-access-control", &[], OAC)
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.field("Id").unwrap()
    }

    /// Creates the guide's distribution: `(id, arn, domain)`.
    async fn create_distribution(&self, oac_id: &str) -> (String, String, String) {
        let answer = self
            .call(
                Method::POST,
                "/2020-05-31/distribution",
                &[],
                &distribution_config(oac_id, "ou-sts-001"),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        (
            answer.field("Id").unwrap(),
            answer.field("ARN").unwrap(),
            answer.field("DomainName").unwrap(),
        )
    }

    fn upload(&self, key: &str, body: &str, cache_control: Option<&str>) {
        let meta = ObjectMeta {
            content_type: Some("application/json".into()),
            cache_control: cache_control.map(str::to_owned),
        };
        self.emulator
            .s3()
            .put_object_with(
                BUCKET,
                key,
                Bytes::from(body.to_owned()),
                meta,
                Acl::Private,
            )
            .unwrap();
    }

    /// The guide's whole CloudFront setup with the bucket policy: `(id, domain)`.
    async fn guide(&self) -> (String, String) {
        let oac = self.create_oac().await;
        let (id, arn, domain) = self.create_distribution(&oac).await;
        self.emulator
            .s3()
            .put_policy(BUCKET, &oac_policy(&arn))
            .unwrap();
        (id, domain)
    }

    async fn invalidate(&self, id: &str, paths: &[&str], reference: &str) -> Answer {
        let items: String = paths.iter().map(|p| format!("<Path>{p}</Path>")).collect();
        let body = format!(
            "<InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Paths><Quantity>{}</Quantity><Items>{items}</Items></Paths><CallerReference>{reference}</CallerReference></InvalidationBatch>",
            paths.len()
        );
        self.call(
            Method::POST,
            &format!("/2020-05-31/distribution/{id}/invalidation"),
            &[],
            &body,
        )
        .await
    }
}

#[tokio::test]
async fn create_origin_access_control_answers_201_with_id_etag_and_location() {
    let lab = Lab::new();
    let answer = lab
        .call(Method::POST, "/2020-05-31/origin-access-control", &[], OAC)
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let id = answer.field("Id").unwrap();
    assert!(id.starts_with('E') && id.len() == 14, "{id}");
    assert_eq!(
        answer.field("Name").as_deref(),
        Some("oac-openunison-sts-1")
    );
    assert!(answer.headers.contains_key("etag"));
    assert_eq!(
        answer.headers["location"],
        format!("https://cloudfront.amazonaws.com/2020-05-31/origin-access-control/{id}").as_str()
    );
}

#[tokio::test]
async fn get_origin_access_control_returns_its_config_and_etag() {
    let lab = Lab::new();
    let id = lab.create_oac().await;
    let answer = lab
        .call(
            Method::GET,
            &format!("/2020-05-31/origin-access-control/{id}"),
            &[],
            "",
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.field("Id"), Some(id));
    assert_eq!(answer.field("SigningBehavior").as_deref(), Some("always"));
    assert!(answer.headers.contains_key("etag"));
}

#[tokio::test]
async fn a_second_origin_access_control_with_the_same_name_already_exists() {
    let lab = Lab::new();
    lab.create_oac().await;
    let answer = lab
        .call(Method::POST, "/2020-05-31/origin-access-control", &[], OAC)
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        answer.field("Code").as_deref(),
        Some("OriginAccessControlAlreadyExists")
    );
}

#[tokio::test]
async fn create_distribution_gives_a_cloudfront_domain_and_arn() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (id, arn, domain) = lab.create_distribution(&oac).await;
    assert!(id.starts_with('E') && id.len() == 14, "{id}");
    assert_eq!(
        arn,
        format!("arn:aws:cloudfront::111122223333:distribution/{id}")
    );
    assert!(
        domain.starts_with('d') && domain.len() == "d111111abcdef8.cloudfront.net".len(),
        "{domain}"
    );
}

#[tokio::test]
async fn get_distribution_echoes_the_config_with_an_etag() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (id, _, _) = lab.create_distribution(&oac).await;
    let answer = lab
        .call(
            Method::GET,
            &format!("/2020-05-31/distribution/{id}"),
            &[],
            "",
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.field("Status").as_deref(), Some("Deployed"));
    assert_eq!(
        answer.field("CallerReference").as_deref(),
        Some("ou-sts-001")
    );
    assert_eq!(answer.field("OriginAccessControlId"), Some(oac));
    assert!(answer.headers.contains_key("etag"));
}

#[tokio::test]
async fn get_of_an_unknown_distribution_is_no_such_distribution() {
    let lab = Lab::new();
    let answer = lab
        .call(
            Method::GET,
            "/2020-05-31/distribution/E000000000000",
            &[],
            "",
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.field("Code").as_deref(), Some("NoSuchDistribution"));
    assert_eq!(
        answer.field("Message").as_deref(),
        Some("The specified distribution does not exist.")
    );
}

#[tokio::test]
async fn a_distribution_naming_an_unknown_origin_access_control_is_refused() {
    let lab = Lab::new();
    let answer = lab
        .call(
            Method::POST,
            "/2020-05-31/distribution",
            &[],
            &distribution_config("E0NOSUCHOAC00", "ref-1"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.field("Code").as_deref(),
        Some("NoSuchOriginAccessControl")
    );
}

#[tokio::test]
async fn the_same_caller_reference_twice_is_distribution_already_exists() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    lab.create_distribution(&oac).await;
    let answer = lab
        .call(
            Method::POST,
            "/2020-05-31/distribution",
            &[],
            &distribution_config(&oac, "ou-sts-001"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        answer.field("Code").as_deref(),
        Some("DistributionAlreadyExists")
    );
}

#[tokio::test]
async fn without_a_bucket_policy_the_edge_gets_access_denied_from_the_origin() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (_, _, domain) = lab.create_distribution(&oac).await;
    lab.upload("certs", "{}", None);
    let answer = lab.edge(&domain, "/certs").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(
        answer.body.contains("<Code>AccessDenied</Code>"),
        "{}",
        answer.body
    );
    assert_eq!(answer.headers["x-cache"], "Error from cloudfront");
}

#[tokio::test]
async fn with_the_oac_bucket_policy_the_edge_serves_the_object() {
    let lab = Lab::new();
    let (_, domain) = lab.guide().await;
    lab.upload("certs", "{\"keys\":[]}", None);
    let answer = lab.edge(&domain, "/certs").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "{\"keys\":[]}");
    assert_eq!(answer.headers["x-cache"], "Miss from cloudfront");
}

#[tokio::test]
async fn a_policy_for_another_distribution_does_not_let_this_one_read() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (_, _, domain) = lab.create_distribution(&oac).await;
    lab.emulator
        .s3()
        .put_policy(
            BUCKET,
            &oac_policy("arn:aws:cloudfront::111122223333:distribution/EOTHER00000000"),
        )
        .unwrap();
    lab.upload("certs", "{}", None);
    assert_eq!(
        lab.edge(&domain, "/certs").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_missing_key_is_access_denied_without_list_bucket() {
    let lab = Lab::new();
    let (_, domain) = lab.guide().await;
    let answer = lab.edge(&domain, "/missing").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_edge_serves_its_cached_copy_until_an_invalidation() {
    let lab = Lab::new();
    let (id, domain) = lab.guide().await;
    lab.upload("certs", "old", None);
    assert_eq!(lab.edge(&domain, "/certs").await.body, "old");
    lab.upload("certs", "new", None);
    let cached = lab.edge(&domain, "/certs").await;
    assert_eq!(cached.body, "old");
    assert_eq!(cached.headers["x-cache"], "Hit from cloudfront");
    let answer = lab.invalidate(&id, &["/certs"], "rotation-1").await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(lab.edge(&domain, "/certs").await.body, "new");
}

#[tokio::test]
async fn an_invalidation_of_another_path_keeps_the_cached_copy() {
    let lab = Lab::new();
    let (id, domain) = lab.guide().await;
    lab.upload("certs", "old", None);
    lab.edge(&domain, "/certs").await;
    lab.upload("certs", "new", None);
    lab.invalidate(&id, &["/.well-known/*"], "rotation-1").await;
    assert_eq!(lab.edge(&domain, "/certs").await.body, "old");
}

#[tokio::test]
async fn the_cached_copy_expires_after_the_default_ttl() {
    let lab = Lab::new();
    let (_, domain) = lab.guide().await;
    lab.upload("certs", "old", None);
    lab.edge(&domain, "/certs").await;
    lab.upload("certs", "new", None);
    lab.clock.advance(Duration::from_secs(86_399));
    assert_eq!(lab.edge(&domain, "/certs").await.body, "old");
    lab.clock.advance(Duration::from_secs(1));
    assert_eq!(lab.edge(&domain, "/certs").await.body, "new");
}

#[tokio::test]
async fn the_origin_cache_control_max_age_sets_the_ttl() {
    let lab = Lab::new();
    let (_, domain) = lab.guide().await;
    lab.upload("certs", "old", Some("max-age=60"));
    lab.edge(&domain, "/certs").await;
    lab.upload("certs", "new", Some("max-age=60"));
    lab.clock.advance(Duration::from_secs(60));
    assert_eq!(lab.edge(&domain, "/certs").await.body, "new");
}

#[tokio::test]
async fn an_origin_error_is_cached_for_ten_seconds() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (_, arn, domain) = lab.create_distribution(&oac).await;
    lab.upload("certs", "{}", None);
    assert_eq!(
        lab.edge(&domain, "/certs").await.status,
        StatusCode::FORBIDDEN
    );
    lab.emulator
        .s3()
        .put_policy(BUCKET, &oac_policy(&arn))
        .unwrap();
    assert_eq!(
        lab.edge(&domain, "/certs").await.status,
        StatusCode::FORBIDDEN
    );
    lab.clock.advance(Duration::from_secs(10));
    assert_eq!(lab.edge(&domain, "/certs").await.status, StatusCode::OK);
}

#[tokio::test]
async fn get_invalidation_reports_completed() {
    let lab = Lab::new();
    let (id, _) = lab.guide().await;
    let created = lab.invalidate(&id, &["/certs"], "rotation-1").await;
    assert_eq!(created.field("Status").as_deref(), Some("InProgress"));
    let invalidation = created.field("Id").unwrap();
    let answer = lab
        .call(
            Method::GET,
            &format!("/2020-05-31/distribution/{id}/invalidation/{invalidation}"),
            &[],
            "",
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.field("Status").as_deref(), Some("Completed"));
    assert_eq!(answer.field("Path").as_deref(), Some("/certs"));
}

#[tokio::test]
async fn an_invalidation_path_without_a_leading_slash_is_invalid() {
    let lab = Lab::new();
    let (id, _) = lab.guide().await;
    let answer = lab.invalidate(&id, &["certs"], "rotation-1").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.field("Code").as_deref(), Some("InvalidArgument"));
}

#[tokio::test]
async fn update_distribution_without_if_match_is_invalid_if_match_version() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (id, _, _) = lab.create_distribution(&oac).await;
    let answer = lab
        .call(
            Method::PUT,
            &format!("/2020-05-31/distribution/{id}/config"),
            &[],
            &distribution_config(&oac, "ou-sts-001"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.field("Code").as_deref(),
        Some("InvalidIfMatchVersion")
    );
}

#[tokio::test]
async fn update_distribution_with_a_stale_etag_is_precondition_failed() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (id, _, _) = lab.create_distribution(&oac).await;
    let answer = lab
        .call(
            Method::PUT,
            &format!("/2020-05-31/distribution/{id}/config"),
            &[("if-match", "ESTALE0000000")],
            &distribution_config(&oac, "ou-sts-001"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn update_distribution_with_the_current_etag_gives_a_new_one() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (id, _, _) = lab.create_distribution(&oac).await;
    let config = lab
        .call(
            Method::GET,
            &format!("/2020-05-31/distribution/{id}/config"),
            &[],
            "",
        )
        .await;
    let etag = config.headers["etag"].to_str().unwrap().to_owned();
    let answer = lab
        .call(
            Method::PUT,
            &format!("/2020-05-31/distribution/{id}/config"),
            &[("if-match", &etag)],
            &distribution_config(&oac, "ou-sts-001").replace("My ou sts 001", "changed"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_ne!(answer.headers["etag"].to_str().unwrap(), etag);
    assert_eq!(answer.field("Comment").as_deref(), Some("changed"));
}

#[tokio::test]
async fn an_enabled_distribution_cannot_be_deleted() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (id, _, _) = lab.create_distribution(&oac).await;
    let got = lab
        .call(
            Method::GET,
            &format!("/2020-05-31/distribution/{id}"),
            &[],
            "",
        )
        .await;
    let etag = got.headers["etag"].to_str().unwrap().to_owned();
    let answer = lab
        .call(
            Method::DELETE,
            &format!("/2020-05-31/distribution/{id}"),
            &[("if-match", &etag)],
            "",
        )
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        answer.field("Code").as_deref(),
        Some("DistributionNotDisabled")
    );
}

/// The OpenUnison setup behind the distribution (its own issuer key, audience
/// `sts.aws.com`), then AssumeRoleWithWebIdentity as the SDKs post it.
async fn assume_through_the_distribution(lab: &Lab, domain: &str) -> Answer {
    let issuer = format!("https://{domain}");
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048);
    let discovery = DiscoveryDocument::for_keys(
        &issuer,
        Some(&format!("{issuer}/certs")),
        &[key.public_key()],
    );
    lab.upload(
        ".well-known/openid-configuration",
        &serde_json::to_string(&discovery).unwrap(),
        None,
    );
    lab.upload(
        "certs",
        &serde_json::to_string(&jwks(&[key.public_key()], false)).unwrap(),
        None,
    );
    let iam = lab.emulator.iam();
    iam.create_provider(&issuer, &["sts.aws.com".into()], &[])
        .unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/{domain}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{domain}:aud":"sts.aws.com"}}}}}}]}}"#
    );
    iam.create_role("openunison-sts-docs", None, &policy, None)
        .unwrap();
    let request = BoundTokenRequest {
        issuer: issuer.clone(),
        audiences: vec!["sts.aws.com".into()],
        namespace: "myns".into(),
        service_account: ObjectRef::new("app", "3f1b6c1e-0000-4000-8000-000000000001"),
        pod: None,
        node: None,
        secret: None,
        issued_at: NOW,
        expiration_seconds: 3600,
        warn_after: None,
        jti: None,
    };
    let token = sign_bound_token(&request, &key, KidMode::Sha256);
    let body = serde_urlencoded::to_string([
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        (
            "RoleArn",
            "arn:aws:iam::111122223333:role/openunison-sts-docs",
        ),
        ("RoleSessionName", "ou"),
        ("WebIdentityToken", &token),
    ])
    .unwrap();
    let request = Request::post("/")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header("host", "127.0.0.1:4577")
        .body(Body::from(body))
        .unwrap();
    lab.send(request).await
}

#[tokio::test]
async fn sts_validates_a_token_through_the_distribution() {
    let lab = Lab::new();
    let (_, domain) = lab.guide().await;
    let answer = assume_through_the_distribution(&lab, &domain).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.field("Provider"),
        Some(format!("arn:aws:iam::111122223333:oidc-provider/{domain}"))
    );
}

#[tokio::test]
async fn sts_cannot_retrieve_the_key_when_the_bucket_denies_the_distribution() {
    let lab = Lab::new();
    let oac = lab.create_oac().await;
    let (_, _, domain) = lab.create_distribution(&oac).await;
    let answer = assume_through_the_distribution(&lab, &domain).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.field("Code").as_deref(),
        Some("InvalidIdentityToken")
    );
    let diagnosis = answer.headers["x-irsa-lab-diagnosis"].to_str().unwrap();
    assert!(
        diagnosis.contains("HTTP 403 from CloudFront")
            && diagnosis.contains("cloudfront.amazonaws.com"),
        "{diagnosis}"
    );
}

#[tokio::test]
async fn sts_cannot_reach_a_cloudfront_domain_no_distribution_has() {
    let lab = Lab::new();
    let answer = assume_through_the_distribution(&lab, "d000000nothere.cloudfront.net").await;
    assert_eq!(
        answer.field("Code").as_deref(),
        Some("InvalidIdentityToken")
    );
    let diagnosis = answer.headers["x-irsa-lab-diagnosis"].to_str().unwrap();
    assert!(
        diagnosis.contains("no CloudFront distribution has the domain"),
        "{diagnosis}"
    );
}

#[tokio::test]
async fn legacy_bucket_defaults_let_a_public_origin_serve_without_oac() {
    let clock = Arc::new(ManualClock::at_unix(NOW));
    let emulator = Emulator::new(EmulatorConfig {
        clock,
        s3_bucket_defaults: BucketDefaults::Legacy,
        ..EmulatorConfig::default()
    });
    emulator.s3().create_bucket(BUCKET, None).unwrap();
    emulator
        .s3()
        .put_object(
            BUCKET,
            "certs",
            Bytes::from_static(b"{}"),
            None,
            Acl::PublicRead,
        )
        .unwrap();
    let lab = Lab {
        router: emulator.router(),
        clock: Arc::new(ManualClock::at_unix(NOW)),
        emulator,
    };
    let answer = lab
        .call(
            Method::POST,
            "/2020-05-31/distribution",
            &[],
            &distribution_config("", "public-origin"),
        )
        .await;
    let domain = answer.field("DomainName").unwrap();
    assert_eq!(lab.edge(&domain, "/certs").await.status, StatusCode::OK);
}
