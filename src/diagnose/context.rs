//! What the checks share: the inputs and the values derived from them once (the moment
//! of the failure, the role ARN the SDK used, the provider STS matches, the hosting).

use std::sync::LazyLock;

use irsa_emulator::iam::parse_role_arn;
use regex::Regex;
use serde_json::Value;

use super::inputs::{Inputs, Provider};

/// AWS's ExpiredTokenException text carries the time STS saw.
static EXPIRED_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"current date/time (\d+) must be before the expiration date/time (-?\d+)")
        .expect("valid regex")
});

/// The inputs and what is derived from them.
#[derive(Debug)]
pub struct Context<'a> {
    pub inputs: &'a Inputs,
    /// When the failure happened (Unix seconds), and where that came from.
    pub at: i64,
    pub at_source: String,
    /// True when nothing said when the failure happened and `now` stands in for it.
    pub at_is_now: bool,
    /// The role ARN the SDK asked for, and where it came from.
    pub role_arn: Option<(String, String)>,
    /// The issuer or its JWKS is served by a CDN.
    pub cdn: bool,
    /// The issuer is an S3 bucket URL.
    pub s3: bool,
}

impl<'a> Context<'a> {
    pub fn new(inputs: &'a Inputs, now: i64) -> Self {
        let (at, at_source) = match inputs.at {
            Some(at) => (at, "the time of the error".to_owned()),
            None => match inputs
                .error
                .as_deref()
                .and_then(|e| EXPIRED_AT.captures(e))
                .and_then(|c| c[1].parse().ok())
            {
                Some(at) => (at, "the error's current date/time".to_owned()),
                None => (now, "now".to_owned()),
            },
        };
        let when = time::OffsetDateTime::from_unix_timestamp(at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| at.to_string());
        let mut cx = Self {
            inputs,
            at,
            at_is_now: at_source == "now",
            at_source: format!("{at_source}, {when}"),
            role_arn: role_arn(inputs),
            cdn: false,
            s3: false,
        };
        let iss_host = cx.iss().and_then(host_of);
        let jwks_host = cx.discovery_str("jwks_uri").and_then(|u| host_of(&u));
        cx.cdn = [&iss_host, &jwks_host]
            .into_iter()
            .flatten()
            .any(|h| is_cdn_host(h));
        cx.s3 = iss_host.as_deref().is_some_and(is_s3_host);
        cx
    }

    /// The token's `iss`, when it is a string.
    pub fn iss(&self) -> Option<&str> {
        self.inputs.token.claim_str("iss")
    }

    /// The provider pasted, when IAM found it.
    pub fn provider(&self) -> Option<&Provider> {
        self.inputs.provider.as_ref()?.found.as_ref()
    }

    /// The pasted provider's URL, `https://` included.
    pub fn provider_url(&self) -> Option<String> {
        self.provider().map(|p| format!("https://{}", p.url))
    }

    /// The account STS looks for providers in: the role's.
    pub fn account(&self) -> Option<String> {
        let arn = self
            .role_arn
            .as_ref()
            .map(|(a, _)| a.clone())
            .or_else(|| self.inputs.role.as_ref().map(|r| r.arn.clone()))?;
        parse_role_arn(&arn).map(|r| r.account)
    }

    /// The ARN of the provider for `iss` in the role's account.
    pub fn provider_arn_for(&self, iss: &str) -> Option<String> {
        Some(format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            self.account()?,
            iss.strip_prefix("https://").unwrap_or(iss)
        ))
    }

    /// The ARN of the provider STS matches (the one for the token's `iss`).
    pub fn provider_arn(&self) -> Option<String> {
        self.provider_arn_for(self.iss()?)
    }

    /// A string field of the discovery document.
    pub fn discovery_str(&self, field: &str) -> Option<String> {
        self.inputs
            .discovery
            .as_ref()?
            .1
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Whether the error text contains `needle` (case-insensitive).
    pub fn error_mentions(&self, needle: &str) -> bool {
        self.inputs.error.as_deref().is_some_and(|e| {
            e.to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase())
        })
    }
}

