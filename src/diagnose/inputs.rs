//! What a customer can paste, read and parsed: each input optional except the token.
//! Every problem with a file is an [`InputError`] naming the file and the problem.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use irsa_emulator::iam::PolicyDocument;
use irsa_emulator::issuer::JwkSet;
use irsa_emulator::jwt::{self, UnverifiedToken};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A file (or flag) that cannot be used, and why. The CLI exits 2 on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct InputError {
    /// The file as given, or the flag (`--role-arn`) for inline values.
    pub file: String,
    pub problem: String,
}

impl InputError {
    pub fn new(file: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            problem: problem.into(),
        }
    }
}

/// The files of a support bundle directory (`--bundle DIR`), by input. Each is optional
/// except the token (one of the three token names).
pub mod bundle_files {
    /// The projected token as the pod has it (a JWT).
    pub const TOKEN: &str = "token";
    /// Or only its decoded header and claims: `{"header": {...}, "claims": {...}}`.
    pub const TOKEN_JSON: &str = "token.json";
    pub const TOKEN_YAML: &str = "token.yaml";
    /// The role ARN the SDK used (`AWS_ROLE_ARN`), one line.
    pub const ROLE_ARN: &str = "role-arn.txt";
    /// `curl <issuer>/.well-known/openid-configuration`.
    pub const DISCOVERY: &str = "discovery.json";
    /// `curl <jwks_uri>`.
    pub const JWKS: &str = "jwks.json";
    /// `aws iam get-open-id-connect-provider --open-id-connect-provider-arn ...` (its JSON,
    /// or the NoSuchEntity error it printed).
    pub const PROVIDER: &str = "provider.json";
    /// `aws iam get-role --role-name ...`.
    pub const ROLE: &str = "role.json";
    /// `kubectl get pod NAME -o yaml`.
    pub const POD: &str = "pod.yaml";
    /// `kubectl get serviceaccount NAME -o yaml`.
    pub const SERVICE_ACCOUNT: &str = "serviceaccount.yaml";
    /// The webhook's command-line flags, as in its Deployment (one string).
    pub const WEBHOOK_FLAGS: &str = "webhook-flags.txt";
    /// The error text the customer saw (several lines allowed: the SDK's and kubectl's).
    pub const ERROR: &str = "error.txt";
    /// When the error happened: RFC 3339 or Unix seconds.
    pub const AT: &str = "at.txt";

    /// Every name, for `--help` and the README.
    pub const ALL: [(&str, &str); 14] = [
        (TOKEN, "the token as the pod has it (a JWT), or:"),
        (
            TOKEN_JSON,
            "its decoded header and claims: {\"header\": {..}, \"claims\": {..}}",
        ),
        (TOKEN_YAML, "the same as YAML"),
        (ROLE_ARN, "the role ARN the SDK used (AWS_ROLE_ARN)"),
        (DISCOVERY, "curl <issuer>/.well-known/openid-configuration"),
        (JWKS, "curl <jwks_uri>"),
        (
            PROVIDER,
            "aws iam get-open-id-connect-provider --open-id-connect-provider-arn ARN (or its NoSuchEntity error)",
        ),
        (ROLE, "aws iam get-role --role-name NAME"),
        (POD, "kubectl get pod NAME -o yaml"),
        (SERVICE_ACCOUNT, "kubectl get serviceaccount NAME -o yaml"),
        (WEBHOOK_FLAGS, "the webhook's flags, as in its Deployment"),
        (ERROR, "the error text they saw"),
        (AT, "when it happened (RFC 3339 or Unix seconds)"),
        (
            "expected-cause",
            "(test corpus only) the cause diagnose must pick",
        ),
    ];
}

/// Where each input comes from: paths, and the values given inline.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub token: Option<PathBuf>,
    pub role_arn: Option<String>,
    pub discovery: Option<PathBuf>,
    pub jwks: Option<PathBuf>,
    pub provider: Option<PathBuf>,
    pub role: Option<PathBuf>,
    pub pod: Option<PathBuf>,
    pub service_account: Option<PathBuf>,
    pub webhook_flags: Option<String>,
    pub error: Option<String>,
    /// When the error happened (RFC 3339 or Unix seconds).
    pub at: Option<String>,
}

