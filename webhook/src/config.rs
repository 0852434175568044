//! What the mutation needs from the flags, in one value.

use crate::flags::Flags;

/// Tokens shorter than this are raised to it (the apiserver refuses less than 10 minutes).
pub const MIN_TOKEN_EXPIRATION: i64 = 600;
/// The reference's default expiration; in container-credentials mode exactly this value
/// is replaced by a random one in [`CC_JITTER_MIN`, this] so pods do not refresh in step.
pub const DEFAULT_TOKEN_EXPIRATION: i64 = 86_400;
pub const CC_JITTER_MIN: i64 = 79_200;
/// The projected volume of web-identity tokens.
pub const TOKEN_VOLUME_NAME: &str = "aws-iam-token";
/// The label container-credentials pods get.
pub const POD_IDENTITY_LABEL: &str = "eks.amazonaws.com/pod-identity";

/// Container-credentials (EKS Pod Identity) mode settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCredentialsConfig {
    pub audience: String,
    pub mount_path: String,
    pub volume_name: String,
    pub token_path: String,
    pub full_uri: String,
}

/// Flags that shape the mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutationConfig {
    pub annotation_prefix: String,
    pub audience: String,
    pub mount_path: String,
    pub token_expiration: i64,
    /// `--aws-default-region`, `None` when empty.
    pub region: Option<String>,
    pub regional_sts: bool,
    /// `--compose-role-arn` with the account to compose with.
    pub compose_role_arn: Option<String>,
    pub container_credentials: ContainerCredentialsConfig,
}

impl Default for MutationConfig {
    fn default() -> Self {
        Self {
            annotation_prefix: "eks.amazonaws.com".into(),
            audience: "sts.amazonaws.com".into(),
            mount_path: "/var/run/secrets/eks.amazonaws.com/serviceaccount".into(),
            token_expiration: DEFAULT_TOKEN_EXPIRATION,
            region: None,
            regional_sts: false,
            compose_role_arn: None,
            container_credentials: ContainerCredentialsConfig {
                audience: "pods.eks.amazonaws.com".into(),
                mount_path: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount".into(),
                volume_name: "eks-pod-identity-token".into(),
                token_path: "eks-pod-identity-token".into(),
                full_uri: "http://169.254.170.23/v1/credentials".into(),
            },
        }
    }
}

impl MutationConfig {
    pub fn from_flags(flags: &Flags) -> Self {
        Self {
            annotation_prefix: flags.annotation_prefix.clone(),
            audience: flags.token_audience.clone(),
            mount_path: flags.token_mount_path.clone(),
            token_expiration: flags.token_expiration(),
            region: Some(flags.aws_default_region.clone()).filter(|r| !r.is_empty()),
            regional_sts: flags.sts_regional_endpoint,
            compose_role_arn: flags
                .compose_role_arn
                .then(|| flags.compose_role_arn_account.clone()),
            container_credentials: ContainerCredentialsConfig {
                audience: flags.container_credentials_audience.clone(),
                mount_path: flags.container_credentials_token_mount_path.clone(),
                volume_name: flags.container_credentials_token_volume_name.clone(),
                token_path: flags.container_credentials_token_path.clone(),
                full_uri: flags.container_credentials_full_uri.clone(),
            },
        }
    }

    /// `<prefix>/<name>`.
    pub fn annotation(&self, name: &str) -> String {
        format!("{}/{name}", self.annotation_prefix)
    }
}
