//! Shutdown signalling: SIGTERM or Ctrl-C flips a watch channel every listener observes.

use tokio::sync::watch;

/// Sender side: call [`Shutdown::trigger`] to stop the listeners.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A not-yet-triggered shutdown.
    pub fn new() -> Self {
        Self {
            tx: watch::channel(false).0,
        }
    }

    /// Starts the shutdown.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// A future resolving once the shutdown has been triggered.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // An error means every sender is gone: treat it as a shutdown too.
            let _ = rx.wait_for(|v| *v).await;
        }
    }

    /// Triggers the shutdown on SIGTERM or Ctrl-C.
    pub fn on_signals(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = ctrl_c => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = ctrl_c.await;
                    }
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
            tracing::info!("shutdown signal received, draining connections");
            this.trigger();
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_resolves_after_trigger() {
        let s = Shutdown::new();
        let w = s.wait();
        let waiter = tokio::spawn(w);
        assert!(!waiter.is_finished());
        s.trigger();
        waiter.await.unwrap();
        // Subscribing after the trigger resolves at once.
        s.wait().await;
    }
}
