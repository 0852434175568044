//! The `--watch-container-credentials-config` file, reloaded when it changes.
//!
//! Semantics (spec): a missing or empty file clears the configuration; a malformed file
//! keeps the previous configuration and logs why. The file is polled (its bytes compared)
//! because ConfigMap volumes change through symlink swaps that path watches miss.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Parser of the file's bytes into the configuration.
pub type Parser<T> = Arc<dyn Fn(&[u8]) -> Result<T, String> + Send + Sync>;

/// What the last reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// Same bytes as before: nothing to do.
    Unchanged,
    /// The file is missing or empty: configuration cleared.
    Cleared,
    /// A new configuration was installed.
    Loaded,
    /// The file is malformed (message); the previous configuration is kept.
    Kept(String),
}

/// The current configuration and where it comes from.
pub struct WatchedFile<T> {
    path: PathBuf,
    parse: Parser<T>,
    current: RwLock<Arc<T>>,
    last_bytes: RwLock<Option<Vec<u8>>>,
}

impl<T> std::fmt::Debug for WatchedFile<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<T: Default + Send + Sync + 'static> WatchedFile<T> {
    /// Starts empty; call [`reload`](Self::reload) or [`spawn`](Self::spawn) to load.
    pub fn new(path: impl Into<PathBuf>, parse: Parser<T>) -> Arc<Self> {
        Arc::new(Self {
            path: path.into(),
            parse,
            current: RwLock::new(Arc::new(T::default())),
            last_bytes: RwLock::new(None),
        })
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<T> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the file again and applies the spec's semantics.
    pub fn reload(&self) -> Reload {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Reload::Kept(format!("failed to read {}: {e}", self.path.display())),
        };
        if self
            .last_bytes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
            == Some(bytes.as_slice())
        {
            return Reload::Unchanged;
        }
        let outcome = if bytes.iter().all(u8::is_ascii_whitespace) {
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(T::default());
            Reload::Cleared
        } else {
            match (self.parse)(&bytes) {
                Ok(cfg) => {
                    *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cfg);
                    Reload::Loaded
                }
                Err(e) => Reload::Kept(format!("malformed {}: {e}", self.path.display())),
            }
        };
        *self.last_bytes.write().unwrap_or_else(|p| p.into_inner()) = Some(bytes);
        outcome
    }

    /// Loads now, then polls every `interval`; logs each change.
    pub fn spawn(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match this.reload() {
                    Reload::Unchanged => {}
                    Reload::Cleared => {
                        tracing::info!(path = %this.path.display(), "container-credentials config missing or empty: cleared")
                    }
                    Reload::Loaded => {
                        tracing::info!(path = %this.path.display(), "container-credentials config loaded")
                    }
                    Reload::Kept(e) => {
                        tracing::error!(error = %e, "keeping the previous container-credentials config")
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> Parser<Vec<String>> {
        Arc::new(|b: &[u8]| serde_json::from_slice::<Vec<String>>(b).map_err(|e| e.to_string()))
    }

    #[test]
    fn missing_clears_malformed_keeps_valid_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cc.json");
        let w = WatchedFile::new(&path, parser());
        assert_eq!(w.reload(), Reload::Cleared);
        std::fs::write(&path, r#"["a"]"#).unwrap();
        assert_eq!(w.reload(), Reload::Loaded);
        assert_eq!(*w.current(), vec!["a".to_string()]);
        assert_eq!(w.reload(), Reload::Unchanged);
        std::fs::write(&path, r#"["a", "#).unwrap();
        assert!(matches!(w.reload(), Reload::Kept(m) if m.contains("cc.json")));
        assert_eq!(*w.current(), vec!["a".to_string()]);
        std::fs::write(&path, "  \n").unwrap();
        assert_eq!(w.reload(), Reload::Cleared);
        assert!(w.current().is_empty());
        std::fs::write(&path, r#"["b"]"#).unwrap();
        assert_eq!(w.reload(), Reload::Loaded);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(w.reload(), Reload::Cleared);
        assert!(w.current().is_empty());
    }
}
