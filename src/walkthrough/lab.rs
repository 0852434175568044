//! The walkthrough's world: the emulator on a loopback port and a virtual clock, the
//! cluster's signing keys, and a directory standing in for the pod's token volume.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use irsa_emulator::clock::{Clock, ManualClock};
use irsa_emulator::issuer::{BoundTokenRequest, KidMode, ObjectRef, PrivateKey, sign_bound_token};
use irsa_emulator::server::{Emulator, EmulatorConfig};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::aws_client::AwsClient;

pub const BUCKET: &str = "oidc-test";
pub const ISSUER: &str = "https://s3.us-east-1.amazonaws.com/oidc-test";
pub const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/s3-reader";

/// A running emulator plus what the cluster side holds.
#[derive(Debug)]
pub struct WalkthroughLab {
    pub emulator: Emulator,
    pub clock: Arc<ManualClock>,
    pub client: AwsClient,
    pub token_dir: tempfile::TempDir,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl WalkthroughLab {
    pub async fn start() -> anyhow::Result<Self> {
        // Whole seconds keep the printed times tidy.
        let start = OffsetDateTime::now_utc().unix_timestamp();
        let clock = Arc::new(ManualClock::at_unix(start));
        let emulator = Emulator::new(EmulatorConfig {
            clock: clock.clone(),
            ..EmulatorConfig::default()
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = emulator.router();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            client: AwsClient::new(format!("http://{addr}")),
            emulator,
            clock,
            token_dir: tempfile::tempdir()?,
            addr,
            stop: Some(stop),
            server: Some(server),
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// A projected token as kube-apiserver issues it for the `app` service account.
    pub fn token(
        &self,
        key: &PrivateKey,
        kid: KidMode,
        issuer: &str,
        audience: &str,
        issued_at: i64,
    ) -> String {
        let request = BoundTokenRequest {
            issuer: issuer.to_owned(),
            audiences: vec![audience.to_owned()],
            namespace: "default".into(),
            service_account: ObjectRef::new("app", uuid::Uuid::new_v4().to_string()),
            pod: Some(ObjectRef::new("app-0", uuid::Uuid::new_v4().to_string())),
            node: Some(ObjectRef::new("node-1", uuid::Uuid::new_v4().to_string())),
            secret: None,
            issued_at,
            expiration_seconds: 86_400,
            warn_after: None,
            jti: Some(uuid::Uuid::new_v4().to_string()),
        };
        sign_bound_token(&request, key, kid)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}
