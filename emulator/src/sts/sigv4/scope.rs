//! When and where a signature is valid: its `X-Amz-Date` within 15 minutes of now (or a
//! presigned URL's `X-Amz-Expires`), `host` among the signed headers, and a credential
//! scope naming the request's date, a valid region and the right service.

use http::HeaderMap;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use super::refusal::{Refusal, ScopeProblem};
use super::{MAX_SKEW_SECONDS, SigV4Auth, SignedService, presigned};

const AMZ_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// Formats `t` as `X-Amz-Date` does (`20240101T000000Z`).
pub(super) fn amz_date(t: OffsetDateTime) -> String {
    t.format(AMZ_DATE).unwrap_or_default()
}

/// The request's `X-Amz-Date`.
pub(super) fn request_time(auth: &SigV4Auth) -> Result<OffsetDateTime, Refusal> {
    if auth.amz_date.is_empty() {
        return Err(Refusal::MissingDate {
            presigned: auth.presigned,
        });
    }
    PrimitiveDateTime::parse(&auth.amz_date, AMZ_DATE)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| Refusal::MalformedDate(auth.amz_date.clone()))
}

/// Header-signed requests (and presigned STS/IAM calls, whose `X-Amz-Expires` STS
/// ignores) must be signed within 15 minutes of now, either way; presigned S3 URLs live
/// for their `X-Amz-Expires`.
pub(super) fn check_window(
    auth: &SigV4Auth,
    signed_at: OffsetDateTime,
    service: SignedService,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    if auth.presigned && service == SignedService::S3 {
        return presigned::check_expiry(auth, signed_at, now);
    }
    let skew = Duration::seconds(MAX_SKEW_SECONDS);
    if signed_at < now - skew {
        return Err(Refusal::Expired {
            request: signed_at,
            now,
        });
    }
    if signed_at > now + skew {
        return Err(Refusal::NotYetCurrent {
            request: signed_at,
            now,
        });
    }
    Ok(())
}

pub(super) fn check_host_signed(auth: &SigV4Auth) -> Result<(), Refusal> {
    if auth
        .signed_headers
        .iter()
        .any(|h| h == "host" || h == ":authority")
    {
        Ok(())
    } else {
        Err(Refusal::HostNotSigned)
    }
}

/// The service and region an AWS hostname names (`sts.eu-west-1.amazonaws.com`,
/// `iam.amazonaws.com`, `bucket.s3.us-east-2.amazonaws.com`); `None` for local names.
fn aws_host(headers: &HeaderMap) -> Option<(&'static str, Option<String>)> {
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let name = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let labels: Vec<&str> = name.split('.').collect();
    match labels.as_slice() {
        ["sts"] => Some(("sts", Some("us-east-1".to_owned()))),
        ["sts", region] => Some(("sts", Some((*region).to_owned()))),
        ["iam"] => Some(("iam", Some("us-east-1".to_owned()))),
        labels if labels.iter().any(|l| *l == "s3" || l.starts_with("s3-")) => Some(("s3", None)),
        _ => None,
    }
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`: letters, dashes, a number.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let letters = |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [first, middle @ .., last] if !middle.is_empty() => {
            (2..=4).contains(&first.len())
                && letters(first)
                && middle.iter().all(letters)
                && (1..=2).contains(&last.len())
                && last.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// Every scope problem at once, as AWS lists them in one message.
pub(super) fn check_scope(
    auth: &SigV4Auth,
    headers: &HeaderMap,
    service: SignedService,
) -> Result<(), Refusal> {
    let (expected_service, expected_region) = match aws_host(headers) {
        Some((name, region)) => (name, region),
        None => (service.name(), None),
    };
    let mut problems = Vec::new();
    let region_ok = match &expected_region {
        Some(expected) => &auth.region == expected,
        None => is_region(&auth.region),
    };
    if !region_ok {
        problems.push(ScopeProblem::Region {
            got: auth.region.clone(),
            expected: expected_region,
        });
    }
    if auth.service != expected_service {
        problems.push(ScopeProblem::Service {
            got: auth.service.clone(),
            expected: expected_service,
        });
    }
    if auth.terminator != "aws4_request" {
        problems.push(ScopeProblem::Terminator(auth.terminator.clone()));
    }
    if auth.amz_date.get(..8) != Some(auth.date.as_str()) {
        problems.push(ScopeProblem::Date {
            scope: auth.date.clone(),
            amz_date: auth.amz_date.clone(),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Scope(problems))
    }
}
