//! The error texts customers report (`shared/specs/customer-failures.md`), each mapped to
//! its possible causes; each cause is confirmed, ruled out, or left possible by the
//! checks.

use serde::Serialize;

use super::check::{Checks, Status};
use super::context::{Context, host_of, is_cdn_host, is_s3_host};

/// A known error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownError {
    /// Stable id (`key-retrieval`).
    pub id: &'static str,
    /// The code the caller sees (AWS's, the SDK's or Kubernetes').
    pub code: &'static str,
    /// Any of these (case-insensitive) in the text identifies it.
    pub needles: &'static [&'static str],
}

/// Every known error, in the order the chain reports them: what STS answers first, then
/// what the SDK and the kubelet say, then the apiserver and S3. The first one found in the
/// customer's text is "the" error (the one a replay must end with).
pub const KNOWN_ERRORS: &[KnownError] = &[
    KnownError {
        id: "key-retrieval",
        code: "InvalidIdentityToken",
        needles: &["Couldn't retrieve verification key"],
    },
    KnownError {
        id: "no-provider",
        code: "InvalidIdentityToken",
        needles: &["No OpenIDConnect provider found"],
    },
    KnownError {
        id: "incorrect-audience",
        code: "InvalidIdentityToken",
        needles: &["Incorrect token audience"],
    },
    KnownError {
        id: "thumbprint",
        code: "InvalidIdentityToken",
        needles: &["doesn't match configured thumbprint"],
    },
    KnownError {
        id: "not-a-jwt",
        code: "InvalidIdentityToken",
        needles: &["is not a valid JWT"],
    },
    KnownError {
        id: "missing-claim",
        code: "InvalidIdentityToken",
        needles: &["Missing a required claim"],
    },
    KnownError {
        id: "unverifiable",
        code: "InvalidIdentityToken",
        needles: &["could not be validated by Amazon Web Services"],
    },
    KnownError {
        id: "expired-token",
        code: "ExpiredTokenException",
        needles: &["Token expired: current date/time"],
    },
    KnownError {
        id: "access-denied",
        code: "AccessDenied",
        needles: &["Not authorized to perform sts:AssumeRoleWithWebIdentity"],
    },
    KnownError {
        id: "duration",
        code: "ValidationError",
        needles: &["exceeds the MaxSessionDuration"],
    },
    KnownError {
        id: "expired-credentials",
        code: "ExpiredToken",
        needles: &["The security token included in the request is expired"],
    },
    KnownError {
        id: "no-credentials",
        code: "NoCredentialProviders",
        needles: &[
            "Unable to locate credentials",
            "NoCredentialProviders",
            "no valid credential sources",
            "Could not load credentials from any providers",
        ],
    },
    KnownError {
        id: "permission-denied",
        code: "PermissionDenied",
        needles: &["permission denied"],
    },
    KnownError {
        id: "missing-region",
        code: "MissingRegion",
        needles: &["Missing Region", "Unable to find a region"],
    },
    KnownError {
        id: "java-sts-module",
        code: "SdkClientException",
        needles: &["'sts' service module must be on the class path"],
    },
    KnownError {
        id: "throttling",
        code: "Throttling",
        needles: &["Rate exceeded", "ThrottlingException"],
    },
    KnownError {
        id: "webhook-refused",
        code: "InternalError",
        needles: &["connect: connection refused"],
    },
    KnownError {
        id: "webhook-x509",
        code: "InternalError",
        needles: &["x509: certificate signed by unknown authority"],
    },
    KnownError {
        id: "webhook-not-found",
        code: "NotFound",
        needles: &[
            "mutatingwebhookconfigurations.admissionregistration.k8s.io \"pod-identity-webhook\" not found",
        ],
    },
    KnownError {
        id: "admission-review-version",
        code: "InternalError",
        needles: &["expected webhook response of admission.k8s.io/v1"],
    },
    KnownError {
        id: "token-too-short",
        code: "Invalid",
        needles: &["may not specify a duration less than 10 minutes"],
    },
    KnownError {
        id: "acl-not-supported",
        code: "AccessControlListNotSupported",
        needles: &[
            "The bucket does not allow ACLs",
            "AccessControlListNotSupported",
        ],
    },
];

