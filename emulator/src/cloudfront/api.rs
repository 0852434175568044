//! CloudFront's REST-XML API, version 2020-05-31: the calls the OpenUnison guide's
//! `aws cloudfront` commands make, plus the ones that need If-Match.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::config::{DistributionSettings, OacSettings};
use super::errors::CloudFrontError;
use super::store::CloudFront;
use crate::query::new_request_id;
use crate::xml_tree::Element;

const API: &str = "https://cloudfront.amazonaws.com/2020-05-31";

/// The API over `cloudfront`.
pub fn router(cloudfront: CloudFront) -> Router {
    Router::new()
        .route("/2020-05-31/origin-access-control", post(create_oac))
        .route("/2020-05-31/origin-access-control/{id}", get(get_oac))
        .route("/2020-05-31/distribution", post(create_distribution))
        .route(
            "/2020-05-31/distribution/{id}",
            get(get_distribution).delete(delete_distribution),
        )
        .route(
            "/2020-05-31/distribution/{id}/config",
            get(get_distribution_config).put(update_distribution),
        )
        .route(
            "/2020-05-31/distribution/{id}/invalidation",
            post(create_invalidation),
        )
        .route(
            "/2020-05-31/distribution/{id}/invalidation/{invalidation}",
            get(get_invalidation),
        )
        .fallback(|| async { CloudFrontError::NotImplemented.into_response() })
        .with_state(cloudfront)
}

fn xml(status: StatusCode, body: String, etag: Option<&str>, location: Option<String>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(&new_request_id()) {
        headers.insert("x-amz-request-id", v);
    }
    if let Some(v) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert(header::ETAG, v);
    }
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, v);
    }
    response
}

fn body_element(body: &[u8]) -> Result<Element, CloudFrontError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(CloudFrontError::MissingBody);
    }
    Element::parse(body).map_err(|_| CloudFrontError::MalformedInput)
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

fn answer(result: Result<Response, CloudFrontError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn create_oac(State(cf): State<CloudFront>, body: Bytes) -> Response {
    answer((|| {
        let settings = OacSettings::parse(body_element(&body)?)?;
        let (id, etag, xml_body) = cf.create_oac(settings)?;
        Ok(xml(
            StatusCode::CREATED,
            xml_body,
            Some(&etag),
            Some(format!("{API}/origin-access-control/{id}")),
        ))
    })())
}

async fn get_oac(State(cf): State<CloudFront>, Path(id): Path<String>) -> Response {
    answer(
        cf.get_oac(&id)
            .map(|(etag, body)| xml(StatusCode::OK, body, Some(&etag), None)),
    )
}

async fn create_distribution(State(cf): State<CloudFront>, body: Bytes) -> Response {
    answer((|| {
        let settings = DistributionSettings::parse(body_element(&body)?)?;
        let (id, etag, xml_body) = cf.create_distribution(settings)?;
        Ok(xml(
            StatusCode::CREATED,
            xml_body,
            Some(&etag),
            Some(format!("{API}/distribution/{id}")),
        ))
    })())
}

async fn get_distribution(State(cf): State<CloudFront>, Path(id): Path<String>) -> Response {
    answer(
        cf.get_distribution(&id)
            .map(|(etag, body)| xml(StatusCode::OK, body, Some(&etag), None)),
    )
}

async fn get_distribution_config(State(cf): State<CloudFront>, Path(id): Path<String>) -> Response {
    answer(
        cf.get_distribution_config(&id)
            .map(|(etag, body)| xml(StatusCode::OK, body, Some(&etag), None)),
    )
}

async fn update_distribution(
    State(cf): State<CloudFront>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer((|| {
        let settings = DistributionSettings::parse(body_element(&body)?)?;
        let (etag, xml_body) = cf.update_distribution(&id, if_match(&headers), settings)?;
        Ok(xml(StatusCode::OK, xml_body, Some(&etag), None))
    })())
}

async fn delete_distribution(
    State(cf): State<CloudFront>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(
        cf.delete_distribution(&id, if_match(&headers))
            .map(|()| StatusCode::NO_CONTENT.into_response()),
    )
}

async fn create_invalidation(
    State(cf): State<CloudFront>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    answer((|| {
        let root = body_element(&body)?;
        if root.name != "InvalidationBatch" {
            return Err(CloudFrontError::MalformedInput);
        }
        let paths = root.child("Paths").ok_or_else(|| {
            CloudFrontError::InvalidArgument("The parameter Paths is required.".into())
        })?;
        let items: Vec<String> = paths
            .child("Items")
            .map(|items| {
                items
                    .children_named("Path")
                    .map(|p| p.text.trim().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let quantity: usize = paths
            .text_of("Quantity")
            .and_then(|q| q.parse().ok())
            .ok_or_else(|| {
                CloudFrontError::InvalidArgument("The parameter Quantity is required.".into())
            })?;
        if quantity != items.len() {
            return Err(CloudFrontError::InconsistentQuantities);
        }
        let caller_reference = root
            .text_of("CallerReference")
            .ok_or_else(|| {
                CloudFrontError::InvalidArgument(
                    "The parameter CallerReference is required.".into(),
                )
            })?
            .to_owned();
        let (invalidation, xml_body) = cf.create_invalidation(&id, items, caller_reference)?;
        Ok(xml(
            StatusCode::CREATED,
            xml_body,
            None,
            Some(format!(
                "{API}/distribution/{id}/invalidation/{invalidation}"
            )),
        ))
    })())
}

async fn get_invalidation(
    State(cf): State<CloudFront>,
    Path((id, invalidation)): Path<(String, String)>,
) -> Response {
    answer(
        cf.get_invalidation(&id, &invalidation)
            .map(|body| xml(StatusCode::OK, body, None, None)),
    )
}