impl Sources {
    /// Fills every input not given yet from the documented files of `dir`.
    pub fn with_bundle(mut self, dir: &Path) -> Result<Self, InputError> {
        use bundle_files as f;
        if !dir.is_dir() {
            return Err(InputError::new(
                dir.display().to_string(),
                "not a directory (--bundle takes a directory of the documented files)",
            ));
        }
        let file = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        let text = |name: &str| -> Result<Option<String>, InputError> {
            file(name)
                .map(|p| read_text(&p).map(|t| t.trim().to_owned()))
                .transpose()
        };
        self.token = self
            .token
            .or_else(|| file(f::TOKEN))
            .or_else(|| file(f::TOKEN_JSON))
            .or_else(|| file(f::TOKEN_YAML));
        if self.role_arn.is_none() {
            self.role_arn = text(f::ROLE_ARN)?;
        }
        self.discovery = self.discovery.or_else(|| file(f::DISCOVERY));
        self.jwks = self.jwks.or_else(|| file(f::JWKS));
        self.provider = self.provider.or_else(|| file(f::PROVIDER));
        self.role = self.role.or_else(|| file(f::ROLE));
        self.pod = self.pod.or_else(|| file(f::POD));
        self.service_account = self.service_account.or_else(|| file(f::SERVICE_ACCOUNT));
        if self.webhook_flags.is_none() {
            self.webhook_flags = text(f::WEBHOOK_FLAGS)?;
        }
        if self.error.is_none() {
            self.error = text(f::ERROR)?;
        }
        if self.at.is_none() {
            self.at = text(f::AT)?;
        }
        if self.token.is_none() {
            return Err(InputError::new(
                dir.display().to_string(),
                format!(
                    "no token in the bundle: put the JWT in `{}` (or its decoded header and claims in `{}`)",
                    f::TOKEN,
                    f::TOKEN_JSON
                ),
            ));
        }
        Ok(self)
    }

    /// Reads and parses everything given.
    pub fn load(&self) -> Result<Inputs, InputError> {
        let token_path = self.token.as_ref().ok_or_else(|| {
            InputError::new(
                "--token",
                "the token is required (a JWT file, or its decoded header and claims)",
            )
        })?;
        let token = TokenInput::load(token_path)?;
        let role_arn = self.role_arn.clone().filter(|a| !a.is_empty());
        let discovery = self
            .discovery
            .as_ref()
            .map(|p| Ok::<_, InputError>((p.clone(), read_json_object(p)?)))
            .transpose()?;
        let jwks = self
            .jwks
            .as_ref()
            .map(|p| load_jwks(p).map(|set| (p.clone(), set)))
            .transpose()?;
        let provider = self
            .provider
            .as_ref()
            .map(|p| ProviderInput::load(p))
            .transpose()?;
        let role = self.role.as_ref().map(|p| RoleInput::load(p)).transpose()?;
        let pod = self.pod.as_ref().map(|p| read_kube(p, "Pod")).transpose()?;
        let service_account = self
            .service_account
            .as_ref()
            .map(|p| read_kube(p, "ServiceAccount"))
            .transpose()?;
        let webhook_flags = self
            .webhook_flags
            .as_ref()
            .map(|f| parse_webhook_flags(f))
            .transpose()?;
        let at = self
            .at
            .as_deref()
            .map(|t| {
                parse_time(t).ok_or_else(|| {
                    InputError::new(
                        "at",
                        format!(
                            "{t:?} is neither RFC 3339 (2026-01-01T00:00:00Z) nor Unix seconds"
                        ),
                    )
                })
            })
            .transpose()?;
        Ok(Inputs {
            token,
            role_arn,
            discovery,
            jwks,
            provider,
            role,
            pod,
            service_account,
            webhook_flags,
            error: self.error.clone().filter(|e| !e.is_empty()),
            at,
        })
    }
}

