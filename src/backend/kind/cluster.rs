//! One kind cluster for a whole run: created (or found, when one of that name exists) once,
//! shared by every scenario, deleted at the end unless kept. What differs between
//! scenarios (the apiserver's flags and keys, the webhook's flags, the objects) is set by
//! each scenario as an admin would set it on a running cluster, which is much faster than
//! a cluster per scenario (`kind create cluster` alone takes 15–35 s here).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use irsa_emulator::issuer::PrivateKey;

use super::command::Command;
use crate::backend::control_plane::binaries::{cache_root, find, pinned};
use crate::scenario::model::KeyAlgorithmSpec;

/// The cluster `irsa-lab run --backend kind` and `irsa-lab kind up` use unless told otherwise.
pub const DEFAULT_NAME: &str = "irsa-lab";
/// The node image `tools/build-node-image` makes (air-gapped machines).
pub fn offline_node_image() -> String {
    format!("irsa-lab/kind-node:{}", pinned("KUBE_VERSION"))
}
/// Our images, loaded into the node (never pulled): `tools/build-images` makes both.
pub const WEBHOOK_IMAGE: &str = "pod-identity-webhook:latest";
pub const WORKLOAD_IMAGE: &str = "irsa-lab-workload:latest";

const CREATE: Duration = Duration::from_secs(300);
const QUICK: Duration = Duration::from_secs(60);

/// kind, our kubectl, and how kind must call docker here.
#[derive(Debug, Clone)]
pub struct Tools {
    pub kind: PathBuf,
    pub kubectl: PathBuf,
    /// `tools/kind-docker-wrapper`, when this engine refuses `docker run --privileged`.
    pub docker_wrapper: Option<PathBuf>,
}

/// The repository's `tools/` (the wrapper and its probe live there).
fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools")
}

impl Tools {
    pub async fn locate() -> anyhow::Result<Self> {
        let kind_version = pinned("KIND_VERSION");
        let kube_version = pinned("KUBE_VERSION");
        let root = cache_root();
        let kind = find(
            "kind",
            root.join("kind").join(kind_version).join("bin"),
            kind_version,
        )?;
        let kubectl = find(
            "kubectl",
            root.join("kube").join(kube_version).join("bin"),
            kube_version,
        )?;
        Command::new("docker", QUICK)
            .args(["info", "--format", "{{.ServerVersion}}"])
            .output()
            .await
            .context("no Docker engine answers (tools/ensure-docker installs and starts one)")?;
        // The probe remembers its answer per engine: a second run costs nothing.
        let probe = tools_dir().join("kind-docker-wrapper/privileged-mode");
        let docker_wrapper = if probe.is_file() {
            let mode = Command::new("bash", QUICK)
                .arg(probe.display().to_string())
                .output()
                .await
                .context("probing whether docker run --privileged works")?;
            (mode.trim() == "wrapped").then(|| tools_dir().join("kind-docker-wrapper"))
        } else {
            None
        };
        Ok(Self {
            kind,
            kubectl,
            docker_wrapper,
        })
    }

    fn kind(&self, timeout: Duration) -> Command {
        Command::new(&self.kind, timeout).path_first(self.docker_wrapper.as_deref())
    }
}

/// Deletes a cluster whose creation did not finish: failed, or dropped by Ctrl-C (a drop
/// cannot wait on async work, so this one blocks).
struct CreationGuard {
    tools: Tools,
    name: String,
    armed: bool,
}

impl CreationGuard {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CreationGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut delete = std::process::Command::new(&self.tools.kind);
        delete
            .args(["delete", "cluster", "--name", &self.name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(dir) = &self.tools.docker_wrapper {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let dirs = std::iter::once(dir.clone()).chain(std::env::split_paths(&path));
            if let Ok(joined) = std::env::join_paths(dirs) {
                delete.env("PATH", joined);
            }
        }
        let _ = delete.status();
    }
}

/// A running kind cluster.
#[derive(Debug, Clone)]
pub struct KindCluster {
    pub name: String,
    /// The control-plane node's container (and the node's name).
    pub node: String,
    pub kubeconfig: PathBuf,
    pub tools: Tools,
    /// Created by this process (so this process deletes it).
    pub created: bool,
}

/// What to create a cluster from.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `None`: the offline image when it exists locally, else kind's own default.
    pub node_image: Option<String>,
    /// A kind cluster config of the user's (e.g. `kind-config/s3-guide.yaml`), run from its
    /// directory so its relative `extraMounts` resolve. `None`: kind's defaults.
    pub config: Option<PathBuf>,
}

fn node_image(options: &Options) -> Option<String> {
    if let Some(image) = options
        .node_image
        .clone()
        .or_else(|| std::env::var("IRSA_LAB_KIND_NODE_IMAGE").ok())
    {
        return (image != "default").then_some(image);
    }
    let offline = offline_node_image();
    let present = std::process::Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", &offline])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    present.then_some(offline)
}

