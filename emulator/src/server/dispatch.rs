//! The one handler behind every path: read the body (capped), decide the service, check
//! STS-issued credentials, hand the request over, log it without secrets.

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tower::ServiceExt;

use super::classify::{Service, classify};
use super::emulator::Emulator;
use super::redact::redact_query;
use crate::query::{AwsError, Format, new_request_id, xml_response};
use crate::sts::{self, HttpParts, SignedService};
use crate::{cloudfront, iam, s3};

/// Larger than any STS/IAM call and the S3 objects an issuer needs; bigger bodies get 413
/// (S3: EntityTooLarge).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Whether a request whose body could not be read is for S3 (its errors are S3's): signed
/// for S3, or not shaped like a Query-protocol call.
fn looks_like_s3(parts: &http::request::Parts) -> bool {
    match sts::sigv4::parse_authorization(&parts.headers, parts.uri.query()) {
        Ok(Some(auth)) => auth.service == "s3",
        _ => classify(parts, &[], None) == Service::S3 && !is_form(parts),
    }
}

fn is_form(parts: &http::request::Parts) -> bool {
    parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Too large is 413 (S3: EntityTooLarge); a body that breaks off or whose HTTP chunked
/// framing is broken is 400, naming the problem.
fn body_error(parts: &http::request::Parts, error: &axum::Error) -> Response {
    let too_large = std::iter::successors(Some(error as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .any(|e| e.is::<http_body_util::LengthLimitError>());
    let s3 = looks_like_s3(parts);
    match (too_large, s3) {
        (true, true) => s3::S3Error::EntityTooLarge.into_response(),
        (true, false) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {MAX_BODY_BYTES} bytes"),
        )
            .into_response(),
        (false, true) => {
            s3::S3Error::IncompleteBody(format!("the request body could not be read: {error}"))
                .into_response()
        }
        (false, false) => AwsError::sender(
            StatusCode::BAD_REQUEST,
            "MalformedInput",
            format!("the request body could not be read: {error}"),
        )
        .into_response(
            Format::from_headers(&parts.headers),
            sts::NAMESPACE,
            &new_request_id(),
        ),
    }
}

/// The services behind the one endpoint that have routers of their own.
#[derive(Debug, Clone)]
struct Routers {
    s3: Router,
    cloudfront: Router,
}

pub(super) fn router(emulator: Emulator) -> Router {
    let routers = Routers {
        s3: s3::router(emulator.s3().clone()),
        cloudfront: cloudfront::router(emulator.cloudfront().clone()),
    };
    Router::new()
        .fallback(handle)
        .with_state((emulator, routers))
}

/// The edge's answer over HTTP, with CloudFront's `X-Cache` and `Age` headers.
fn edge_response(emulator: &Emulator, parts: &http::request::Parts) -> Response {
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let Some(answer) = emulator.cloudfront().edge_get(host, parts.uri.path()) else {
        return (
            StatusCode::BAD_GATEWAY,
            format!("no CloudFront distribution has the domain {host}"),
        )
            .into_response();
    };
    let mut response = (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
        answer.body,
    )
        .into_response();
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("content-type", &answer.content_type);
    put("x-cache", answer.x_cache);
    put("age", &answer.age.to_string());
    if let Some(etag) = &answer.etag {
        put("etag", etag);
    }
    if let Some(cache_control) = &answer.cache_control {
        put("cache-control", cache_control);
    }
    if let Some(detail) = &answer.detail {
        put("x-irsa-lab-diagnosis", &crate::log_text::one_line(detail));
    }
    response
}

async fn handle(
    State((emulator, routers)): State<(Emulator, Routers)>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(redact_query);
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(e) => return body_error(&parts, &e),
    };
    let format = Format::from_headers(&parts.headers);

    // A scheme other than SigV4 (`Bearer ..`) is an unsigned call to the Query services;
    // S3 answers it, and any malformed signature, with its own errors (its router
    // re-reads the credentials).
    let auth = match sts::sigv4::parse_authorization(&parts.headers, parts.uri.query()) {
        Ok(auth) => auth,
        Err(e) if e.is_other_scheme() => None,
        Err(_) if classify(&parts, &body, None) == Service::S3 => None,
        Err(e) => {
            let rid = new_request_id();
            let (code, status) = e.query_code();
            return AwsError::sender(status, code, e.to_string()).into_response(
                format,
                sts::NAMESPACE,
                &rid,
            );
        }
    };
    let service = classify(&parts, &body, auth.as_ref().map(|a| a.service.as_str()));
    let http = HttpParts {
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        headers: parts.headers.clone(),
        body: body.clone(),
    };

    // Admin calls accept any credentials (like LocalStack), but credentials STS issued are
    // always verified, as the service the request is served as would: a workload's
    // expired, forged or replayed request must fail as it would on AWS. (STS checks its
    // own calls.)
    let issued_check = |as_service: SignedService| match &auth {
        Some(auth) => emulator.sts().verify_issued(&http, auth, as_service),
        None => Ok(()),
    };

    let (label, response) = match service {
        Service::Sts(req) => ("sts", emulator.sts().handle(&req, &http).await),
        Service::Iam(req) => {
            let rid = new_request_id();
            let checked = issued_check(SignedService::Iam).map_err(AwsError::from);
            let response =
                match checked.and_then(|()| iam::handle_query(emulator.iam(), &req, &rid)) {
                    Ok(xml) => xml_response(xml, &rid),
                    Err(e) => e.into_response(format, iam::NAMESPACE, &rid),
                };
            ("iam", response)
        }
        Service::BadQuery {
            sts: is_sts,
            message,
        } => {
            let rid = new_request_id();
            let ns = if is_sts {
                sts::NAMESPACE
            } else {
                iam::NAMESPACE
            };
            let err = AwsError::sender(StatusCode::BAD_REQUEST, "MalformedQueryString", message);
            (
                if is_sts { "sts" } else { "iam" },
                err.into_response(format, ns, &rid),
            )
        }
        Service::S3 => {
            let response = match issued_check(SignedService::S3) {
                Ok(()) => {
                    let request = Request::from_parts(parts, Body::from(body));
                    match routers.s3.oneshot(request).await {
                        Ok(response) => response,
                        Err(infallible) => match infallible {},
                    }
                }
                Err(e) => {
                    let (presigned, amz_date) = auth
                        .as_ref()
                        .map_or((false, ""), |a| (a.presigned, a.amz_date.as_str()));
                    s3::issued_refusal(&e, presigned, amz_date)
                }
            };
            ("s3", response)
        }
        Service::CloudFront => {
            let response = match issued_check(SignedService::CloudFront) {
                Ok(()) => {
                    let request = Request::from_parts(parts, Body::from(body));
                    match routers.cloudfront.oneshot(request).await {
                        Ok(response) => response,
                        Err(infallible) => match infallible {},
                    }
                }
                Err(e) => AwsError::from(e).into_response(
                    Format::Xml,
                    crate::cloudfront::NAMESPACE,
                    &new_request_id(),
                ),
            };
            ("cloudfront", response)
        }
        Service::Edge => ("edge", edge_response(&emulator, &parts)),
    };

    tracing::info!(
        target: "irsa_emulator::request",
        service = label,
        %method,
        path,
        query = query.as_deref().unwrap_or(""),
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
    );
    response
}
