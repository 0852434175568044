//! The precedence rules, in one place:
//! - container-credentials file lists the (namespace, SA): that mode, over any role ARN;
//! - role ARN: SA annotation, else ConfigMap `ns/name`, else `*/name`; none: no mutation;
//! - audience: SA annotation, else the ConfigMap entry's (when it gave the role and has
//!   one), else the flag;
//! - regional STS: SA annotation (both ways), else the ConfigMap entry's, else the flag;
//!   an unparsable annotation falls back;
//! - expiration: pod annotation, else SA annotation, else the ConfigMap entry's, else the
//!   flag; unparsable values fall back; never below 600 s.

use std::collections::BTreeMap;

use regex::Regex;

use super::{ConfigMapIdentities, ContainerCredentialsIdentities, ServiceAccountInfo};
use crate::config::{MIN_TOKEN_EXPIRATION, MutationConfig};

/// What the pod gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Nothing to inject: the pod is allowed unchanged.
    None,
    WebIdentity {
        role_arn: String,
        audience: String,
        regional_sts: bool,
        expiration: i64,
    },
    ContainerCredentials {
        audience: String,
        /// SA annotation, else the flag: the reference applies it in this mode too.
        regional_sts: bool,
        expiration: i64,
        /// True when the expiration is the flag's default (jitter applies).
        default_expiration: bool,
    },
}

/// Go's strconv.ParseBool.
fn go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn role_arn_pattern() -> &'static Regex {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    // The reference's check; a mismatch only warns.
    PATTERN.get_or_init(|| {
        Regex::new(r"^arn:aws[a-z0-9-]*:iam::\d{12}:role/[\w\-/.@+=,]+$")
            .unwrap_or_else(|_| unreachable!("valid regex"))
    })
}

/// The partition of a region, as the reference derives it.
pub fn partition_for_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// The pod side of a resolution.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub namespace: &'a str,
    /// `spec.serviceAccountName`.
    pub service_account: &'a str,
    /// The ServiceAccount, `None` when it does not exist.
    pub sa: Option<&'a ServiceAccountInfo>,
    /// The pod's own annotations.
    pub pod_annotations: &'a BTreeMap<String, String>,
}