/// The cluster's configuration: kind's defaults; on 1.35+ kubelets the cgroup v1 opt-in
/// (harmless on cgroup v2); and the kubelet rereading static pod manifests every second
/// rather than every 20 s, since every scenario's apiserver flags are a manifest edit. The
/// apiserver's flags are set per scenario afterwards.
const CONFIG: &str = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nkubeadmConfigPatches:\n  - |\n    kind: KubeletConfiguration\n    failCgroupV1: false\n    fileCheckFrequency: 1s\n";

fn state_dir(name: &str) -> PathBuf {
    cache_root().join("kind-clusters").join(name)
}

impl KindCluster {
    /// Finds the cluster `name` or creates it; loads our images into it.
    pub async fn up(name: &str, options: &Options, say: &dyn Fn(&str)) -> anyhow::Result<Self> {
        let tools = Tools::locate().await?;
        let dir = state_dir(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let kubeconfig = dir.join("kubeconfig");
        let existing = tools.kind(QUICK).args(["get", "clusters"]).output().await?;
        let created = !existing.lines().any(|l| l.trim() == name);
        if created {
            let image = node_image(options);
            say(&format!(
                "creating kind cluster {name} (node image {})",
                image.as_deref().unwrap_or("kind's default")
            ));
            let began = Instant::now();
            let guard = CreationGuard {
                tools: tools.clone(),
                name: name.to_owned(),
                armed: true,
            };
            let mut create = tools.kind(CREATE).args([
                "create",
                "cluster",
                "--name",
                name,
                "--kubeconfig",
                &kubeconfig.display().to_string(),
                "--wait",
                "180s",
                "--config",
                "-",
            ]);
            if let Some(image) = &image {
                create = create.args(["--image", image]);
            }
            create = match &options.config {
                Some(file) => {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("reading the kind config {}", file.display()))?;
                    let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
                    let create = create.stdin(text);
                    match dir {
                        Some(dir) => create.current_dir(dir),
                        None => create,
                    }
                }
                None => create.stdin(CONFIG),
            };
            // On failure the guard removes the half-made cluster.
            create
                .output()
                .await
                .with_context(|| format!("creating kind cluster {name}"))?;
            guard.disarm();
            say(&format!(
                "kind cluster {name} ready in {:.0} s",
                began.elapsed().as_secs_f64()
            ));
        } else {
            say(&format!("reusing kind cluster {name}"));
            let config = tools
                .kind(QUICK)
                .args(["get", "kubeconfig", "--name", name])
                .output()
                .await?;
            std::fs::write(&kubeconfig, config)?;
        }
        let cluster = Self {
            name: name.to_owned(),
            node: format!("{name}-control-plane"),
            kubeconfig,
            tools,
            created,
        };
        let loading = cluster.load_images().await;
        if let Err(error) = loading {
            if created {
                cluster.delete().await;
            }
            return Err(error);
        }
        Ok(cluster)
    }

    /// `kind load docker-image` of our two images (kind skips what the node already has).
    async fn load_images(&self) -> anyhow::Result<()> {
        for image in [WEBHOOK_IMAGE, WORKLOAD_IMAGE] {
            let present = Command::new("docker", QUICK)
                .args(["image", "inspect", "--format", "{{.Id}}", image])
                .output()
                .await;
            if present.is_err() {
                bail!(
                    "the image {image} is not in Docker: build it with `tools/build-images` (or `docker build -f webhook/Dockerfile -t {WEBHOOK_IMAGE} .` for the webhook)"
                );
            }
        }
        self.tools
            .kind(CREATE)
            .args(["load", "docker-image", WEBHOOK_IMAGE, WORKLOAD_IMAGE])
            .args(["--name", &self.name])
            .output()
            .await
            .context("loading our images into the node")?;
        Ok(())
    }

    /// Deletes the cluster, and the docker network `kind` when nothing else uses it (kind
    /// leaves it behind).
    pub async fn delete(&self) {
        let _ = self
            .tools
            .kind(CREATE)
            .args(["delete", "cluster", "--name", &self.name])
            .output()
            .await;
        let users = Command::new("docker", QUICK)
            .args([
                "network",
                "inspect",
                "kind",
                "--format",
                "{{len .Containers}}",
            ])
            .output()
            .await;
        if users.is_ok_and(|n| n.trim() == "0") {
            let _ = Command::new("docker", QUICK)
                .args(["network", "rm", "kind"])
                .output()
                .await;
        }
        let _ = std::fs::remove_dir_all(state_dir(&self.name));
    }

