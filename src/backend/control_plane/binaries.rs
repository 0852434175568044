//! Where the real binaries are: the versions pinned in `tools/versions.env` (compiled in,
//! so this binary asks for exactly what `tools/build-kube` builds), looked up in
//! `$IRSA_LAB_KUBE_BIN` or the cache `tools/build-kube` fills, and the webhook binary
//! beside this executable. Missing binaries are an error that says how to get them.

use std::path::{Path, PathBuf};

/// `tools/versions.env`, the one place the versions are pinned.
const VERSIONS: &str = include_str!("../../../tools/versions.env");

/// The pinned version of `key` (`KUBE_VERSION`, `ETCD_VERSION`, `KIND_VERSION`).
pub fn pinned(key: &str) -> &'static str {
    VERSIONS
        .lines()
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
        .unwrap_or("unknown")
}

/// `(major, minor)` of the pinned Kubernetes.
pub fn kube_minor() -> (u32, u32) {
    let version = pinned("KUBE_VERSION").trim_start_matches('v');
    let mut parts = version.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(1), parts.next().unwrap_or(0))
}

/// The binaries of one control plane.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kubectl: PathBuf,
    pub webhook: PathBuf,
}

/// Why a binary is missing, with the command that provides it.
#[derive(Debug, thiserror::Error)]
#[error(
    "{name} {version} not found (looked in {looked}).\n  Build it (Go 1.24+, through the Go module proxy, cached outside the repository):\n    {how}"
)]
pub struct Missing {
    name: String,
    version: String,
    looked: String,
    how: String,
}

/// `$IRSA_LAB_CACHE`, else `~/.cache/irsa-lab`: where `tools/` scripts put what they build.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("IRSA_LAB_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("irsa-lab")
}

/// `$IRSA_LAB_KUBE_BIN/name` when set, else the build cache.
pub fn find(name: &str, cached_dir: PathBuf, version: &str) -> Result<PathBuf, Missing> {
    let mut looked = Vec::new();
    if let Some(dir) = std::env::var_os("IRSA_LAB_KUBE_BIN") {
        let path = PathBuf::from(dir).join(name);
        if path.is_file() {
            return Ok(path);
        }
        looked.push(path.display().to_string());
    }
    let path = cached_dir.join(name);
    if path.is_file() {
        return Ok(path);
    }
    looked.push(path.display().to_string());
    let component = if name == "etcd" { "etcd" } else { name };
    Err(Missing {
        name: name.to_owned(),
        version: version.to_owned(),
        looked: looked.join(", "),
        how: format!(
            "tools/build-kube {component}   (or set IRSA_LAB_KUBE_BIN to a directory holding it)"
        ),
    })
}

/// The pod-identity-webhook binary: `$IRSA_LAB_WEBHOOK_BIN`, or beside this executable
/// (`target/debug/` for `cargo run` and for tests, whose executables are in `deps/`).
pub fn webhook() -> Result<PathBuf, Missing> {
    let name = "pod-identity-webhook";
    if let Some(path) = std::env::var_os("IRSA_LAB_WEBHOOK_BIN") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        return Err(Missing {
            name: name.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            looked: path.display().to_string(),
            how: "IRSA_LAB_WEBHOOK_BIN names a file that does not exist".into(),
        });
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(name))
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| Missing {
            name: name.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            looked: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            how: "cargo build -p pod-identity-webhook   (or set IRSA_LAB_WEBHOOK_BIN)".into(),
        })
}

impl Binaries {
    /// Finds every binary, or says which is missing and how to build it.
    pub fn locate() -> Result<Self, Missing> {
        let root = cache_root();
        let kube = pinned("KUBE_VERSION");
        let etcd = pinned("ETCD_VERSION");
        let kube_dir = root.join("kube").join(kube).join("bin");
        Ok(Self {
            etcd: find("etcd", root.join("etcd").join(etcd).join("bin"), etcd)?,
            kube_apiserver: find("kube-apiserver", kube_dir.clone(), kube)?,
            kubectl: find("kubectl", kube_dir, kube)?,
            webhook: webhook()?,
        })
    }

    /// True when the Kubernetes binaries are present (the webhook is built by cargo).
    pub fn available() -> bool {
        Self::locate().is_ok()
    }
}

/// A path as an argument.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}
