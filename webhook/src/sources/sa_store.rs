//! In-memory ServiceAccount cache fed by a watcher.
//!
//! Only what the mutation needs is kept: namespace, name, and the annotations under the
//! prefix. Namespace strings are interned (thousands of SAs share a few namespaces), so
//! 50,000 SAs cost a few MiB instead of the megabytes of whole objects.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::Notify;

/// A ServiceAccount stripped to what the webhook uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaEntry {
    /// Namespace (interned).
    pub namespace: Arc<str>,
    /// Name.
    pub name: Box<str>,
    /// Annotations whose key starts with `<prefix>/`, key and value as written.
    pub annotations: Box<[(Box<str>, Box<str>)]>,
}

impl SaEntry {
    /// The annotations as an ordered map.
    pub fn annotation_map(&self) -> BTreeMap<String, String> {
        self.annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// One watcher event, independent of kube-rs' types so the store is testable without a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaEvent {
    /// An SA was added or modified.
    Apply(SaObject),
    /// An SA was deleted.
    Delete {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// A (re)list starts: the objects that follow replace the whole cache at `InitDone`.
    Init,
    /// An object of the (re)list.
    InitApply(SaObject),
    /// The (re)list is complete.
    InitDone,
}

/// The metadata of an SA as the watcher delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaObject {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Every annotation of the object (filtered on insert).
    pub annotations: BTreeMap<String, String>,
}

type Key = (Arc<str>, Box<str>);

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Key, Arc<SaEntry>>,
    namespaces: HashSet<Arc<str>>,
    /// Objects of a relist in progress (kept apart so lookups see the old state until done).
    pending: Option<HashMap<Key, Arc<SaEntry>>>,
}

/// The cache. Cheap to share (`Arc<SaStore>`).
#[derive(Debug)]
pub struct SaStore {
    prefix: String,
    inner: RwLock<Inner>,
    synced: AtomicBool,
    changed: Notify,
}

impl SaStore {
    /// A new, unsynced store keeping annotations that start with `<annotation_prefix>/`.
    pub fn new(annotation_prefix: &str) -> Arc<Self> {
        Arc::new(Self {
            prefix: format!("{annotation_prefix}/"),
            inner: RwLock::new(Inner::default()),
            synced: AtomicBool::new(false),
            changed: Notify::new(),
        })
    }

    /// Whether the initial list has completed.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Number of cached SAs.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Looks an SA up.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<SaEntry>> {
        let inner = self.read();
        let ns = inner.namespaces.get(namespace)?;
        inner
            .entries
            .get(&(Arc::clone(ns), Box::from(name)))
            .cloned()
    }

    /// Whether any cached SA carries `<prefix>/role-arn` (for `pod_identity_webhook_used`).
    pub fn any_role_arn(&self) -> bool {
        let key = format!("{}role-arn", self.prefix);
        self.read()
            .entries
            .values()
            .any(|e| e.annotations.iter().any(|(k, _)| **k == *key))
    }

    /// Resolves when the store changes (an apply or a completed relist).
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// Applies one watcher event.
    pub fn apply(&self, event: SaEvent) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        match event {
            SaEvent::Apply(obj) => {
                let (key, entry) = self.entry(&mut inner, obj);
                inner.entries.insert(key, entry);
                drop(inner);
                self.changed.notify_waiters();
            }
            SaEvent::Delete { namespace, name } => {
                if let Some(ns) = inner.namespaces.get(namespace.as_str()).cloned() {
                    inner.entries.remove(&(ns, name.into_boxed_str()));
                }
            }
            SaEvent::Init => inner.pending = Some(HashMap::new()),
            SaEvent::InitApply(obj) => {
                let (key, entry) = self.entry(&mut inner, obj);
                inner
                    .pending
                    .get_or_insert_with(HashMap::new)
                    .insert(key, entry);
            }
            SaEvent::InitDone => {
                let fresh = inner.pending.take().unwrap_or_default();
                inner.entries = fresh;
                // Drop namespaces no SA uses any more.
                let used: HashSet<Arc<str>> =
                    inner.entries.keys().map(|(ns, _)| Arc::clone(ns)).collect();
                inner.namespaces = used;
                inner.entries.shrink_to_fit();
                drop(inner);
                self.synced.store(true, Ordering::Release);
                self.changed.notify_waiters();
            }
        }
    }

    fn entry(&self, inner: &mut Inner, obj: SaObject) -> (Key, Arc<SaEntry>) {
        let ns = match inner.namespaces.get(obj.namespace.as_str()) {
            Some(ns) => Arc::clone(ns),
            None => {
                let ns: Arc<str> = Arc::from(obj.namespace.as_str());
                inner.namespaces.insert(Arc::clone(&ns));
                ns
            }
        };
        let annotations: Box<[(Box<str>, Box<str>)]> = obj
            .annotations
            .into_iter()
            .filter(|(k, _)| k.starts_with(&self.prefix))
            .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
            .collect();
        let name: Box<str> = obj.name.into_boxed_str();
        let entry = Arc::new(SaEntry {
            namespace: Arc::clone(&ns),
            name: name.clone(),
            annotations,
        });
        ((ns, name), entry)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(ns: &str, name: &str, ann: &[(&str, &str)]) -> SaObject {
        SaObject {
            namespace: ns.into(),
            name: name.into(),
            annotations: ann
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn keeps_only_prefixed_annotations_and_counts_unannotated_as_found() {
        let s = SaStore::new("eks.amazonaws.com");
        s.apply(SaEvent::Apply(sa(
            "default",
            "app",
            &[
                (
                    "eks.amazonaws.com/role-arn",
                    "arn:aws:iam::111122223333:role/r",
                ),
                ("kubectl.kubernetes.io/last-applied-configuration", "{...}"),
            ],
        )));
        s.apply(SaEvent::Apply(sa("default", "plain", &[])));
        let e = s.get("default", "app").unwrap();
        assert_eq!(e.annotations.len(), 1);
        assert_eq!(&*e.annotations[0].0, "eks.amazonaws.com/role-arn");
        assert!(s.get("default", "plain").is_some());
        assert!(s.get("other", "app").is_none());
        assert!(s.any_role_arn());
    }

    #[test]
    fn delete_removes() {
        let s = SaStore::new("eks.amazonaws.com");
        s.apply(SaEvent::Apply(sa("ns", "a", &[])));
        s.apply(SaEvent::Delete {
            namespace: "ns".into(),
            name: "a".into(),
        });
        assert!(s.get("ns", "a").is_none());
        // Deleting something unknown is harmless.
        s.apply(SaEvent::Delete {
            namespace: "nope".into(),
            name: "a".into(),
        });
        assert!(s.is_empty());
    }

    #[test]
    fn relist_replaces_and_marks_synced() {
        let s = SaStore::new("eks.amazonaws.com");
        s.apply(SaEvent::Init);
        s.apply(SaEvent::InitApply(sa("ns", "old", &[])));
        assert!(!s.is_synced());
        // Until InitDone, the relist is not visible.
        assert!(s.get("ns", "old").is_none());
        s.apply(SaEvent::InitDone);
        assert!(s.is_synced());
        assert!(s.get("ns", "old").is_some());
        // A watch restart relists: objects deleted meanwhile disappear at InitDone.
        s.apply(SaEvent::Init);
        s.apply(SaEvent::InitApply(sa("ns2", "new", &[])));
        assert!(s.get("ns", "old").is_some());
        s.apply(SaEvent::InitDone);
        assert!(s.get("ns", "old").is_none());
        assert!(s.get("ns2", "new").is_some());
        assert_eq!(s.len(), 1);
    }
}
