//! `irsa-lab keys`: the key material of a self-hosted issuer, without ssh-keygen, Go or jq.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use irsa_emulator::issuer::{
    BoundTokenRequest, DiscoveryDocument, KeyAlgorithm, KidMode, ObjectRef, PrivateKey, PublicKey,
    jwks, sign_bound_token,
};

/// Generate signing keys and the documents an issuer publishes.
///
/// Replaces the setup guide's `ssh-keygen` and `go run ./hack/self-hosted/main.go | jq ...`
/// steps. Key ids are derived exactly as kube-apiserver (1.16+) derives them.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    Generate(GenerateArgs),
    Jwks(JwksArgs),
    Kid(KidArgs),
    Discovery(DiscoveryArgs),
    Token(TokenArgs),
}

/// Mint a projected service-account token exactly as kube-apiserver signs one.
///
/// Same header (`alg`, `kid`), same claims in the same order (`aud` always an array,
/// `kubernetes.io` with namespace, service account, pod and node), signed with the given
/// private key. For exercising STS, the aws CLI or an SDK without a cluster.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Private signing key (PEM), as given to --service-account-signing-key-file.
    #[arg(long)]
    key: PathBuf,
    /// The issuer (--service-account-issuer).
    #[arg(long)]
    issuer: String,
    /// Audience; repeatable.
    #[arg(long = "audience", default_value = "sts.amazonaws.com")]
    audiences: Vec<String>,
    /// Namespace of the service account.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Name of the service account.
    #[arg(long, default_value = "default")]
    service_account: String,
    /// Pod the token is bound to.
    #[arg(long, default_value = "app")]
    pod: String,
    /// Lifetime in seconds (the apiserver's minimum is 600).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(i64).range(600..))]
    expiration_seconds: i64,
    /// Leave out the kid header, as apiservers before 1.16 did.
    #[arg(long)]
    no_kid: bool,
}

/// Generate a service-account signing key pair.
///
/// Writes `<DIR>/<NAME>.key` (private key, PEM, for --service-account-signing-key-file)
/// and `<DIR>/<NAME>-pkcs8.pub` (public key as `ssh-keygen -e -m PKCS8` writes it, for
/// --service-account-key-file). Existing files are never overwritten without --force.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Key type: rsa-2048, rsa-4096, ec-p256 or ec-p384 (kube-apiserver signs RSA keys
    /// with RS256 and P-256/P-384 keys with ES256/ES384).
    #[arg(long, short = 'a', default_value = "rsa-2048")]
    algorithm: KeyAlgorithm,
    /// Directory to write the two files into.
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Base name of the files (the setup guide uses `sa-signer`).
    #[arg(long, default_value = "sa-signer")]
    name: String,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

/// Print the JWKS (keys.json) for one or more public keys.
///
/// Equivalent to the setup guide's
/// `go run ./hack/self-hosted/main.go -key sa-signer-pkcs8.pub | jq '.keys += [.keys[0]] | .keys[1].kid = ""'`
/// when given --with-empty-kid.
#[derive(Debug, Args)]
pub struct JwksArgs {
    /// PEM files holding public keys (PKIX `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`); a file
    /// may hold several keys, and a private key yields its public half.
    #[arg(required = true, value_name = "PUB")]
    keys: Vec<PathBuf>,
    /// Also publish the first key with `"kid": ""`, so tokens from apiservers older than
    /// 1.16 (which carry no kid) still verify during an upgrade.
    #[arg(long)]
    with_empty_kid: bool,
}

/// Print the key id (kid) kube-apiserver puts in tokens signed by this key.
#[derive(Debug, Args)]
pub struct KidArgs {
    /// PEM file with a public (or private) key.
    #[arg(value_name = "PUB")]
    key: PathBuf,
}

