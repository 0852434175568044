//! Fake STS: `AssumeRoleWithWebIdentity` validated exactly as AWS validates it, the
//! credentials it issues, SigV4 verification of calls signed with them, and
//! `GetCallerIdentity`.

mod credentials;
mod errors;
mod params;
mod response;
pub mod sigv4;
mod validate;

use std::sync::Arc;

use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use time::Duration;

pub use credentials::{CredentialError, CredentialStore, IssuedCredentials};
pub use errors::{KEY_RETRIEVAL_MESSAGE, NOT_A_JWT_MESSAGE, StsError, UNVERIFIABLE_MESSAGE};
pub use params::AssumeRoleWithWebIdentityInput;
pub use response::{AssumeRoleWithWebIdentityOutput, iso_seconds};
pub use sigv4::{SigV4Auth, SignedRequest, SignedService};
pub use validate::{EXP_TOLERANCE_SECONDS, ValidatedWebIdentity, trust_context};

use crate::clock::SharedClock;
use crate::iam::Iam;
use crate::log_text::one_line;
use crate::oidc::JwksCache;
use crate::query::{AwsError, Format, QueryRequest, new_request_id, xml_response};

/// Response header carrying the emulator's diagnosis of a refused call.
pub const DIAGNOSIS_HEADER: &str = "x-irsa-lab-diagnosis";

/// STS's XML namespace.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The parts of an HTTP request STS needs (SigV4 covers method, URI, headers and body).
#[derive(Debug, Clone)]
pub struct HttpParts {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The fake STS.
#[derive(Debug)]
pub struct Sts {
    /// Regions where STS is deactivated for the account (RegionDisabledException).
    disabled_regions: Vec<String>,
    /// The region of requests that name none (unsigned, on a local endpoint).
    default_region: String,
    iam: Iam,
    keys: Arc<JwksCache>,
    clock: SharedClock,
    credentials: CredentialStore,
}

impl Sts {
    pub fn new(iam: Iam, keys: Arc<JwksCache>, clock: SharedClock) -> Self {
        Self {
            disabled_regions: Vec::new(),
            default_region: "us-east-1".to_owned(),
            iam,
            keys,
            clock,
            credentials: CredentialStore::default(),
        }
    }

    /// Deactivates STS in `regions` for the account, as an administrator can in IAM: calls
    /// addressed to them fail with RegionDisabledException.
    pub fn with_disabled_regions(mut self, regions: Vec<String>) -> Self {
        self.disabled_regions = regions;
        self
    }

    /// The region a request is addressed to: its SigV4 scope, else a regional STS Host
    /// (`sts.<region>.amazonaws.com`), else the default.
    fn request_region(&self, http: &HttpParts) -> String {
        if let Ok(Some(auth)) = sigv4::parse_authorization(&http.headers, http.uri.query()) {
            return auth.region;
        }
        let host = http
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        host.strip_prefix("sts.")
            .and_then(|rest| rest.split_once(".amazonaws.com"))
            .map(|(region, _)| region.to_owned())
            .unwrap_or_else(|| self.default_region.clone())
    }

