//! Resident memory of the ServiceAccount cache with 50,000 SAs, fed the way the watcher
//! feeds it (an initial list: Init, InitApply..., InitDone).
//!
//! Run: `cargo bench -p pod-identity-webhook --bench sa_memory`

use std::collections::BTreeMap;

use pod_identity_webhook::sources::sa_store::{SaEvent, SaObject, SaStore};

fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    const COUNT: usize = 50_000;
    let before = vm_rss_kib().unwrap_or(0);
    let store = SaStore::new("eks.amazonaws.com");
    store.apply(SaEvent::Init);
    for i in 0..COUNT {
        // 500 namespaces of 100 SAs; one in four annotated with a role, and every object
        // carrying the kind of unrelated annotation real clusters have (dropped on insert).
        let mut annotations = BTreeMap::new();
        annotations.insert(
            "kubectl.kubernetes.io/last-applied-configuration".to_owned(),
            format!(
                r#"{{"apiVersion":"v1","kind":"ServiceAccount","metadata":{{"name":"sa-{i}"}}}}"#
            ),
        );
        if i % 4 == 0 {
            annotations.insert(
                "eks.amazonaws.com/role-arn".to_owned(),
                format!("arn:aws:iam::111122223333:role/workload-{i}"),
            );
        }
        store.apply(SaEvent::InitApply(SaObject {
            namespace: format!("team-{:03}", i / 100),
            name: format!("service-account-{i}"),
            annotations,
        }));
    }
    store.apply(SaEvent::InitDone);
    let after = vm_rss_kib().unwrap_or(0);
    assert_eq!(store.len(), COUNT);
    println!(
        "sa cache: {COUNT} ServiceAccounts, VmRSS {:.1} MiB before, {:.1} MiB after (+{:.1} MiB)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / 1024.0
    );
}