/// The known errors in `text`, in [`KNOWN_ERRORS`] order.
pub fn classify(text: &str) -> Vec<KnownError> {
    let lower = text.to_ascii_lowercase();
    KNOWN_ERRORS
        .iter()
        .filter(|e| {
            e.needles
                .iter()
                .any(|n| lower.contains(&n.to_ascii_lowercase()))
        })
        .copied()
        .collect()
}

pub fn known(id: &str) -> Option<KnownError> {
    KNOWN_ERRORS.iter().find(|e| e.id == id).copied()
}

/// What the inputs say about one cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    Confirmed,
    Possible,
    RuledOut,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Confirmed => "CONFIRMED",
            Verdict::Possible => "POSSIBLE",
            Verdict::RuledOut => "RULED OUT",
        }
    }
}

/// One possible cause of an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// Stable id (`rotation-kid-not-published`): the test corpus names causes by it.
    pub id: &'static str,
    pub title: &'static str,
    pub verdict: Verdict,
    /// What in the inputs confirms it or rules it out.
    pub because: String,
    pub fix: &'static str,
}

struct Rule {
    id: &'static str,
    title: &'static str,
    fix: &'static str,
    judge: fn(&Context, &Checks) -> (Verdict, String),
}

/// A check's status as a verdict: fail confirms, pass (or warn) rules out, unknown leaves
/// it possible.
fn by_check(checks: &Checks, id: &str) -> (Verdict, String) {
    let reason = checks.reason(id);
    match checks.status(id) {
        Status::Fail => (Verdict::Confirmed, reason),
        Status::Pass | Status::Warn => (Verdict::RuledOut, reason),
        Status::Unknown => (Verdict::Possible, reason),
    }
}

fn token_kid_empty(cx: &Context) -> bool {
    cx.inputs.token.kid().is_none_or(str::is_empty)
}