    /// Credentials this STS issued, from the access key id and session token a call carries.
    pub fn issued(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<IssuedCredentials, CredentialError> {
        self.credentials.lookup(access_key_id, session_token)
    }

    /// Exchanges a web-identity token for credentials, or says exactly why not.
    pub async fn assume_role_with_web_identity(
        &self,
        input: &AssumeRoleWithWebIdentityInput,
    ) -> Result<AssumeRoleWithWebIdentityOutput, StsError> {
        let now = self.clock.now();
        let valid = validate::validate(input, &self.iam, &self.keys, now.unix_timestamp()).await?;
        for warning in &valid.warnings {
            // Escaped: warnings quote fetched documents, which must not forge log lines.
            tracing::warn!(target: "irsa_emulator::sts", "{}", one_line(warning));
        }
        let session = &input.role_session_name;
        let partition = crate::iam::parse_role_arn(&valid.role.arn)
            .map_or_else(|| "aws".to_owned(), |a| a.partition);
        let assumed_role_arn = format!(
            "arn:{partition}:sts::{}:assumed-role/{}/{session}",
            self.iam.account_id(),
            valid.role.name
        );
        let assumed_role_id = format!("{}:{session}", valid.role.role_id);
        let expiration = now + Duration::seconds(i64::from(valid.duration_seconds));
        let credentials = self.credentials.issue(
            expiration,
            assumed_role_arn.clone(),
            assumed_role_id.clone(),
            self.iam.account_id().to_owned(),
        );
        Ok(AssumeRoleWithWebIdentityOutput {
            subject: valid.subject,
            audience: valid.audience,
            assumed_role_arn,
            assumed_role_id,
            credentials,
            provider: valid.provider.arn,
        })
    }

    /// Verifies a request signed with credentials this STS issued, as `service` (STS, IAM
    /// or S3) would: signature (date window, scope, payload, chunks), session token and
    /// expiry. Requests signed with any other credentials pass (administrative calls
    /// accept any credentials, as LocalStack does).
    ///
    /// # Errors
    /// Why AWS would refuse the request; [`StsError::Signature`] carries the signature
    /// problem for services (S3) that word it their own way.
    pub fn verify_issued(
        &self,
        http: &HttpParts,
        auth: &SigV4Auth,
        service: SignedService,
    ) -> Result<(), StsError> {
        match self.check_issued(http, auth, service) {
            Ok(_) | Err(None) => Ok(()),
            Err(Some(e)) => Err(e),
        }
    }

    /// `Ok(creds)`: issued and valid. `Err(None)`: not ours. `Err(Some(e))`: ours and bad.
    fn check_issued(
        &self,
        http: &HttpParts,
        auth: &SigV4Auth,
        service: SignedService,
    ) -> Result<IssuedCredentials, Option<StsError>> {
        let token = sigv4::session_token(&http.headers, &http.uri);
        let creds = match self
            .credentials
            .lookup(&auth.access_key_id, token.as_deref())
        {
            Ok(creds) => creds,
            Err(CredentialError::NotIssued(_)) => return Err(None),
            Err(e) => {
                return Err(Some(StsError::InvalidClientTokenId {
                    detail: e.to_string(),
                }));
            }
        };
        let request = SignedRequest {
            method: &http.method,
            uri: &http.uri,
            headers: &http.headers,
            body: &http.body,
        };
        sigv4::verify(
            &request,
            auth,
            &creds.secret_access_key,
            service,
            self.clock.now(),
        )
        .map_err(|refusal| Some(StsError::Signature(refusal)))?;
        if self.clock.now() >= creds.expiration {
            return Err(Some(StsError::ExpiredSession));
        }
        Ok(creds)
    }

    fn get_caller_identity(
        &self,
        http: &HttpParts,
        format: Format,
        rid: &str,
    ) -> Result<String, StsError> {
        let auth = match sigv4::parse_authorization(&http.headers, http.uri.query()) {
            Ok(Some(auth)) => auth,
            Ok(None) => return Err(StsError::MissingAuthenticationToken),
            Err(e) if e.is_other_scheme() => return Err(StsError::MissingAuthenticationToken),
            Err(e) if e.query_code().0 == "SignatureDoesNotMatch" => {
                return Err(StsError::SignatureDoesNotMatch {
                    detail: e.to_string(),
                });
            }
            Err(e) => return Err(StsError::IncompleteSignature(e.to_string())),
        };
        match self.check_issued(http, &auth, SignedService::Sts) {
            Ok(creds) => Ok(response::caller_identity(
                format,
                &creds.assumed_role_arn,
                &creds.assumed_role_id,
                &creds.account,
                rid,
            )),
            Err(Some(e)) => Err(e),
            // Keys shaped like STS-issued ones that we never issued are unknown tokens.
            Err(None) if auth.access_key_id.starts_with("ASIA") => {
                Err(StsError::InvalidClientTokenId {
                    detail: format!(
                        "access key {} was not issued by this emulator",
                        auth.access_key_id
                    ),
                })
            }
            // Administrative credentials (e.g. "test"): the account's root identity.
            Err(None) => {
                let account = self.iam.account_id();
                Ok(response::caller_identity(
                    format,
                    &format!("arn:aws:iam::{account}:root"),
                    account,
                    account,
                    rid,
                ))
            }
        }
    }

    /// Answers one STS Query-protocol call.
    pub async fn handle(&self, req: &QueryRequest, http: &HttpParts) -> Response {
        let format = Format::from_headers(&http.headers);
        let rid = new_request_id();
        let region = self.request_region(http);
        let result = match req.action.as_str() {
            _ if self.disabled_regions.contains(&region) => {
                Err(StsError::RegionDisabled { account: self.iam.account_id().to_owned(), region })
            }
            "AssumeRoleWithWebIdentity" => match AssumeRoleWithWebIdentityInput::from_query(req) {
                Ok(input) => self.assume_role_with_web_identity(&input).await.map(|out| {
                    tracing::info!(target: "irsa_emulator::sts", role = %out.assumed_role_arn, sub = ?out.subject, "AssumeRoleWithWebIdentity allowed");
                    out.render(format, &rid)
                }),
                Err(e) => Err(e),
            },
            "GetCallerIdentity" => self.get_caller_identity(http, format, &rid),
            other => Err(StsError::InvalidAction(other.to_owned())),
        };
        match result {
            Ok(body) if format == Format::Xml => xml_response(body, &rid),
            Ok(body) => {
                let mut response = xml_response(body, &rid);
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                response
            }
            Err(e) => {
                let detail = match &e {
                    StsError::Signature(refusal) => Some(refusal.detail()),
                    other => other.detail().filter(|d| !d.is_empty()).map(str::to_owned),
                };
                // Debug-escaped: the action, the message (it quotes `iss`) and the detail all
                // carry request text, and a newline in them must not forge a log line.
                let message = e.to_string();
                tracing::info!(target: "irsa_emulator::sts", action = ?req.action, code = e.code(), detail = %one_line(detail.as_deref().unwrap_or("")), "{}", one_line(&message));
                let mut response = AwsError::from(e).into_response(format, NAMESPACE, &rid);
                // AWS's messages are terse on purpose; ours say why, for people. Clients
                // ignore unknown headers. Never contains the token (details name claims only).
                if let Some(value) = detail
                    .and_then(|d| http::HeaderValue::from_str(&d.replace(['\r', '\n'], " ")).ok())
                {
                    response.headers_mut().insert(DIAGNOSIS_HEADER, value);
                }
                response
            }
        }
    }
}