/// Where a role ARN given explicitly (`--role-arn`, `role-arn.txt`) is said to come from.
pub const GIVEN_ROLE_ARN: &str = "the role ARN given (--role-arn, role-arn.txt)";

/// The role ARN the SDK used: `--role-arn`, else the pod's `AWS_ROLE_ARN`, else the
/// ServiceAccount's annotation, else the pasted role's.
fn role_arn(inputs: &Inputs) -> Option<(String, String)> {
    if let Some(arn) = &inputs.role_arn {
        return Some((arn.clone(), GIVEN_ROLE_ARN.into()));
    }
    let from_pod = inputs.pod.as_ref().and_then(|pod| {
        pod["spec"]["containers"]
            .as_array()?
            .iter()
            .flat_map(|c| c["env"].as_array().into_iter().flatten())
            .find(|e| e["name"] == "AWS_ROLE_ARN")
            .and_then(|e| e["value"].as_str().map(str::to_owned))
    });
    if let Some(arn) = from_pod {
        return Some((arn, "the pod's AWS_ROLE_ARN".into()));
    }
    let from_sa = inputs.service_account.as_ref().and_then(|sa| {
        sa["metadata"]["annotations"]
            .as_object()?
            .iter()
            .find(|(k, _)| k.ends_with("/role-arn"))
            .and_then(|(_, v)| v.as_str().map(str::to_owned))
    });
    if let Some(arn) = from_sa {
        return Some((arn, "the ServiceAccount's role-arn annotation".into()));
    }
    inputs
        .role
        .as_ref()
        .map(|r| (r.arn.clone(), "the role you pasted".into()))
}

/// The lower-cased host of an URL.
pub fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// S3 endpoints (path- or virtual-hosted-style): their certificates chain to a CA AWS trusts.
pub fn is_s3_host(host: &str) -> bool {
    host.ends_with(".amazonaws.com") && (host.starts_with("s3") || host.contains(".s3"))
}

/// CloudFront and the usual CDNs: they cache what they serve.
pub fn is_cdn_host(host: &str) -> bool {
    [
        ".cloudfront.net",
        ".azureedge.net",
        ".fastly.net",
        ".akamaized.net",
        ".edgekey.net",
    ]
    .iter()
    .any(|suffix| host.ends_with(suffix))
}

/// A URL only reachable inside the cluster's network: a port (6443), a private or loopback
/// address, a cluster-internal name.
pub fn looks_like_apiserver(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    if parsed.port().is_some() {
        return true;
    }
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_private() || ip.is_loopback() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => {
            !host.contains('.')
                || [".svc", ".local", ".internal", ".cluster.local", ".lan"]
                    .iter()
                    .any(|s| host.ends_with(s))
                || host.starts_with("kubernetes.default")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apiserver_addresses_are_told_from_public_hosts() {
        for inside in [
            "https://10.20.0.5:6443/openid/v1/jwks",
            "https://192.168.1.10/openid/v1/jwks",
            "https://kubernetes.default.svc/openid/v1/jwks",
            "https://master/openid/v1/jwks",
            "https://[::1]/keys.json",
            "https://k8s.example.com:6443/openid/v1/jwks",
        ] {
            assert!(looks_like_apiserver(inside), "{inside}");
        }
        for public in [
            "https://s3.us-east-1.amazonaws.com/oidc-test/keys.json",
            "https://d111111abcdef8.cloudfront.net/keys.json",
            "https://k8s.example.com/openid/v1/jwks",
            "https://8.8.8.8/keys.json",
        ] {
            assert!(!looks_like_apiserver(public), "{public}");
        }
    }

    #[test]
    fn hosts_are_classified() {
        assert!(is_s3_host("s3.us-west-2.amazonaws.com"));
        assert!(is_s3_host("oidc-test.s3.us-east-1.amazonaws.com"));
        assert!(!is_s3_host("sts.amazonaws.com"));
        assert!(is_cdn_host("d111111abcdef8.cloudfront.net"));
        assert!(!is_cdn_host("cloudfront.net.example.com"));
    }
}