/// Resolves a pod's identity; `warnings` explain ignored or suspicious values.
pub fn resolve(
    subject: &Subject<'_>,
    configmap: &ConfigMapIdentities,
    container_credentials: &ContainerCredentialsIdentities,
    cfg: &MutationConfig,
    warnings: &mut Vec<String>,
) -> Identity {
    let Subject {
        namespace,
        service_account: sa_name,
        sa,
        pod_annotations,
    } = *subject;
    let sa_annotation = |name: &str| {
        sa.and_then(|sa| sa.annotations.get(&cfg.annotation(name)))
            .map(String::as_str)
    };
    let entry = configmap.lookup(namespace, sa_name);

    let parse_expiration =
        |value: Option<&str>, what: &str, warnings: &mut Vec<String>| -> Option<i64> {
            let value = value?;
            match value.trim().parse::<i64>() {
                Ok(seconds) => Some(seconds.max(MIN_TOKEN_EXPIRATION)),
                Err(_) => {
                    warnings.push(format!(
                        "{what} {value:?} is not a number of seconds; ignored"
                    ));
                    None
                }
            }
        };
    let pod_expiration = parse_expiration(
        pod_annotations
            .get(&cfg.annotation("token-expiration"))
            .map(String::as_str),
        "pod annotation token-expiration",
        warnings,
    );
    let sa_expiration = parse_expiration(
        sa_annotation("token-expiration"),
        "ServiceAccount annotation token-expiration",
        warnings,
    );

    // The SA's own choice of regional STS (both ways); `None` falls back further.
    let sa_regional_sts = |warnings: &mut Vec<String>| {
        let value = sa_annotation("sts-regional-endpoints")?;
        let parsed = go_bool(value);
        if parsed.is_none() {
            warnings.push(format!("ServiceAccount annotation sts-regional-endpoints {value:?} is not a boolean; using the flag"));
        }
        Some(parsed.unwrap_or(cfg.regional_sts))
    };

    if container_credentials.contains(namespace, sa_name) {
        let explicit = pod_expiration.or(sa_expiration);
        return Identity::ContainerCredentials {
            audience: cfg.container_credentials.audience.clone(),
            regional_sts: sa_regional_sts(warnings).unwrap_or(cfg.regional_sts),
            expiration: explicit.unwrap_or(cfg.token_expiration),
            default_expiration: explicit.is_none(),
        };
    }

    let (role_arn, from_configmap) = match sa_annotation("role-arn").filter(|r| !r.is_empty()) {
        Some(role) => (role.to_owned(), false),
        None => match entry.filter(|e| !e.role_arn.is_empty()) {
            Some(e) => (e.role_arn.clone(), true),
            None => return Identity::None,
        },
    };
    let role_arn = match &cfg.compose_role_arn {
        Some(account) if !role_arn.starts_with("arn:") => {
            let partition = partition_for_region(cfg.region.as_deref().unwrap_or(""));
            format!("arn:{partition}:iam::{account}:role/{role_arn}")
        }
        _ => role_arn,
    };
    if !role_arn_pattern().is_match(&role_arn) {
        warnings.push(format!(
            "role ARN {role_arn:?} does not look like an IAM role ARN; injected anyway"
        ));
    }
    let configmap_entry = entry.filter(|_| from_configmap);

    let audience = sa_annotation("audience")
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            configmap_entry
                .map(|e| e.audience.clone())
                .filter(|a| !a.is_empty())
        })
        .unwrap_or_else(|| cfg.audience.clone());

    let regional_sts = sa_regional_sts(warnings).unwrap_or_else(|| {
        configmap_entry
            .and_then(|e| e.use_regional_sts)
            .unwrap_or(cfg.regional_sts)
    });

    let expiration = pod_expiration
        .or(sa_expiration)
        .or_else(|| {
            configmap_entry
                .and_then(|e| e.token_expiration)
                .map(|s| s.max(MIN_TOKEN_EXPIRATION))
        })
        .unwrap_or(cfg.token_expiration);

    Identity::WebIdentity {
        role_arn,
        audience,
        regional_sts,
        expiration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/app";

    fn sa(annotations: &[(&str, &str)]) -> ServiceAccountInfo {
        ServiceAccountInfo {
            namespace: "default".into(),
            name: "app".into(),
            annotations: annotations
                .iter()
                .map(|(k, v)| (format!("eks.amazonaws.com/{k}"), v.to_string()))
                .collect(),
        }
    }

    fn run(
        sa_: Option<&ServiceAccountInfo>,
        pod: &[(&str, &str)],
        cm: &str,
        cc: &str,
        cfg: &MutationConfig,
    ) -> (Identity, Vec<String>) {
        let pod: BTreeMap<String, String> = pod
            .iter()
            .map(|(k, v)| (format!("eks.amazonaws.com/{k}"), v.to_string()))
            .collect();
        let (cm, _) = ConfigMapIdentities::parse(if cm.is_empty() { "{}" } else { cm });
        let cc = ContainerCredentialsIdentities::parse(cc.as_bytes()).unwrap();
        let mut warnings = Vec::new();
        let subject = Subject {
            namespace: "default",
            service_account: "app",
            sa: sa_,
            pod_annotations: &pod,
        };
        let id = resolve(&subject, &cm, &cc, cfg, &mut warnings);
        (id, warnings)
    }

    fn web(role: &str, audience: &str, regional: bool, exp: i64) -> Identity {
        Identity::WebIdentity {
            role_arn: role.into(),
            audience: audience.into(),
            regional_sts: regional,
            expiration: exp,
        }
    }

    /// (name, SA, pod annotations, ConfigMap data.config, expected identity)
    type Case = (
        &'static str,
        Option<ServiceAccountInfo>,
        Vec<(&'static str, &'static str)>,
        &'static str,
        Identity,
    );

    #[test]
    fn precedence_table() {
        let cfg = MutationConfig::default();
        let cm = r#"{"default/app": {"RoleARN": "arn:aws:iam::111122223333:role/cm-exact", "Audience": "cm-aud", "UseRegionalSTS": true, "TokenExpiration": 7200}, "*/app": {"RoleARN": "arn:aws:iam::111122223333:role/cm-any"}}"#;
        let cases: Vec<Case> = vec![
            (
                "no annotation, no configmap: nothing",
                Some(sa(&[])),
                vec![],
                "",
                Identity::None,
            ),
            ("missing SA: nothing", None, vec![], "", Identity::None),
            (
                "SA role with defaults",
                Some(sa(&[("role-arn", ROLE)])),
                vec![],
                "",
                web(ROLE, "sts.amazonaws.com", false, 86400),
            ),
            (
                "SA audience wins",
                Some(sa(&[("role-arn", ROLE), ("audience", "vault")])),
                vec![],
                "",
                web(ROLE, "vault", false, 86400),
            ),
            (
                "SA sts annotation true",
                Some(sa(&[
                    ("role-arn", ROLE),
                    ("sts-regional-endpoints", "true"),
                ])),
                vec![],
                "",
                web(ROLE, "sts.amazonaws.com", true, 86400),
            ),
            (
                "SA token expiration",
                Some(sa(&[("role-arn", ROLE), ("token-expiration", "3600")])),
                vec![],
                "",
                web(ROLE, "sts.amazonaws.com", false, 3600),
            ),
            (
                "pod expiration beats SA",
                Some(sa(&[("role-arn", ROLE), ("token-expiration", "3600")])),
                vec![("token-expiration", "1800")],
                "",
                web(ROLE, "sts.amazonaws.com", false, 1800),
            ),
            (
                "expiration floor",
                Some(sa(&[("role-arn", ROLE), ("token-expiration", "60")])),
                vec![],
                "",
                web(ROLE, "sts.amazonaws.com", false, 600),
            ),
            (
                "invalid expiration falls back",
                Some(sa(&[("role-arn", ROLE), ("token-expiration", "soon")])),
                vec![],
                "",
                web(ROLE, "sts.amazonaws.com", false, 86400),
            ),
            (
                "pod role annotation is ignored",
                Some(sa(&[])),
                vec![("role-arn", ROLE)],
                "",
                Identity::None,
            ),
            (
                "configmap exact entry",
                Some(sa(&[])),
                vec![],
                cm,
                web(
                    "arn:aws:iam::111122223333:role/cm-exact",
                    "cm-aud",
                    true,
                    7200,
                ),
            ),
            (
                "SA annotation beats configmap",
                Some(sa(&[("role-arn", ROLE)])),
                vec![],
                cm,
                web(ROLE, "sts.amazonaws.com", false, 86400),
            ),
            (
                "configmap wildcard",
                Some(sa(&[])),
                vec![],
                r#"{"*/app": {"RoleARN": "arn:aws:iam::111122223333:role/cm-any"}}"#,
                web(
                    "arn:aws:iam::111122223333:role/cm-any",
                    "sts.amazonaws.com",
                    false,
                    86400,
                ),
            ),
        ];
        for (name, sa_, pod, cm, expected) in cases {
            assert_eq!(run(sa_.as_ref(), &pod, cm, "", &cfg).0, expected, "{name}");
        }
    }

    #[test]
    fn regional_sts_annotation_wins_both_ways() {
        let cfg = MutationConfig {
            regional_sts: true,
            ..MutationConfig::default()
        };
        assert_eq!(
            run(
                Some(&sa(&[
                    ("role-arn", ROLE),
                    ("sts-regional-endpoints", "false")
                ])),
                &[],
                "",
                "",
                &cfg
            )
            .0,
            web(ROLE, "sts.amazonaws.com", false, 86400)
        );
        let (id, warnings) = run(
            Some(&sa(&[
                ("role-arn", ROLE),
                ("sts-regional-endpoints", "maybe"),
            ])),
            &[],
            "",
            "",
            &cfg,
        );
        assert_eq!(id, web(ROLE, "sts.amazonaws.com", true, 86400));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn container_credentials_win_over_role_arn() {
        let cfg = MutationConfig::default();
        let cc = r#"{"identities":[{"namespace":"default","serviceAccount":"app"}]}"#;
        let (id, _) = run(Some(&sa(&[("role-arn", ROLE)])), &[], "", cc, &cfg);
        assert_eq!(
            id,
            Identity::ContainerCredentials {
                audience: "pods.eks.amazonaws.com".into(),
                regional_sts: false,
                expiration: 86400,
                default_expiration: true
            }
        );
        let (id, _) = run(
            Some(&sa(&[])),
            &[("token-expiration", "7200")],
            "",
            cc,
            &cfg,
        );
        assert_eq!(
            id,
            Identity::ContainerCredentials {
                audience: "pods.eks.amazonaws.com".into(),
                regional_sts: false,
                expiration: 7200,
                default_expiration: false
            }
        );
    }

    #[test]
    fn container_credentials_take_regional_sts_from_the_sa_else_the_flag() {
        let cc = r#"{"identities":[{"namespace":"default","serviceAccount":"app"}]}"#;
        let regional = |annotations: &[(&str, &str)], flag: bool| {
            let cfg = MutationConfig {
                regional_sts: flag,
                ..MutationConfig::default()
            };
            match run(Some(&sa(annotations)), &[], "", cc, &cfg).0 {
                Identity::ContainerCredentials { regional_sts, .. } => regional_sts,
                other => panic!("expected container credentials, got {other:?}"),
            }
        };
        assert!(regional(&[("sts-regional-endpoints", "true")], false));
        assert!(!regional(&[("sts-regional-endpoints", "false")], true));
        assert!(regional(&[], true));
        assert!(!regional(&[], false));
        assert!(regional(&[("sts-regional-endpoints", "maybe")], true));
    }

    #[test]
    fn compose_role_arn_and_partitions() {
        let cfg = MutationConfig {
            compose_role_arn: Some("111122223333".into()),
            region: Some("cn-north-1".into()),
            ..MutationConfig::default()
        };
        assert_eq!(
            run(Some(&sa(&[("role-arn", "reader")])), &[], "", "", &cfg).0,
            web(
                "arn:aws-cn:iam::111122223333:role/reader",
                "sts.amazonaws.com",
                false,
                86400
            )
        );
        for (region, partition) in [
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eusc-de-east-1", "aws-eusc"),
            ("eu-west-1", "aws"),
        ] {
            assert_eq!(partition_for_region(region), partition);
        }
    }

    #[test]
    fn odd_role_arns_only_warn() {
        let (id, warnings) = run(
            Some(&sa(&[("role-arn", "not-an-arn")])),
            &[],
            "",
            "",
            &MutationConfig::default(),
        );
        assert!(matches!(id, Identity::WebIdentity { .. }));
        assert_eq!(warnings.len(), 1);
    }
}
