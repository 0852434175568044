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
use crate::sts::{self, HttpParts};
use crate::{iam, s3};

/// Larger than any STS/IAM call and the S3 objects an issuer needs; bigger bodies get 413.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

pub(super) fn router(emulator: Emulator) -> Router {
    let s3 = s3::router(emulator.s3().clone());
    Router::new().fallback(handle).with_state((emulator, s3))
}

async fn handle(State((emulator, s3)): State<(Emulator, Router)>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(redact_query);
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {MAX_BODY_BYTES} bytes"),
            )
                .into_response();
        }
    };
    let format = Format::from_headers(&parts.headers);

    let auth = match sts::sigv4::parse_authorization(&parts.headers, parts.uri.query()) {
        Ok(auth) => auth,
        Err(e) => {
            let rid = new_request_id();
            return AwsError::sender(
                StatusCode::BAD_REQUEST,
                "IncompleteSignature",
                e.to_string(),
            )
            .into_response(format, sts::NAMESPACE, &rid);
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
    // always verified: a workload's expired or forged session must fail as it would on AWS.
    let issued_check = match &auth {
        Some(auth) => emulator.sts().verify_issued(&http, auth),
        None => Ok(()),
    };

    let (label, response) = match service {
        Service::Sts(req) => ("sts", emulator.sts().handle(&req, &http).await),
        Service::Iam(req) => {
            let rid = new_request_id();
            let response =
                match issued_check.and_then(|()| iam::handle_query(emulator.iam(), &req, &rid)) {
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
            let response = match issued_check {
                Ok(()) => {
                    let request = Request::from_parts(parts, Body::from(body));
                    match s3.oneshot(request).await {
                        Ok(response) => response,
                        Err(infallible) => match infallible {},
                    }
                }
                Err(e) => s3::error_response(&e),
            };
            ("s3", response)
        }
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
