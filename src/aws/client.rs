//! AWS calls over HTTP the way the SDKs and the `aws` CLI make them: unsigned form POST
//! for AssumeRoleWithWebIdentity, SigV4-signed GetCallerIdentity, IAM Query calls and S3
//! uploads with `x-amz-acl`. Answers are read with a real XML parser.

use http::{HeaderMap, HeaderValue, Method, Uri};
use irsa_emulator::sts::sigv4;
use time::OffsetDateTime;

/// Temporary credentials as STS returned them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Credentials {
    /// What `irsa-lab serve` suggests for administrative calls.
    pub fn admin() -> Self {
        Self {
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            session_token: None,
        }
    }
}

/// An AWS error as the client sees it, plus the emulator's diagnosis header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFailure {
    pub code: String,
    pub message: String,
    pub diagnosis: Option<String>,
}

/// An AWS answer: success body, or the error.
pub type AwsResult = Result<String, AwsFailure>;

#[derive(Debug, Clone)]
pub struct AwsClient {
    http: reqwest::Client,
    endpoint: String,
}

/// The text of the first `<tag>` element in `xml` (entities decoded), read with quick-xml.
pub fn xml_field(xml: &str, tag: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) if start.local_name().as_ref() == tag.as_bytes() => inside = true,
            Event::Text(t) if inside => text.push_str(&t.decode().ok()?),
            Event::GeneralRef(r) if inside => {
                let entity = format!("&{};", r.decode().ok()?);
                text.push_str(&quick_xml::escape::unescape(&entity).ok()?);
            }
            Event::CData(t) if inside => text.push_str(&String::from_utf8_lossy(&t)),
            Event::End(end) if inside && end.local_name().as_ref() == tag.as_bytes() => {
                return Some(text);
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn amz_date(now: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    now.format(&f).unwrap_or_default()
}

impl AwsClient {
    pub fn new(endpoint: String) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap_or_default();
        Self { http, endpoint }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        mut headers: HeaderMap,
        body: Vec<u8>,
        sign: Option<(&Credentials, &str, OffsetDateTime)>,
    ) -> anyhow::Result<AwsResult> {
        let url = format!("{}{path}", self.endpoint);
        let uri: Uri = url.parse()?;
        if let Some(host) = uri.authority() {
            headers.insert(http::header::HOST, HeaderValue::from_str(host.as_str())?);
        }
        if let Some((creds, service, now)) = sign {
            let session = creds.session_token.as_deref();
            sigv4::sign(
                &method,
                &uri,
                &mut headers,
                &body,
                &creds.access_key_id,
                &creds.secret_access_key,
                session,
                "us-east-1",
                service,
                &amz_date(now),
            );
        }
        let response = self
            .http
            .request(method, url)
            .headers(headers)
            .body(body)
            .send()
            .await?;
        let ok = response.status().is_success();
        let diagnosis = response
            .headers()
            .get(irsa_emulator::sts::DIAGNOSIS_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await?;
        if ok {
            Ok(Ok(text))
        } else {
            let code = xml_field(&text, "Code").unwrap_or_default();
            Ok(Err(AwsFailure {
                code,
                message: xml_field(&text, "Message").unwrap_or(text),
                diagnosis,
            }))
        }
    }

    fn form_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        headers
    }

    pub async fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        session: &str,
        token: &str,
        duration_seconds: Option<i64>,
    ) -> anyhow::Result<AwsResult> {
        let duration = duration_seconds.map(|d| d.to_string());
        let mut form = vec![
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", role_arn),
            ("RoleSessionName", session),
            ("WebIdentityToken", token),
        ];
        if let Some(duration) = &duration {
            form.push(("DurationSeconds", duration));
        }
        let body = serde_urlencoded::to_string(form)?;
        self.send(
            Method::POST,
            "/",
            Self::form_headers(),
            body.into_bytes(),
            None,
        )
        .await
    }

    pub async fn get_caller_identity(
        &self,
        creds: &Credentials,
        now: OffsetDateTime,
    ) -> anyhow::Result<AwsResult> {
        let body = b"Action=GetCallerIdentity&Version=2011-06-15".to_vec();
        self.send(
            Method::POST,
            "/",
            Self::form_headers(),
            body,
            Some((creds, "sts", now)),
        )
        .await
    }

    pub async fn iam(
        &self,
        creds: &Credentials,
        now: OffsetDateTime,
        params: &[(&str, &str)],
    ) -> anyhow::Result<AwsResult> {
        let mut all = vec![("Version", "2010-05-08")];
        all.extend_from_slice(params);
        let body = serde_urlencoded::to_string(&all)?;
        self.send(
            Method::POST,
            "/",
            Self::form_headers(),
            body.into_bytes(),
            Some((creds, "iam", now)),
        )
        .await
    }

    pub async fn s3_put(
        &self,
        creds: &Credentials,
        now: OffsetDateTime,
        path: &str,
        body: Vec<u8>,
        acl: Option<&str>,
    ) -> anyhow::Result<AwsResult> {
        let mut headers = HeaderMap::new();
        if let Some(acl) = acl {
            headers.insert("x-amz-acl", HeaderValue::from_str(acl)?);
        }
        headers.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        self.send(Method::PUT, path, headers, body, Some((creds, "s3", now)))
            .await
    }

    pub async fn s3_delete(
        &self,
        creds: &Credentials,
        now: OffsetDateTime,
        path: &str,
    ) -> anyhow::Result<AwsResult> {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        self.send(
            Method::DELETE,
            path,
            headers,
            Vec::new(),
            Some((creds, "s3", now)),
        )
        .await
    }
}

impl AwsClient {
    /// A signed CloudFront REST-XML call (`aws cloudfront ...`), with the headers the CLI
    /// adds (If-Match for updates and deletes).
    pub async fn cloudfront(
        &self,
        creds: &Credentials,
        now: OffsetDateTime,
        method: Method,
        path: &str,
        body: String,
    ) -> anyhow::Result<AwsResult> {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml"),
        );
        self.send(
            method,
            path,
            headers,
            body.into_bytes(),
            Some((creds, "cloudfront", now)),
        )
        .await
    }

    /// A signed S3 call other than an upload (bucket settings: `?policy`,
    /// `?publicAccessBlock`, `?ownershipControls`).
    pub async fn s3_call(
        &self,
        creds: &Credentials,
        now: OffsetDateTime,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<AwsResult> {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        self.send(method, path, headers, body, Some((creds, "s3", now)))
            .await
    }
}