/// Everything parsed. Paths are kept for messages.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub token: TokenInput,
    pub role_arn: Option<String>,
    pub discovery: Option<(PathBuf, Map<String, Value>)>,
    pub jwks: Option<(PathBuf, JwkSet)>,
    pub provider: Option<ProviderInput>,
    pub role: Option<RoleInput>,
    pub pod: Option<Value>,
    pub service_account: Option<Value>,
    /// The webhook's flags, split as a shell would.
    pub webhook_flags: Option<Vec<String>>,
    pub error: Option<String>,
    /// Unix seconds.
    pub at: Option<i64>,
}

/// The token: the JWT itself, or only its decoded header and claims (then the signature
/// cannot be checked).
#[derive(Debug, Clone)]
pub struct TokenInput {
    pub path: PathBuf,
    /// Parsed by the emulator's own JWT parser; a decoded-only token is re-encoded with an
    /// empty signature so the same claim accessors apply.
    pub token: Result<UnverifiedToken, String>,
    /// The header and claims as given, even when the JWT did not parse.
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// False when only the decoded header and claims were given.
    pub signed: bool,
}

impl TokenInput {
    fn load(path: &Path) -> Result<Self, InputError> {
        let text = read_text(path)?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(InputError::new(
                path.display().to_string(),
                "the token file is empty",
            ));
        }
        if trimmed.starts_with('{') || looks_like_yaml_mapping(trimmed) {
            let doc = parse_json_or_yaml(path, trimmed)?;
            let object = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| doc.get(*n).and_then(Value::as_object).cloned())
            };
            let (Some(header), Some(claims)) =
                (object(&["header"]), object(&["claims", "payload"]))
            else {
                return Err(InputError::new(
                    path.display().to_string(),
                    "a decoded token must be a mapping with `header` and `claims` (or `payload`) objects",
                ));
            };
            // Re-encoded with a placeholder signature ("sig") so the emulator's parser and
            // claim accessors read it exactly as STS would read the real token.
            let jwt = format!(
                "{}.{}.c2ln",
                URL_SAFE_NO_PAD.encode(Value::Object(header.clone()).to_string()),
                URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
            );
            return Ok(Self {
                path: path.to_owned(),
                token: jwt::parse(&jwt).map_err(|e| e.to_string()),
                header,
                claims,
                signed: false,
            });
        }
        if trimmed.split('.').count() != 3 || trimmed.contains(char::is_whitespace) {
            return Err(InputError::new(
                path.display().to_string(),
                format!(
                    "not a JWT: a JWT is three base64url parts separated by dots, this has {} part(s){}",
                    trimmed.split('.').count(),
                    if trimmed.contains(char::is_whitespace) {
                        " and whitespace inside"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let token = jwt::parse(trimmed);
        let (header, claims) = match &token {
            Ok(t) => (t.header.raw.clone(), t.claims.clone()),
            // Three parts but not a JWT STS would take: that is a finding, not bad input;
            // the header and claims are shown as far as they decode.
            Err(_) => (decode_part(trimmed, 0), decode_part(trimmed, 1)),
        };
        Ok(Self {
            path: path.to_owned(),
            token: token.map_err(|e| e.to_string()),
            header,
            claims,
            signed: true,
        })
    }

    /// The `kid` header: `None` when absent (tokens from apiservers before 1.16).
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    /// `aud` as a list (a string is one audience).
    pub fn audiences(&self) -> Vec<String> {
        string_list(self.claims.get("aud"))
    }

    /// `(namespace, name)` from `sub` = `system:serviceaccount:<ns>:<name>`.
    pub fn service_account(&self) -> Option<(String, String)> {
        let rest = self
            .claim_str("sub")?
            .strip_prefix("system:serviceaccount:")?;
        let (ns, name) = rest.split_once(':')?;
        Some((ns.to_owned(), name.to_owned()))
    }
}

/// A JSON string or list of strings as a list (anything else: empty), as `aud` claims and
/// policy members are written.
pub fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn decode_part(token: &str, index: usize) -> Map<String, Value> {
    token
        .split('.')
        .nth(index)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

/// An IAM OIDC provider as `aws iam get-open-id-connect-provider` prints it.
#[derive(Debug, Clone)]
pub struct ProviderInput {
    pub path: PathBuf,
    /// `None`: the file holds IAM's NoSuchEntity answer (the provider does not exist).
    pub found: Option<Provider>,
}

#[derive(Debug, Clone)]
pub struct Provider {
    /// `Url` as IAM prints it: without `https://`.
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created: Option<i64>,
}

impl ProviderInput {
    fn load(path: &Path) -> Result<Self, InputError> {
        let text = read_text(path)?;
        if text.contains("NoSuchEntity") {
            return Ok(Self {
                path: path.to_owned(),
                found: None,
            });
        }
        let doc = parse_json_or_yaml(path, &text)?;
        let err = |p: &str| InputError::new(path.display().to_string(), p.to_owned());
        let url = doc
            .get("Url")
            .and_then(Value::as_str)
            .ok_or_else(|| err("no `Url`: expected the JSON `aws iam get-open-id-connect-provider` prints (Url, ClientIDList, ThumbprintList)"))?
            .to_owned();
        let list = |key: &str| -> Vec<String> {
            doc.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Self {
            path: path.to_owned(),
            found: Some(Provider {
                url,
                client_ids: list("ClientIDList"),
                thumbprints: list("ThumbprintList"),
                created: doc
                    .get("CreateDate")
                    .and_then(Value::as_str)
                    .and_then(parse_time),
            }),
        })
    }
}

/// An IAM role as `aws iam get-role` prints it.
#[derive(Debug, Clone)]
pub struct RoleInput {
    pub path: PathBuf,
    pub arn: String,
    pub name: String,
    /// The trust policy document (decoded when IAM's URL-encoded form was given).
    pub trust_policy: Value,
    /// The emulator's parse of it (an error names what IAM would refuse).
    pub policy: Result<PolicyDocument, String>,
    pub max_session_duration: u32,
    pub created: Option<i64>,
}

impl RoleInput {
    fn load(path: &Path) -> Result<Self, InputError> {
        let text = read_text(path)?;
        let doc = parse_json_or_yaml(path, &text)?;
        let role = doc.get("Role").unwrap_or(&doc);
        let err = |p: &str| InputError::new(path.display().to_string(), p.to_owned());
        let field = |key: &str| role.get(key).and_then(Value::as_str).map(str::to_owned);
        let arn = field("Arn").ok_or_else(|| {
            err("no `Role.Arn`: expected the JSON `aws iam get-role --role-name NAME` prints")
        })?;
        let name = field("RoleName")
            .or_else(|| arn.rsplit('/').next().map(str::to_owned))
            .unwrap_or_default();
        let trust_policy = match role.get("AssumeRolePolicyDocument") {
            Some(Value::Object(o)) => Value::Object(o.clone()),
            // IAM's own API answers URL-encoded JSON; the CLI decodes it, scripts may not.
            Some(Value::String(s)) => {
                let decoded = percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map_err(|e| {
                        err(&format!(
                            "AssumeRolePolicyDocument is not URL-encoded UTF-8: {e}"
                        ))
                    })?;
                serde_json::from_str(&decoded).map_err(|e| {
                    err(&format!(
                        "AssumeRolePolicyDocument is not JSON (nor URL-encoded JSON): {e}"
                    ))
                })?
            }
            _ => return Err(err("no `Role.AssumeRolePolicyDocument` (the trust policy)")),
        };
        let policy = PolicyDocument::parse(&trust_policy.to_string());
        Ok(Self {
            path: path.to_owned(),
            arn,
            name,
            trust_policy,
            policy,
            max_session_duration: role
                .get("MaxSessionDuration")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(3600),
            created: role
                .get("CreateDate")
                .and_then(Value::as_str)
                .and_then(parse_time),
        })
    }
}

fn read_text(path: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(path)
        .map_err(|e| InputError::new(path.display().to_string(), format!("cannot read it: {e}")))
}

fn looks_like_yaml_mapping(text: &str) -> bool {
    text.lines()
        .next()
        .is_some_and(|l| l.contains(':') && !l.contains('.'))
}

fn parse_json_or_yaml(path: &Path, text: &str) -> Result<Value, InputError> {
    let err = |p: String| InputError::new(path.display().to_string(), p);
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| err(format!("invalid JSON: {e}")))?
    } else {
        serde_norway::from_str(text).map_err(|e| err(format!("invalid YAML: {e}")))?
    };
    if !value.is_object() {
        return Err(err("expected a JSON object (or YAML mapping)".into()));
    }
    Ok(value)
}

fn read_json_object(path: &Path) -> Result<Map<String, Value>, InputError> {
    let text = read_text(path)?;
    match parse_json_or_yaml(path, &text)? {
        Value::Object(o) => Ok(o),
        _ => unreachable!("parse_json_or_yaml returns objects"),
    }
}

fn load_jwks(path: &Path) -> Result<JwkSet, InputError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| {
        InputError::new(
            path.display().to_string(),
            format!("not a JWK set ({{\"keys\": [...]}}): {e}"),
        )
    })
}