fn rules(error: &str) -> Vec<Rule> {
    match error {
        "key-retrieval" => vec![
            Rule {
                id: "empty-kid",
                title: "a token without kid (apiserver before 1.16) and no JWK with \"kid\": \"\" (failure class 1)",
                fix: "publish the key a second time with \"kid\": \"\" (irsa-lab keys jwks --with-empty-kid)",
                judge: |cx, checks| {
                    if !token_kid_empty(cx) {
                        return (
                            Verdict::RuledOut,
                            format!(
                                "the token has kid {:?}",
                                cx.inputs.token.kid().unwrap_or_default()
                            ),
                        );
                    }
                    by_check(checks, "sts.kid")
                },
            },
            Rule {
                id: "jwk-without-kid",
                title: "the JWKS keys have no kid member (the old Go helper's output)",
                fix: "regenerate keys.json with the kid (irsa-lab keys jwks)",
                judge: |cx, checks| match &cx.inputs.jwks {
                    None => (Verdict::Possible, "no JWKS given".into()),
                    Some((_, set))
                        if !token_kid_empty(cx)
                            && !set.keys.is_empty()
                            && set.keys.iter().all(|k| k.kid.is_none()) =>
                    {
                        (Verdict::Confirmed, checks.reason("sts.kid"))
                    }
                    Some(_) => (Verdict::RuledOut, "the JWKS keys have kid members".into()),
                },
            },
            Rule {
                id: "cdn-stale-jwks",
                title: "a CDN in front of the bucket serves an old JWKS until invalidated (failure class 6)",
                fix: "aws cloudfront create-invalidation --distribution-id ID --paths \"/*\" after every publish",
                judge: |cx, checks| {
                    if !cx.cdn {
                        return (
                            Verdict::RuledOut,
                            "no CDN serves the issuer's documents".into(),
                        );
                    }
                    match checks.status("sts.kid") {
                        Status::Fail if !token_kid_empty(cx) => (Verdict::Confirmed, format!("served through a CDN, and {}", checks.reason("sts.kid"))),
                        Status::Pass => (Verdict::Possible, "the JWKS you pasted lists the kid, but STS reads it through the CDN, which may serve an older copy".into()),
                        _ => (Verdict::Possible, "served through a CDN".into()),
                    }
                },
            },
            Rule {
                id: "rotation-kid-not-published",
                title: "rotation gone wrong: the token's kid is not in the JWKS (failure class 5)",
                fix: "publish a JWKS with every key whose tokens live (old and new) before switching the signing key; remove old keys only after their tokens expired",
                judge: |cx, checks| {
                    if token_kid_empty(cx) {
                        return (Verdict::RuledOut, "the token has no kid".into());
                    }
                    match &cx.inputs.jwks {
                        Some((_, set)) if set.keys.iter().all(|k| k.kid.is_none()) => {
                            (Verdict::RuledOut, "the JWKS has no kids at all".into())
                        }
                        _ => by_check(checks, "sts.kid"),
                    }
                },
            },
            Rule {
                id: "jwks-uri-unreachable",
                title: "jwks_uri points where STS cannot reach (the apiserver's own address; failure class 13)",
                fix: "--service-account-jwks-uri=<issuer>/openid/v1/jwks (or <issuer>/keys.json), publish the discovery document again",
                judge: |_, checks| by_check(checks, "sts.jwks-uri"),
            },
            Rule {
                id: "discovery-incomplete",
                title: "the discovery document lacks issuer or jwks_uri",
                fix: "publish the document the apiserver serves at /.well-known/openid-configuration",
                judge: |_, checks| by_check(checks, "sts.discovery"),
            },
            Rule {
                id: "documents-not-public",
                title: "the documents are not publicly readable (or the bucket is not where the URL says) (failure class 2)",
                fix: "aws s3 cp --acl public-read (or a bucket policy); check with curl -sf <issuer>/.well-known/openid-configuration from outside",
                judge: |_, _| {
                    (
                        Verdict::Possible,
                        "cannot be checked offline; everything the inputs show is consistent"
                            .into(),
                    )
                },
            },
            Rule {
                id: "bucket-refuses-acls",
                title: "the bucket refused --acl public-read (ACLs disabled or Block Public Access), so the documents stayed private (failure class 3)",
                fix: "a bucket policy granting s3:GetObject to \"*\" on the two documents (and Block Public Access allowing public policies)",
                judge: |cx, _| acl_refused(cx),
            },
            Rule {
                id: "fetch-slow-or-intermittent",
                title: "the issuer answers slowly (> 5 s) or intermittently (failure class 2, 7)",
                fix: "serve the documents from S3 or a CDN; retry in the client (the aws CLI does not)",
                judge: |_, _| (Verdict::Possible, "cannot be checked offline".into()),
            },
        ],
        "no-provider" => vec![
            Rule {
                id: "issuer-trailing-slash",
                title: "iss and the provider URL differ by a trailing slash (failure class 4)",
                fix: "the issuer without a trailing slash everywhere (apiserver flag, provider URL, discovery document)",
                judge: |cx, checks| {
                    let iss = cx.iss().unwrap_or_default();
                    match cx.provider_url() {
                        Some(url)
                            if url != iss
                                && url.trim_end_matches('/') == iss.trim_end_matches('/') =>
                        {
                            (Verdict::Confirmed, checks.reason("sts.provider"))
                        }
                        Some(_) => (
                            Verdict::RuledOut,
                            "the provider URL and iss do not differ by a slash".into(),
                        ),
                        None if iss.ends_with('/') => {
                            (Verdict::Possible, format!("iss {iss} ends with a slash"))
                        }
                        None => (Verdict::Possible, "no provider given".into()),
                    }
                },
            },
            Rule {
                id: "no-provider",
                title: "no IAM OIDC provider for the issuer (failure class 8)",
                fix: "aws iam create-open-id-connect-provider --url <iss> --client-id-list sts.amazonaws.com",
                judge: |cx, checks| match &cx.inputs.provider {
                    Some(p) if p.found.is_none() => {
                        (Verdict::Confirmed, checks.reason("sts.provider"))
                    }
                    Some(_) => {
                        let iss = cx.iss().unwrap_or_default();
                        let url = cx.provider_url().unwrap_or_default();
                        if url == iss || url.trim_end_matches('/') == iss.trim_end_matches('/') {
                            (Verdict::RuledOut, format!("a provider for {url} exists"))
                        } else {
                            (Verdict::Confirmed, checks.reason("sts.provider"))
                        }
                    }
                    None => (Verdict::Possible, "no provider given".into()),
                },
            },
            Rule {
                id: "provider-in-another-account",
                title: "the provider exists, but in another account than the role's (failure class 8)",
                fix: "create the provider in the role's account",
                judge: |cx, _| {
                    let iss = cx.iss().unwrap_or_default();
                    match cx.provider_url() {
                        Some(url) if url == iss => (
                            Verdict::Confirmed,
                            format!(
                                "a provider for {url} exists, yet STS found none in account {}",
                                cx.account().unwrap_or_default()
                            ),
                        ),
                        Some(_) => (
                            Verdict::RuledOut,
                            "the provider you pasted is for another URL".into(),
                        ),
                        None => (Verdict::Possible, "no provider given".into()),
                    }
                },
            },
        ],
        "incorrect-audience" => vec![
            Rule {
                id: "client-id-typo",
                title: "the provider's client id is sts.amazon.com, a typo of sts.amazonaws.com (failure class 9)",
                fix: "aws iam add-client-id-to-open-id-connect-provider --client-id sts.amazonaws.com",
                judge: |cx, _| match cx.provider() {
                    Some(p)
                        if p.client_ids.iter().any(|c| c == "sts.amazon.com")
                            && !p.client_ids.iter().any(|c| c == "sts.amazonaws.com") =>
                    {
                        (Verdict::Confirmed, format!("client ids {:?}", p.client_ids))
                    }
                    Some(p) => (Verdict::RuledOut, format!("client ids {:?}", p.client_ids)),
                    None => (Verdict::Possible, "no provider given".into()),
                },
            },
            Rule {
                id: "audience-not-client-id",
                title: "the token's audience (webhook --token-audience or the SA's audience annotation) is not a client id (failure class 9)",
                fix: "add the audience to the provider's client ids, or project tokens for one of them",
                judge: |_, checks| by_check(checks, "sts.audience"),
            },
        ],
        "thumbprint" => vec![Rule {
            id: "thumbprint-mismatch",
            title: "the issuer's CA is not one AWS trusts and its SHA-1 is not among the provider's thumbprints (failure class 11)",
            fix: "aws iam update-open-id-connect-provider-thumbprint with the CA's current SHA-1 (openssl s_client -showcerts | openssl x509 -fingerprint -sha1)",
            judge: |cx, _| {
                let host = cx
                    .discovery_str("jwks_uri")
                    .and_then(|u| host_of(&u))
                    .or_else(|| cx.iss().and_then(host_of))
                    .unwrap_or_default();
                if is_s3_host(&host) || is_cdn_host(&host) {
                    (
                        Verdict::Possible,
                        format!("{host} has a CA AWS trusts; AWS should not compare thumbprints"),
                    )
                } else {
                    (
                        Verdict::Confirmed,
                        format!(
                            "{host} chains to a CA of its own; the provider lists {:?}",
                            cx.provider()
                                .map(|p| p.thumbprints.clone())
                                .unwrap_or_default()
                        ),
                    )
                }
            },
        }],
        "not-a-jwt" => vec![Rule {
            id: "token-not-jwt",
            title: "what the SDK sent is not a JWT",
            fix: "send the projected token file's content unchanged",
            judge: |_, checks| by_check(checks, "sts.jwt"),
        }],
        "missing-claim" => vec![Rule {
            id: "missing-claim",
            title: "the token lacks iss, aud or sub (a legacy Secret token?)",
            fix: "use a projected serviceAccountToken",
            judge: |_, checks| {
                for id in ["sts.iss", "sts.audience", "sts.sub"] {
                    if checks.failed(id) {
                        return (Verdict::Confirmed, checks.reason(id));
                    }
                }
                (Verdict::RuledOut, "iss, aud and sub are present".into())
            },
        }],
        "unverifiable" => vec![
            Rule {
                id: "clock-ahead",
                title: "the apiserver's clock runs ahead: iat/nbf in STS's future (failure class 28)",
                fix: "synchronise the control plane's clock (NTP)",
                judge: |_, checks| by_check(checks, "sts.iat-nbf"),
            },
            Rule {
                id: "signature-invalid",
                title: "the key published under this kid did not sign the token",
                fix: "publish the public half of the signing key under its kid",
                judge: |_, checks| by_check(checks, "sts.signature"),
            },
        ],
        "expired-token" => vec![Rule {
            id: "expired-token-reused",
            title: "a token kept after the kubelet replaced it, expired beyond the 5-minute tolerance (failure class 23)",
            fix: "read the token file again on every refresh (the SDKs' web-identity providers do)",
            judge: |_, checks| by_check(checks, "sts.exp"),
        }],
        "access-denied" => vec![
            Rule {
                id: "wrong-role",
                title: "the SDK asks for another role than the one set up",
                fix: "annotate the ServiceAccount with the right role ARN",
                judge: |_, checks| by_check(checks, "sts.role-arn"),
            },
            Rule {
                id: "trust-principal-not-provider",
                title: "Principal.Federated is not the provider's ARN (e.g. without the arn:aws:iam::<acct>:oidc-provider/ prefix) (failure class 10)",
                fix: "Principal.Federated = arn:aws:iam::<account>:oidc-provider/<issuer without https://>",
                judge: |_, checks| by_check(checks, "sts.trust-principal"),
            },
            Rule {
                id: "trust-action-missing",
                title: "the trust policy does not allow sts:AssumeRoleWithWebIdentity",
                fix: "\"Action\": \"sts:AssumeRoleWithWebIdentity\"",
                judge: |_, checks| by_check(checks, "sts.trust-action"),
            },
            Rule {
                id: "trust-condition-mismatch",
                title: "the trust policy's conditions refuse this token (sub of another namespace/SA, aud, keys of another cluster) (failure class 10)",
                fix: "conditions on <issuer>:sub = system:serviceaccount:<namespace>:<name> and <issuer>:aud = sts.amazonaws.com",
                judge: |_, checks| by_check(checks, "sts.trust-conditions"),
            },
            Rule {
                id: "iam-propagation",
                title: "the role (or its trust policy) changed moments before: IAM had not reached STS yet (failure class 12)",
                fix: "retry AccessDenied for up to 2 minutes after IAM changes",
                judge: |_, checks| {
                    if checks.failed("sts.trust-conditions")
                        || checks.failed("sts.trust-principal")
                        || checks.failed("sts.trust-action")
                    {
                        return (
                            Verdict::RuledOut,
                            "the trust policy itself refuses this token".into(),
                        );
                    }
                    match checks.status("sts.propagation") {
                        Status::Warn if checks.passed("sts.trust-conditions") => (Verdict::Confirmed, format!("the trust policy admits the token, and {}", checks.reason("sts.propagation"))),
                        _ => (Verdict::Possible, "the trust policy as pasted admits the token; get-role does not show when it was last edited".into()),
                    }
                },
            },
        ],
        "duration" => vec![Rule {
            id: "duration-exceeds-max",
            title: "DurationSeconds above the role's MaxSessionDuration",
            fix: "aws iam update-role --max-session-duration, or ask for less",
            judge: |_, checks| by_check(checks, "sts.max-session"),
        }],
        "expired-credentials" => vec![Rule {
            id: "credentials-not-refreshed",
            title: "the application kept using expired temporary credentials (failure class 24)",
            fix: "let the SDK's credential provider refresh them (do not copy the credentials out)",
            judge: |_, _| {
                (
                    Verdict::Confirmed,
                    "AWS says the session credentials expired".into(),
                )
            },
        }],
        "no-credentials" => {
            vec![
                Rule {
                    id: "sa-not-annotated",
                    title: "the ServiceAccount has no role-arn annotation",
                    fix: "kubectl annotate serviceaccount NAME eks.amazonaws.com/role-arn=ARN; recreate the pod",
                    judge: |_, checks| by_check(checks, "webhook.role-annotation"),
                },
                Rule {
                    id: "webhook-tls-fails-open",
                    title: "the apiserver cannot call the webhook (x509: caBundle mismatch) and failurePolicy: Ignore lets the pod through unmutated (failure class 15)",
                    fix: "put the webhook's CA in the MutatingWebhookConfiguration's caBundle; recreate the pods",
                    judge: |cx, checks| {
                        if cx.error_mentions("x509") {
                            return (Verdict::Confirmed, "the error text shows the apiserver's x509 failure calling the webhook".into());
                        }
                        unmutated(checks)
                    },
                },
                Rule {
                    id: "webhook-not-registered",
                    title: "the MutatingWebhookConfiguration is missing, so the webhook is never called (failure class 16)",
                    fix: "re-apply the webhook's deploy manifests; recreate the pods",
                    judge: |cx, checks| {
                        if cx.error_mentions("mutatingwebhookconfigurations")
                            && cx.error_mentions("not found")
                        {
                            return (
                                Verdict::Confirmed,
                                "the error text shows the configuration is not found".into(),
                            );
                        }
                        unmutated(checks)
                    },
                },
                Rule {
                    id: "pod-created-before-annotation",
                    title: "the pod was created before the ServiceAccount was annotated",
                    fix: "recreate the pod",
                    judge: |_, checks| unmutated(checks),
                },
            ]
        }
        "permission-denied" => vec![Rule {
            id: "token-file-unreadable",
            title: "a non-root container without fsGroup cannot read the 0600 token file (before Kubernetes 1.19) (failure class 22)",
            fix: "spec.securityContext.fsGroup, or Kubernetes 1.19+",
            judge: |_, checks| by_check(checks, "webhook.token-file"),
        }],
        "missing-region" => vec![Rule {
            id: "region-not-injected",
            title: "no region in the pod: the webhook runs without --aws-default-region (failure class 20)",
            fix: "--aws-default-region=<region> on the webhook, or AWS_REGION in the pod",
            judge: |_, checks| match checks.status("webhook.region") {
                Status::Warn => (Verdict::Confirmed, checks.reason("webhook.region")),
                Status::Pass => (Verdict::RuledOut, checks.reason("webhook.region")),
                _ => (Verdict::Possible, checks.reason("webhook.region")),
            },
        }],
        "java-sts-module" => vec![Rule {
            id: "java-sts-module",
            title: "the Java v2 SDK without its sts module (failure class 26)",
            fix: "add software.amazon.awssdk:sts to the application's dependencies",
            judge: |_, _| (Verdict::Confirmed, "the SDK says so".into()),
        }],
        "throttling" => vec![Rule {
            id: "credentials-not-cached",
            title: "one STS call per request: credentials not cached (failure class 25)",
            fix: "reuse one SDK client/credential provider",
            judge: |_, _| {
                (
                    Verdict::Possible,
                    "STS throttles callers that never cache".into(),
                )
            },
        }],
        "webhook-refused" => vec![Rule {
            id: "webhook-down-fail-closed",
            title: "the webhook is down and failurePolicy: Fail refuses every pod (failure class 19)",
            fix: "bring the webhook back (or failurePolicy: Ignore while it is down)",
            judge: |_, _| {
                (
                    Verdict::Confirmed,
                    "the apiserver's call to the webhook was refused".into(),
                )
            },
        }],
        "webhook-x509" => vec![Rule {
            id: "webhook-tls",
            title: "the MutatingWebhookConfiguration's caBundle does not match the webhook's certificate (failure class 15)",
            fix: "patch the caBundle with the webhook's CA",
            judge: |_, _| {
                (
                    Verdict::Confirmed,
                    "the apiserver does not trust the webhook's certificate".into(),
                )
            },
        }],
        "webhook-not-found" => vec![Rule {
            id: "webhook-not-registered",
            title: "the MutatingWebhookConfiguration is missing (failure class 16)",
            fix: "re-apply the webhook's deploy manifests",
            judge: |_, _| (Verdict::Confirmed, "kubectl says it is not found".into()),
        }],
        "admission-review-version" => vec![Rule {
            id: "admission-review-version",
            title: "the webhook answered another AdmissionReview version than asked (failure class 17)",
            fix: "a webhook that echoes the request's apiVersion (this repository's does)",
            judge: |_, _| (Verdict::Confirmed, "the apiserver says so".into()),
        }],
        "token-too-short" => vec![Rule {
            id: "token-expiration-too-short",
            title: "a TokenRequest shorter than 10 minutes (failure class 14)",
            fix: "expirationSeconds of at least 600",
            judge: |_, _| (Verdict::Confirmed, "the apiserver says so".into()),
        }],
        "acl-not-supported" => vec![Rule {
            id: "bucket-refuses-acls",
            title: "the bucket refused --acl public-read (ACLs disabled or Block Public Access) (failure class 3)",
            fix: "a bucket policy granting s3:GetObject to \"*\" on the two documents",
            judge: |cx, _| acl_refused(cx),
        }],
        _ => Vec::new(),
    }
}