/// Print the OIDC discovery document (/.well-known/openid-configuration) for an issuer.
///
/// The same document kube-apiserver serves: issuer, jwks_uri, response_types_supported,
/// subject_types_supported, id_token_signing_alg_values_supported.
#[derive(Debug, Args)]
pub struct DiscoveryArgs {
    /// The issuer URL, exactly as --service-account-issuer says it (no trailing slash unless
    /// your tokens carry one: AWS compares it byte for byte).
    #[arg(long)]
    issuer: String,
    /// Where the JWKS is published. Default: <issuer>/openid/v1/jwks (the apiserver's path);
    /// for an S3 bucket following the setup guide use <issuer>/keys.json.
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Public keys whose algorithms to list (default: RS256 only).
    #[arg(long = "key", value_name = "PUB")]
    keys: Vec<PathBuf>,
}

pub fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        KeysCommand::Generate(args) => generate(args, &mut out)?,
        KeysCommand::Jwks(args) => {
            let keys = read_public_keys(&args.keys)?;
            let set = jwks(&keys, args.with_empty_kid);
            writeln!(out, "{}", serde_json::to_string_pretty(&set)?)?;
        }
        KeysCommand::Kid(args) => {
            let keys = read_public_keys(std::slice::from_ref(&args.key))?;
            for key in keys {
                writeln!(out, "{}", key.kid())?;
            }
        }
        KeysCommand::Discovery(args) => {
            let keys = read_public_keys(&args.keys)?;
            let algs: Vec<String> = if keys.is_empty() {
                vec!["RS256".to_owned()]
            } else {
                keys.iter().map(|k| k.algorithm().to_string()).collect()
            };
            let doc = DiscoveryDocument::new(&args.issuer, args.jwks_uri.as_deref(), &algs);
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        KeysCommand::Token(args) => writeln!(out, "{}", token(&args)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn token(args: &TokenArgs) -> anyhow::Result<String> {
    let pem = fs::read_to_string(&args.key)
        .with_context(|| format!("failed to read {}", args.key.display()))?;
    let key = PrivateKey::from_pem(&pem)
        .with_context(|| format!("{}: no usable private key", args.key.display()))?;
    let uid = || uuid::Uuid::new_v4().to_string();
    let request = BoundTokenRequest {
        issuer: args.issuer.clone(),
        audiences: args.audiences.clone(),
        namespace: args.namespace.clone(),
        service_account: ObjectRef::new(&args.service_account, uid()),
        pod: Some(ObjectRef::new(&args.pod, uid())),
        node: Some(ObjectRef::new("node-1", uid())),
        secret: None,
        issued_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        expiration_seconds: args.expiration_seconds,
        warn_after: None,
        jti: Some(uid()),
    };
    let kid = if args.no_kid {
        KidMode::Omitted
    } else {
        KidMode::Sha256
    };
    Ok(sign_bound_token(&request, &key, kid))
}

fn generate(args: GenerateArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let private_path = args.out_dir.join(format!("{}.key", args.name));
    let public_path = args.out_dir.join(format!("{}-pkcs8.pub", args.name));
    if !args.force {
        for path in [&private_path, &public_path] {
            if path.exists() {
                bail!(
                    "{} already exists; pass --force to overwrite it",
                    path.display()
                );
            }
        }
    }
    let key = PrivateKey::generate(args.algorithm);
    let public = key.public_key();
    write_file(&private_path, &key.to_pem(), true)?;
    write_file(&public_path, &public.to_pem(), false)?;
    writeln!(out, "private key: {}", private_path.display())?;
    writeln!(out, "public key:  {}", public_path.display())?;
    writeln!(out, "kid:         {}", public.kid())?;
    Ok(())
}

fn write_file(path: &Path, contents: &str, private: bool) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("failed to write {}", path.display()))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("failed to restrict permissions of {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    Ok(())
}

fn read_public_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    let mut keys = Vec::new();
    for path in paths {
        let pem = fs::read_to_string(path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        let found = PublicKey::all_from_pem(&pem)
            .with_context(|| format!("{}: no usable key", path.display()))?;
        if found.is_empty() {
            bail!(
                "{}: no PEM key found (expected PUBLIC KEY, RSA PUBLIC KEY or a private key)",
                path.display()
            );
        }
        keys.extend(found);
    }
    Ok(keys)
}
