//! The webhook image as a container, on its own: it starts as the distroless `nonroot`
//! user, serves HTTPS with the certificate it is given, and says why it is not ready while
//! it has no apiserver to list ServiceAccounts from. `#[ignore]`d: it needs a Docker
//! engine and the image (`tools/ensure-docker && tools/build-images webhook`):
//!
//!   cargo test --test webhook_image -- --ignored

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use testcontainers::core::{IntoContainerPort, Mount};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: none\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: none\n  context: {cluster: none, user: none}\nusers:\n- name: none\n  user: {token: unused}\ncurrent-context: none\n";

/// A directory the container's user (65532) can read: the serving pair and a kubeconfig
/// naming an apiserver that is not there.
fn inputs(cert_pem: &str, key_pem: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    for (name, text) in [
        ("tls.crt", cert_pem),
        ("tls.key", key_pem),
        ("kubeconfig", KUBECONFIG),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("writable temp dir");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// The user the container's main process runs as, from the engine's own view.
fn process_uid(container_id: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["top", container_id, "-eo", "uid,pid"])
        .output()
        .expect("docker top runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or_else(|| {
            panic!(
                "docker top printed no process: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Docker and the image: tools/ensure-docker && tools/build-images webhook && cargo test --test webhook_image -- --ignored"]
async fn the_webhook_image_runs_as_nonroot_and_serves_https() {
    let pki = irsa_lab::backend::pki::loopback("webhook image test CA", "pod-identity-webhook")
        .expect("a certificate");
    let dir = inputs(&pki.cert_pem, &pki.key_pem);
    let container = GenericImage::new("pod-identity-webhook", "latest")
        .with_exposed_port(8443.tcp())
        .with_mount(Mount::bind_mount(
            dir.path().display().to_string(),
            "/inputs",
        ))
        .with_cmd([
            "--in-cluster=false",
            "--kubeconfig=/inputs/kubeconfig",
            "--tls-cert=/inputs/tls.crt",
            "--tls-key=/inputs/tls.key",
            "--port=8443",
            "--bind=0.0.0.0",
        ])
        .start()
        .await
        .expect("the webhook container starts");
    let port = container
        .get_host_port_ipv4(8443.tcp())
        .await
        .expect("port 8443 is published");
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .unwrap();
    // The process needs a moment to bind; every wait has an end.
    let mut health = None;
    for _ in 0..100 {
        if let Ok(answer) = client
            .get(format!("https://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            health = Some(answer.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        health.map(|s| s.as_u16()),
        Some(200),
        "GET /healthz over HTTPS, verified against the CA it was given"
    );
    let ready = client
        .get(format!("https://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .expect("/readyz answers");
    assert_eq!(ready.status().as_u16(), 503);
    let why = ready.text().await.unwrap_or_default();
    assert!(
        why.contains("ServiceAccount cache"),
        "not ready says why: {why}"
    );
    assert_eq!(
        process_uid(container.id()),
        "65532",
        "the distroless nonroot user"
    );
}