fn acl_refused(cx: &Context) -> (Verdict, String) {
    if cx.error_mentions("does not allow ACLs")
        || cx.error_mentions("AccessControlListNotSupported")
    {
        (
            Verdict::Confirmed,
            "S3 answered AccessControlListNotSupported to the --acl public-read upload".into(),
        )
    } else if cx.s3 {
        (
            Verdict::Possible,
            "an S3-hosted issuer: buckets made since April 2023 refuse ACLs".into(),
        )
    } else {
        (
            Verdict::RuledOut,
            "the issuer is not an S3 bucket URL".into(),
        )
    }
}

fn unmutated(checks: &Checks) -> (Verdict, String) {
    match checks.status("webhook.injection") {
        Status::Fail => (Verdict::Possible, checks.reason("webhook.injection")),
        Status::Pass => (Verdict::RuledOut, "the pod was mutated".into()),
        _ => (Verdict::Possible, "no pod given to tell".into()),
    }
}

/// The causes of `error`, judged by the checks.
pub fn judge(error: &str, cx: &Context, checks: &Checks) -> Vec<Cause> {
    rules(error)
        .into_iter()
        .map(|rule| {
            let (verdict, because) = (rule.judge)(cx, checks);
            Cause {
                id: rule.id,
                title: rule.title,
                verdict,
                because,
                fix: rule.fix,
            }
        })
        .collect()
}

