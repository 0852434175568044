//! kube-apiserver's service-account flags for a [`ClusterState`], and the key files they
//! name: the one translation every real backend uses, whether the files go to a local
//! directory (control-plane) or into a kind node.

use super::ClusterState;

/// The flags, and the files to write before the apiserver starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountFlags {
    /// `(file name, contents)`, relative to the directory the flags name.
    pub files: Vec<(String, String)>,
    pub args: Vec<String>,
}

/// The flag names these arguments set (what a manifest edit replaces).
pub const FLAG_NAMES: &[&str] = &[
    "--service-account-signing-key-file",
    "--service-account-extend-token-expiration",
    "--service-account-issuer",
    "--service-account-key-file",
    "--api-audiences",
    "--service-account-jwks-uri",
    "--service-account-max-token-expiration",
];

/// The flags of `cluster`, their key files in `dir` (a path as the apiserver sees it).
pub fn service_account_flags(cluster: &ClusterState, dir: &str) -> ServiceAccountFlags {
    let mut files = vec![("signing.key".to_owned(), cluster.signer().to_pem())];
    let mut args = vec![
        format!("--service-account-signing-key-file={dir}/signing.key"),
        format!(
            "--service-account-extend-token-expiration={}",
            cluster.extend_token_expiration
        ),
    ];
    for issuer in &cluster.issuers {
        args.push(format!("--service-account-issuer={issuer}"));
    }
    for (i, key) in cluster.verification_public_keys().iter().enumerate() {
        let name = format!("verify-{i}.pub");
        args.push(format!("--service-account-key-file={dir}/{name}"));
        files.push((name, key.to_pem()));
    }
    if let Some(audiences) = &cluster.api_audiences {
        args.push(format!("--api-audiences={}", audiences.join(",")));
    }
    if let Some(uri) = &cluster.jwks_uri {
        args.push(format!("--service-account-jwks-uri={uri}"));
    }
    if let Some(max) = cluster.max_token_expiration {
        args.push(format!("--service-account-max-token-expiration={max}s"));
    }
    ServiceAccountFlags { files, args }
}

/// Whether `arg` is one of [`FLAG_NAMES`] (`--name=value` or `--name`).
pub fn is_service_account_flag(arg: &str) -> bool {
    let name = arg.split_once('=').map_or(arg, |(n, _)| n);
    FLAG_NAMES.contains(&name)
}