    /// `docker exec` in the node (as root), with `stdin` when given.
    pub fn node_exec<I, S>(&self, args: I, timeout: Duration) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command::new("docker", timeout)
            .args(["exec", "-i", &self.node])
            .args(args)
    }

    /// The node's IPv4 gateway on the kind network: the host address pods reach.
    pub async fn gateway(&self) -> anyhow::Result<String> {
        let text = Command::new("docker", QUICK)
            .args([
                "network",
                "inspect",
                "kind",
                "--format",
                "{{range .IPAM.Config}}{{.Gateway}} {{end}}",
            ])
            .output()
            .await?;
        text.split_whitespace()
            .find(|g| g.parse::<std::net::Ipv4Addr>().is_ok())
            .map(str::to_owned)
            .context("the kind network has no IPv4 gateway")
    }

    /// Makes kubeadm's service-account key the first RSA key of this process's scenarios:
    /// the tokens the cluster's own components hold (kube-proxy, CoreDNS, the webhook, the
    /// controller-manager's controllers) are signed by it, so they keep verifying under
    /// every scenario that keeps its first key, as on a real cluster whose key the scenario
    /// describes. Must run before any scenario is loaded.
    pub async fn adopt_service_account_key(&self) -> anyhow::Result<bool> {
        let pem = self
            .node_exec(["cat", "/etc/kubernetes/pki/sa.key"], QUICK)
            .output()
            .await
            .context("reading kubeadm's service-account key from the node")?;
        let key = PrivateKey::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("kubeadm's sa.key does not parse: {e}"))?;
        Ok(crate::backend::keys::adopt(
            KeyAlgorithmSpec::Rsa2048,
            0,
            key,
        ))
    }

    /// An admin client for the cluster.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        crate::backend::control_plane::api::client_from(&self.kubeconfig).await
    }

    /// Our kubectl, for this cluster.
    pub fn kubectl<I, S>(&self, args: I, timeout: Duration) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command::new(&self.tools.kubectl, timeout)
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(args)
    }
}

/// The run's cluster: set by whoever opens it (`irsa-lab run --backend kind`, the kind
/// tier), read by every scenario's backend.
static SESSION: Mutex<Option<(KindCluster, bool)>> = Mutex::new(None);

/// Brings up (or finds) the cluster for this run; `keep` leaves it up at [`close`].
pub async fn open(
    name: &str,
    options: &Options,
    keep: bool,
    say: &dyn Fn(&str),
) -> anyhow::Result<KindCluster> {
    let cluster = KindCluster::up(name, options, say).await?;
    let steady = async {
        let client = cluster.client().await?;
        super::components::steady_components(&cluster, &client).await
    }
    .await;
    if let Err(error) = steady {
        if cluster.created && !keep {
            cluster.delete().await;
        }
        return Err(error);
    }
    match cluster.adopt_service_account_key().await {
        Ok(true) => {}
        Ok(false) => say(
            "note: scenarios of this process already hold their first key; the cluster's own components may lose API access in them",
        ),
        Err(error) => {
            if cluster.created && !keep {
                cluster.delete().await;
            }
            return Err(error);
        }
    }
    *SESSION.lock().unwrap_or_else(|e| e.into_inner()) = Some((cluster.clone(), keep));
    Ok(cluster)
}

/// The run's cluster, when one is open.
pub fn current() -> Option<KindCluster> {
    SESSION
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|(c, _)| c.clone())
}

/// Whether a kind cluster `name` exists (so an interrupted run knows whether it made it).
pub async fn exists(name: &str) -> anyhow::Result<bool> {
    let tools = Tools::locate().await?;
    let clusters = tools.kind(QUICK).args(["get", "clusters"]).output().await?;
    Ok(clusters.lines().any(|l| l.trim() == name))
}

/// Deletes the cluster `name` (and the `kind` network when nothing uses it), whoever made
/// it: `irsa-lab kind down`, and an interrupted creation.
pub async fn delete_by_name(name: &str) -> anyhow::Result<()> {
    let tools = Tools::locate().await?;
    let cluster = KindCluster {
        name: name.to_owned(),
        node: format!("{name}-control-plane"),
        kubeconfig: state_dir(name).join("kubeconfig"),
        tools,
        created: true,
    };
    cluster.delete().await;
    Ok(())
}

/// Ends the run: deletes the cluster when this process created it and was not asked to
/// keep it. Returns what it did, for the user.
pub async fn close(say: &dyn Fn(&str)) {
    let session = SESSION.lock().unwrap_or_else(|e| e.into_inner()).take();
    let Some((cluster, keep)) = session else {
        return;
    };
    if cluster.created && !keep {
        say(&format!("deleting kind cluster {}", cluster.name));
        cluster.delete().await;
    } else {
        say(&format!(
            "kind cluster {} left up (KUBECONFIG={}); `irsa-lab kind down --name {}` removes it",
            cluster.name,
            cluster.kubeconfig.display(),
            cluster.name
        ));
    }
}
