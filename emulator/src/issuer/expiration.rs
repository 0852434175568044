//! kube-apiserver's "extended expiration" rule for pod-bound tokens
//! (`--service-account-extend-token-expiration`, default on).

/// The requested lifetime that triggers the extension: the kubelet asks for exactly this
/// when it wants a long-lived token that only *warns* after the normal hour (plus 7 s).
pub const WARN_ONLY_EXPIRATION_SECONDS: i64 = 3607;

/// The lifetime given instead: one year.
pub const EXPIRATION_EXTENSION_SECONDS: i64 = 365 * 24 * 60 * 60;

/// The lifetime to put in a token and the `warnafter` to add, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedExpiration {
    pub expiration_seconds: i64,
    /// Absolute time (seconds since the epoch) for the `kubernetes.io.warnafter` claim.
    pub warn_after: Option<i64>,
}

/// Applies the rule: only when extension is enabled, the token is bound to a pod, exactly
/// 3607 s were requested **and** every requested audience is one of the apiserver's own
/// api-audiences does `exp` become a year and `warnafter` `issued_at + 3607`. IRSA tokens
/// (audience `sts.amazonaws.com`) are therefore never extended in practice.
pub fn extend_expiration(
    requested_seconds: i64,
    issued_at: i64,
    extend_enabled: bool,
    pod_bound: bool,
    audiences: &[String],
    api_audiences: &[String],
) -> ExtendedExpiration {
    let all_kube = audiences.iter().all(|a| api_audiences.contains(a));
    if extend_enabled && pod_bound && requested_seconds == WARN_ONLY_EXPIRATION_SECONDS && all_kube
    {
        ExtendedExpiration {
            expiration_seconds: EXPIRATION_EXTENSION_SECONDS,
            warn_after: Some(issued_at + WARN_ONLY_EXPIRATION_SECONDS),
        }
    } else {
        ExtendedExpiration {
            expiration_seconds: requested_seconds,
            warn_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auds(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn extends_only_kube_audience_pod_tokens_of_3607_seconds() {
        let api = auds(&["https://kubernetes.default.svc"]);
        let got = extend_expiration(3607, 1000, true, true, &api, &api);
        assert_eq!(got.expiration_seconds, EXPIRATION_EXTENSION_SECONDS);
        assert_eq!(got.warn_after, Some(1000 + 3607));
    }

    #[test]
    fn irsa_tokens_and_other_requests_are_left_alone() {
        let api = auds(&["https://kubernetes.default.svc"]);
        let sts = auds(&["sts.amazonaws.com"]);
        let cases = [
            extend_expiration(3607, 0, true, true, &sts, &api),
            extend_expiration(3600, 0, true, true, &api, &api),
            extend_expiration(3607, 0, false, true, &api, &api),
            extend_expiration(3607, 0, true, false, &api, &api),
        ];
        for (i, got) in cases.iter().enumerate() {
            assert_eq!(got.warn_after, None, "case {i}");
            assert_ne!(
                got.expiration_seconds, EXPIRATION_EXTENSION_SECONDS,
                "case {i}"
            );
        }
    }
}
