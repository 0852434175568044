//! Presigned URLs: how long they live, and the session token a request carries.

use http::{HeaderMap, Uri};
use time::{Duration, OffsetDateTime};

use super::refusal::Refusal;
use super::{MAX_SKEW_SECONDS, SigV4Auth, parse};

/// The longest `X-Amz-Expires` S3 accepts: a week.
pub const MAX_EXPIRES_SECONDS: i64 = 7 * 24 * 3600;

/// A presigned S3 URL is valid from 15 minutes before its `X-Amz-Date` until
/// `X-Amz-Expires` seconds after it.
pub(super) fn check_expiry(
    auth: &SigV4Auth,
    signed_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let raw = auth
        .expires
        .as_deref()
        .ok_or(Refusal::PresignedExpiresMissing)?;
    let seconds: i64 = raw
        .parse()
        .map_err(|_| Refusal::PresignedExpiresInvalid("X-Amz-Expires should be a number"))?;
    if seconds < 0 {
        return Err(Refusal::PresignedExpiresInvalid(
            "X-Amz-Expires must be non-negative",
        ));
    }
    if seconds > MAX_EXPIRES_SECONDS {
        return Err(Refusal::PresignedExpiresInvalid(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
        ));
    }
    if signed_at > now + Duration::seconds(MAX_SKEW_SECONDS) {
        return Err(Refusal::PresignedNotYetValid);
    }
    // Bounded above (a week after a parsed date), but checked anyway: both come from the
    // request.
    let expires_at = signed_at.checked_add(Duration::seconds(seconds)).ok_or(
        Refusal::PresignedExpiresInvalid("X-Amz-Expires should be a number"),
    )?;
    if now > expires_at {
        return Err(Refusal::PresignedExpired {
            expires: seconds,
            expires_at,
            now,
        });
    }
    Ok(())
}

/// The session token a request carries: the `x-amz-security-token` header, else the
/// presigned query's `X-Amz-Security-Token`, percent-decoded (boto3 encodes its `+`, `/`
/// and `=`).
pub fn session_token(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if let Some(value) = headers.get("x-amz-security-token") {
        return Some(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    parse::query_params(uri.query()?)
        .find(|(k, _)| k == "X-Amz-Security-Token")
        .map(|(_, v)| v)
}
