//! Administrative IAM and S3 calls accept any credentials, but credentials STS issued are
//! always verified: a workload's forged or expired session fails as on AWS.

mod support;

use std::time::Duration;

use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use irsa_emulator::sts::sigv4;
use support::*;

struct Creds {
    akid: String,
    secret: String,
    token: Option<String>,
}

fn field(xml: &str, tag: &str) -> String {
    xml_text(xml, tag).unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
}

fn signed(
    method: Method,
    uri: &str,
    body: &[u8],
    creds: &Creds,
    service: &str,
    amz_date: &str,
) -> Request<Body> {
    let uri: Uri = uri.parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", "127.0.0.1:4577".parse().unwrap());
    if service != "s3" {
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
    }
    sigv4::sign(
        &method,
        &uri,
        &mut headers,
        body,
        &creds.akid,
        &creds.secret,
        creds.token.as_deref(),
        "us-east-1",
        service,
        amz_date,
    );
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    request.body(Body::from(body.to_vec())).unwrap()
}

const DATE: &str = "20231114T221320Z";

#[tokio::test]
async fn issued_credentials_are_verified_admin_credentials_are_not() {
    let lab = Lab::new();
    let (status, xml) = lab.assume(&lab.token()).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    let issued = Creds {
        akid: field(&xml, "AccessKeyId"),
        secret: field(&xml, "SecretAccessKey"),
        token: Some(field(&xml, "SessionToken")),
    };
    let forged = Creds {
        akid: issued.akid.clone(),
        secret: "x".repeat(40),
        token: issued.token.clone(),
    };
    let admin = Creds {
        akid: "test".into(),
        secret: "test".into(),
        token: None,
    };
    let iam_body = b"Action=ListRoles&Version=2010-05-08";

    let (status, body) = lab
        .send(signed(Method::POST, "/", iam_body, &admin, "iam", DATE))
        .await;
    assert_eq!(status, StatusCode::OK, "admin credentials pass: {body}");
    let (status, body) = lab
        .send(signed(Method::POST, "/", iam_body, &issued, "iam", DATE))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "issued credentials with a good signature pass: {body}"
    );
    let (status, body) = lab
        .send(signed(Method::POST, "/", iam_body, &forged, "iam", DATE))
        .await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
        "{body}"
    );

    let (status, body) = lab
        .send(signed(
            Method::GET,
            "/oidc-test/keys.json",
            b"",
            &forged,
            "s3",
            DATE,
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        xml_text(&body, "Code").as_deref(),
        Some("SignatureDoesNotMatch"),
        "S3-shaped error: {body}"
    );
    let (status, _) = lab
        .send(signed(
            Method::GET,
            "/oidc-test/keys.json",
            b"",
            &issued,
            "s3",
            DATE,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);

    // The session expires with the credentials (1 h by default). Requests are signed at
    // the new time: a signature from an hour ago is refused for its date first.
    lab.clock.advance(Duration::from_secs(3601));
    const LATER: &str = "20231114T231321Z";
    let (status, body) = lab
        .send(signed(Method::POST, "/", iam_body, &issued, "iam", LATER))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::BAD_REQUEST,
            (
                "ExpiredToken".into(),
                "The security token included in the request is expired".into()
            )
        )
    );
    let sts_body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let (status, body) = lab
        .send(signed(Method::POST, "/", sts_body, &issued, "sts", LATER))
        .await;
    assert_eq!(
        (status.as_u16(), error_of(&body).0.as_str()),
        (400, "ExpiredToken")
    );
    let unknown = Creds {
        akid: "ASIAUNKNOWNUNKNOWN00".into(),
        secret: "s".into(),
        token: Some("t".into()),
    };
    let (status, body) = lab
        .send(signed(Method::POST, "/", sts_body, &unknown, "sts", DATE))
        .await;
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (StatusCode::FORBIDDEN, "InvalidClientTokenId")
    );
    let (status, body) = lab
        .send(signed(Method::POST, "/", sts_body, &admin, "sts", DATE))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        xml_text(&body, "Arn").as_deref(),
        Some("arn:aws:iam::111122223333:root"),
        "{body}"
    );
}

#[tokio::test]
async fn a_deactivated_region_answers_region_disabled() {
    use irsa_emulator::server::{Emulator, EmulatorConfig};
    let emulator = Emulator::new(EmulatorConfig {
        disabled_sts_regions: vec!["eu-south-2".into()],
        ..EmulatorConfig::default()
    });
    let router = emulator.router();
    let call = |host: &str, signed_region: Option<&str>| {
        let body = b"Action=GetCallerIdentity&Version=2011-06-15".to_vec();
        let uri: Uri = "/".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", host.parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        if let Some(region) = signed_region {
            sigv4::sign(
                &Method::POST,
                &uri,
                &mut headers,
                &body,
                "test",
                "test",
                None,
                region,
                "sts",
                DATE,
            );
        }
        let mut request = Request::builder().method("POST").uri(uri);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let router = router.clone();
        async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let response = router
                .oneshot(request.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let status = response.status();
            (
                status,
                String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes())
                    .into_owned(),
            )
        }
    };
    let (status, body) = call("127.0.0.1:4577", Some("eu-south-2")).await;
    assert_eq!(
        (status, error_of(&body)),
        (
            StatusCode::FORBIDDEN,
            (
                "RegionDisabledException".into(),
                "STS is not activated in this region for account:111122223333. Your account administrator can activate STS in this region using the IAM Console.".into()
            )
        )
    );
    let (status, _) = call("sts.eu-south-2.amazonaws.com", None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "unsigned calls are placed by their regional Host"
    );
    let (status, body) = call("127.0.0.1:4577", Some("us-east-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