fn read_kube(path: &Path, kind: &str) -> Result<Value, InputError> {
    let text = read_text(path)?;
    let doc = parse_json_or_yaml(path, &text)?;
    match doc.get("kind").and_then(Value::as_str) {
        Some(k) if k == kind => Ok(doc),
        Some(other) => Err(InputError::new(
            path.display().to_string(),
            format!("expected a {kind}, found kind {other}"),
        )),
        None => Err(InputError::new(
            path.display().to_string(),
            format!("expected a {kind} (kubectl get ... -o yaml), found no `kind`"),
        )),
    }
}

fn parse_webhook_flags(text: &str) -> Result<Vec<String>, InputError> {
    let bad = |p: String| InputError::new("webhook flags", p);
    // YAML list form (`- --aws-default-region=us-west-2` as in a Deployment's args) or one line.
    let words: Vec<String> = if text.trim_start().starts_with('-') && text.contains("\n- ") {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("- "))
            .map(|w| w.trim().trim_matches('"').to_owned())
            .collect()
    } else {
        text.split_whitespace().map(str::to_owned).collect()
    };
    let args = std::iter::once("pod-identity-webhook".to_owned()).chain(words.iter().cloned());
    <pod_identity_webhook::flags::Cli as clap::Parser>::try_parse_from(args).map_err(|e| {
        bad(format!(
            "the webhook would refuse them: {}",
            e.to_string().lines().next().unwrap_or_default()
        ))
    })?;
    Ok(words)
}