/// Without an error text: what STS (or the SDK) would answer, from the first failing check.
pub fn predicted(checks: &Checks) -> Option<KnownError> {
    const FIRST_FAILURE: [(&str, &str); 16] = [
        ("webhook.role-annotation", "no-credentials"),
        ("webhook.injection", "no-credentials"),
        ("sts.jwt", "not-a-jwt"),
        ("sts.iss", "missing-claim"),
        ("sts.provider", "no-provider"),
        ("sts.audience", "incorrect-audience"),
        ("sts.sub", "missing-claim"),
        ("sts.discovery", "key-retrieval"),
        ("sts.jwks-uri", "key-retrieval"),
        ("sts.kid", "key-retrieval"),
        ("sts.signature", "unverifiable"),
        ("sts.exp", "expired-token"),
        ("sts.iat-nbf", "unverifiable"),
        ("sts.trust-principal", "access-denied"),
        ("sts.trust-action", "access-denied"),
        ("sts.trust-conditions", "access-denied"),
    ];
    FIRST_FAILURE
        .iter()
        .find(|(check, _)| checks.failed(check))
        .and_then(|(_, error)| known(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_are_classified_in_the_chain_s_order() {
        let ids = |text: &str| classify(text).iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(
            ids(
                "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
            ),
            ["key-retrieval"]
        );
        // The STS error after the S3 upload error: the STS one is "the" error.
        assert_eq!(
            ids(
                "upload failed: An error occurred (AccessControlListNotSupported) when calling the PutObject operation: The bucket does not allow ACLs\nIncorrect token audience"
            ),
            ["incorrect-audience", "acl-not-supported"]
        );
        assert_eq!(ids("unable to locate credentials"), ["no-credentials"]);
        assert_eq!(ids("something else entirely"), Vec::<&str>::new());
    }

    #[test]
    fn every_known_error_has_causes() {
        for error in KNOWN_ERRORS {
            assert!(!rules(error.id).is_empty(), "{}", error.id);
        }
    }
}
