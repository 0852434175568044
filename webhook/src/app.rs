//! Server mode: flags -> Kubernetes client, identity sources, admission, HTTPS server.

use std::sync::Arc;

use anyhow::Context;

use crate::admission::Admission;
use crate::config::MutationConfig;
use crate::flags::Flags;
use crate::identity::{ConfigMapIdentities, ContainerCredentialsIdentities};
use crate::identity_kube::LiveSources;
use crate::server::limits::ConnectionLimits;
use crate::server::metrics::Metrics;
use crate::server::router::AppState;
use crate::server::tls_options::TlsOptions;
use crate::server::{CertSource, DRAIN, ServerOptions};
use crate::sources::kube_sources::{KubeSources, SourceOptions};

/// Runs the webhook until SIGTERM/Ctrl-C. Invalid TLS flags are fatal before anything
/// starts, as in the reference.
pub async fn run_server(flags: &Flags) -> anyhow::Result<()> {
    let tls = TlsOptions::parse(&flags.tls_min_version, &flags.tls_cipher_suites)
        .context("invalid TLS flags")?;
    let client = crate::sources::kube_watch::client(&flags.kubeconfig, &flags.kube_api)
        .await
        .context("failed to build the Kubernetes client")?;
    let source_options = SourceOptions {
        annotation_prefix: flags.annotation_prefix.clone(),
        namespace: flags.namespace.clone(),
        watch_config_map: flags.watch_config_map,
        container_credentials_file: Some(flags.watch_container_credentials_config.clone())
            .filter(|p| !p.is_empty())
            .map(Into::into),
        grace_period: flags.service_account_lookup_grace_period,
    };
    let sources: Arc<LiveSources> = Arc::new(KubeSources::spawn(
        client.clone(),
        &source_options,
        Arc::new(ConfigMapIdentities::parse),
        Arc::new(ContainerCredentialsIdentities::parse),
    ));
    let state = AppState {
        reviewer: Arc::new(Admission::new(
            Arc::clone(&sources),
            MutationConfig::from_flags(flags),
        )),
        ready: crate::sources::readiness(Arc::clone(sources.store())),
        metrics: Metrics::new(),
    };
    let cert = if flags.in_cluster {
        CertSource::InCluster {
            namespace: flags.namespace.clone(),
            service: flags.service_name.clone(),
            secret: flags.tls_secret.clone(),
            webhook_configuration: flags.webhook_configuration.clone(),
        }
    } else {
        CertSource::Files {
            cert: flags.tls_cert.clone(),
            key: flags.tls_key.clone(),
        }
    };
    let options = ServerOptions {
        bind: flags.bind,
        port: flags.port,
        metrics_port: flags.metrics_port,
        tls,
        cert,
        drain: DRAIN,
        limits: ConnectionLimits {
            tls_handshake: flags.tls_handshake_timeout,
            header_read: flags.header_read_timeout,
            // Admission bodies arrive at once; a pause as long as a head's is already odd.
            body_idle: flags.header_read_timeout,
        },
    };
    crate::server::run(options, state, Some(client))
        .await
        .context("the server failed")?;
    Ok(())
}
