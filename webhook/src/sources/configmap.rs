//! The `pod-identity-webhook` ConfigMap (`--watch-config-map`).
//!
//! Its `data.config` JSON is parsed on every change. Improvement over the reference:
//! deleting the ConfigMap clears the configuration instead of keeping stale roles.

use std::sync::{Arc, RwLock};

/// Parser of `data.config`: the configuration plus warnings to log.
pub type ConfigParser<T> = Arc<dyn Fn(&str) -> (T, Vec<String>) + Send + Sync>;

/// A ConfigMap change as the watcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigMapEvent {
    /// Added or modified; `None` when it has no `config` key.
    Apply(Option<String>),
    /// Deleted.
    Delete,
}

/// The configuration currently derived from the ConfigMap.
pub struct ConfigMapState<T> {
    parse: ConfigParser<T>,
    current: RwLock<Arc<T>>,
}

impl<T> std::fmt::Debug for ConfigMapState<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigMapState").finish_non_exhaustive()
    }
}

impl<T: Default + Send + Sync + 'static> ConfigMapState<T> {
    /// Starts empty.
    pub fn new(parse: ConfigParser<T>) -> Arc<Self> {
        Arc::new(Self {
            parse,
            current: RwLock::new(Arc::new(T::default())),
        })
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<T> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies a watcher event; returns the parser's warnings.
    pub fn apply(&self, event: ConfigMapEvent) -> Vec<String> {
        let (cfg, warnings) = match event {
            ConfigMapEvent::Apply(Some(config)) => (self.parse)(&config),
            ConfigMapEvent::Apply(None) | ConfigMapEvent::Delete => (T::default(), Vec::new()),
        };
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cfg);
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_then_delete_clears() {
        let parse: ConfigParser<Vec<String>> = Arc::new(|s: &str| {
            let keys: Vec<String> = s.split(',').map(str::to_owned).collect();
            let warnings = keys
                .iter()
                .filter(|k| !k.contains('/'))
                .map(|k| format!("bad key {k}"))
                .collect();
            (keys, warnings)
        });
        let st = ConfigMapState::new(parse);
        let warnings = st.apply(ConfigMapEvent::Apply(Some("ns/a,b".into())));
        assert_eq!(warnings, vec!["bad key b".to_string()]);
        assert_eq!(st.current().len(), 2);
        st.apply(ConfigMapEvent::Delete);
        assert!(st.current().is_empty());
        st.apply(ConfigMapEvent::Apply(Some("ns/a".into())));
        st.apply(ConfigMapEvent::Apply(None));
        assert!(st.current().is_empty());
    }
}
