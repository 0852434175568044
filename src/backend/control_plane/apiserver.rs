//! etcd and kube-apiserver as plain processes on loopback, in a directory of their own:
//! free ports, a fresh serving certificate, an admin identity (a static token in the
//! `system:masters` group), and the service-account flags of the scenario's
//! [`ClusterState`]. A restart (`setCluster`) rewrites the key files and starts the
//! apiserver again on the same port, over the same etcd, as a static-pod restart does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use base64::Engine;

use super::binaries::{Binaries, arg};
use super::process::{Managed, free_port};
use crate::backend::ClusterState;
use crate::backend::apiserver_flags::service_account_flags;
use crate::backend::pki::{self, LoopbackCertificate};

/// Under load on 2 cores kube-apiserver has been seen ready after 6 s; give it room.
const APISERVER_READY: Duration = Duration::from_secs(90);
const ETCD_READY: Duration = Duration::from_secs(30);

/// A running etcd + kube-apiserver.
#[derive(Debug)]
pub struct ControlPlane {
    dir: tempfile::TempDir,
    binaries: Binaries,
    etcd: Managed,
    etcd_url: String,
    apiserver: Option<Managed>,
    port: u16,
    pki: LoopbackCertificate,
    token: String,
    /// How long the last apiserver start took until `/readyz` answered `ok`.
    pub last_start: Duration,
    restarts: usize,
}

impl ControlPlane {
    /// Starts etcd, then kube-apiserver with `cluster`'s flags.
    pub async fn start(cluster: &ClusterState, binaries: Binaries) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("irsa-lab-control-plane-")
            .tempdir()
            .context("creating the control plane's directory")?;
        let (etcd, etcd_url) = start_etcd(&binaries.etcd, dir.path()).await?;
        let pki = pki::loopback("irsa-lab control-plane CA", "kube-apiserver")?;
        std::fs::write(dir.path().join("serving.crt"), &pki.cert_pem)?;
        std::fs::write(dir.path().join("serving.key"), &pki.key_pem)?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        // kube-apiserver's static token file: token,user,uid,"group".
        std::fs::write(
            dir.path().join("tokens.csv"),
            format!("{token},irsa-lab-admin,irsa-lab-admin,\"system:masters\"\n"),
        )?;
        let mut plane = Self {
            dir,
            binaries,
            etcd,
            etcd_url,
            apiserver: None,
            port: free_port()?,
            pki,
            token,
            last_start: Duration::ZERO,
            restarts: 0,
        };
        std::fs::write(plane.kubeconfig_path(), plane.kubeconfig())?;
        plane.start_apiserver(cluster).await?;
        Ok(plane)
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// kube-apiserver's process id, while it runs.
    pub fn apiserver_pid(&self) -> Option<u32> {
        self.apiserver.as_ref().and_then(Managed::pid)
    }

    /// The CA of the apiserver's serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.pki.ca_pem
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A kubeconfig for the admin identity (the harness and the webhook use it).
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn kubeconfig(&self) -> String {
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.pki.ca_pem);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: irsa-lab\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: admin\n  user:\n    token: {}\ncontexts:\n- name: irsa-lab\n  context:\n    cluster: irsa-lab\n    user: admin\ncurrent-context: irsa-lab\n",
            self.url(),
            self.token
        )
    }

    /// An admin client.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        crate::backend::control_plane::api::client_from(&self.kubeconfig_path()).await
    }

    /// Stops the apiserver and starts it again with `cluster`'s flags.
    pub async fn restart(&mut self, cluster: &ClusterState) -> anyhow::Result<()> {
        if let Some(old) = self.apiserver.take() {
            old.stop().await;
        }
        self.restarts += 1;
        self.start_apiserver(cluster).await
    }

    /// Writes the key files and starts kube-apiserver, waiting for `/readyz`.
    async fn start_apiserver(&mut self, cluster: &ClusterState) -> anyhow::Result<()> {
        let args = self.apiserver_args(cluster)?;
        let log = self
            .dir
            .path()
            .join(format!("kube-apiserver.{}.log", self.restarts));
        let mut process =
            Managed::spawn("kube-apiserver", &self.binaries.kube_apiserver, &args, log)?;
        let probe = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.pki.ca_pem.as_bytes())?)
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()?;
        let url = format!("{}/readyz", self.url());
        let token = self.token.clone();
        self.last_start = process
            .wait_ready(APISERVER_READY, || {
                let request = probe.get(&url).bearer_auth(&token).send();
                async move {
                    match request.await {
                        Ok(answer) => answer.status().is_success(),
                        Err(_) => false,
                    }
                }
            })
            .await?;
        self.apiserver = Some(process);
        Ok(())
    }

    /// kube-apiserver's command line for `cluster`.
    fn apiserver_args(&self, cluster: &ClusterState) -> anyhow::Result<Vec<String>> {
        let dir = self.dir.path();
        let keys = dir.join(format!("keys.{}", self.restarts));
        std::fs::create_dir_all(&keys)?;
        let flags = service_account_flags(cluster, &arg(&keys));
        for (name, contents) in &flags.files {
            std::fs::write(keys.join(name), contents)?;
        }
        let mut args = vec![
            format!("--etcd-servers={}", self.etcd_url),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={}", self.port),
            format!("--tls-cert-file={}", arg(&dir.join("serving.crt"))),
            format!("--tls-private-key-file={}", arg(&dir.join("serving.key"))),
            format!("--cert-dir={}", arg(&dir.join("certs"))),
            format!("--token-auth-file={}", arg(&dir.join("tokens.csv"))),
            "--authorization-mode=RBAC".into(),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            // One apiserver, no kube-proxy: nothing to reconcile, no request fairness to tune.
            "--endpoint-reconciler-type=none".into(),
            "--enable-priority-and-fairness=false".into(),
            "--profiling=false".into(),
        ];
        args.extend(flags.args);
        Ok(args)
    }

    /// Stops both processes and removes the directory.
    pub async fn stop(self) {
        if let Some(apiserver) = self.apiserver {
            apiserver.stop().await;
        }
        self.etcd.stop().await;
    }
}

/// etcd on two free loopback ports, data in `dir/etcd`, without fsync (throw-away data).
async fn start_etcd(program: &Path, dir: &Path) -> anyhow::Result<(Managed, String)> {
    let (client, peer) = (free_port()?, free_port()?);
    let url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let args = vec![
        "--name=irsa-lab".to_owned(),
        format!("--data-dir={}", arg(&dir.join("etcd"))),
        format!("--listen-client-urls={url}"),
        format!("--advertise-client-urls={url}"),
        format!("--listen-peer-urls={peer_url}"),
        format!("--initial-advertise-peer-urls={peer_url}"),
        format!("--initial-cluster=irsa-lab={peer_url}"),
        "--log-level=warn".into(),
        "--unsafe-no-fsync".into(),
    ];
    let mut etcd = Managed::spawn("etcd", program, &args, dir.join("etcd.log"))?;
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()?;
    let health = format!("{url}/health");
    etcd.wait_ready(ETCD_READY, || {
        let request = probe.get(&health).send();
        async move {
            match request.await {
                Ok(answer) => answer.text().await.is_ok_and(|t| t.contains("\"true\"")),
                Err(_) => false,
            }
        }
    })
    .await?;
    Ok((etcd, url))
}