/// RFC 3339 or Unix seconds.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_unix_seconds() {
        assert_eq!(parse_time("1764000000"), Some(1_764_000_000));
        assert_eq!(parse_time("2025-11-24T16:00:00Z"), Some(1_764_000_000));
        assert_eq!(parse_time("2025-11-24T16:00:00+00:00"), Some(1_764_000_000));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn a_url_encoded_trust_policy_is_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("role.json");
        std::fs::write(
            &path,
            r#"{"Role": {"RoleName": "r", "Arn": "arn:aws:iam::111122223333:role/r", "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Federated%22%3A%22x%22%7D%2C%22Action%22%3A%22sts%3AAssumeRoleWithWebIdentity%22%7D%5D%7D"}}"#,
        )
        .unwrap();
        let role = RoleInput::load(&path).unwrap();
        assert_eq!(
            role.trust_policy["Statement"][0]["Principal"]["Federated"],
            "x"
        );
        assert!(role.policy.is_ok());
        assert_eq!(role.max_session_duration, 3600);
    }

    #[test]
    fn webhook_flags_are_checked_by_the_webhook_s_parser() {
        assert_eq!(
            parse_webhook_flags("--aws-default-region=us-west-2 --token-audience=x").unwrap(),
            ["--aws-default-region=us-west-2", "--token-audience=x"]
        );
        assert_eq!(
            parse_webhook_flags(
                "- --aws-default-region=eu-west-1\n- \"--sts-regional-endpoint=true\"\n"
            )
            .unwrap(),
            [
                "--aws-default-region=eu-west-1",
                "--sts-regional-endpoint=true"
            ]
        );
        assert!(parse_webhook_flags("--token-expiration=soon").is_err());
    }
}
