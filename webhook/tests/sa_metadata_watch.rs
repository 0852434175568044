//! The ServiceAccount watch is metadata-only on the wire: a loopback HTTP server stands in
//! for the apiserver, records what the watcher asks for, and answers the initial list
//! with a `PartialObjectMetadataList`. The test checks the Accept header of the list (the
//! apiserver strips objects to metadata only when asked this way) and that the cache is
//! filled from the answer.

use std::sync::{Arc, Mutex};

use pod_identity_webhook::sources::kube_watch::watch_service_accounts;
use pod_identity_webhook::sources::sa_store::SaStore;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as the stand-in apiserver saw it.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    accept: Option<String>,
}

const LIST: &str = r#"{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"10"},"items":[{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"app","namespace":"team-a","resourceVersion":"9","annotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::111122223333:role/app","unrelated/x":"y"}}}]}"#;

/// Serves the list to the first request; later requests (the watch) get their headers
/// recorded and are held open, as a watch with no events would be.
async fn apiserver(listener: TcpListener, seen: Arc<Mutex<Vec<Seen>>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut reader = BufReader::new(read);
            loop {
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                    return;
                }
                let mut accept = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("accept")
                    {
                        accept = Some(value.trim().to_owned());
                    }
                }
                let is_watch = request_line.contains("watch=true");
                seen.lock().unwrap().push(Seen {
                    request_line: request_line.trim_end().to_owned(),
                    accept,
                });
                if is_watch {
                    // Hold the watch open without events until the test ends.
                    std::future::pending::<()>().await;
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{LIST}",
                    LIST.len()
                );
                if write.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[tokio::test]
async fn the_service_account_list_asks_for_partial_object_metadata() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = tokio::spawn(apiserver(listener, Arc::clone(&seen)));

    pod_identity_webhook::sources::kube_client::install_crypto_provider();
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let store = SaStore::new("eks.amazonaws.com");
    let watch = tokio::spawn(watch_service_accounts(client, Arc::clone(&store)));

    // Bounded guard against a hang; the list is answered at once on loopback.
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while !store.is_synced() {
            let changed = store.changed();
            if store.is_synced() {
                break;
            }
            changed.await;
        }
    })
    .await
    .expect("the watcher never completed its initial list");

    let seen = seen.lock().unwrap().clone();
    let list = seen
        .iter()
        .find(|s| s.request_line.starts_with("GET /api/v1/serviceaccounts?"))
        .unwrap_or_else(|| panic!("no ServiceAccount list request: {seen:?}"));
    let accept = list.accept.as_deref().unwrap_or_default();
    assert!(
        accept
            .split(',')
            .next()
            .is_some_and(|first| first.starts_with("application/json")
                && first.contains("as=PartialObjectMetadataList")
                && first.contains("g=meta.k8s.io")
                && first.contains("v=v1")),
        "the list must ask for PartialObjectMetadataList first, got Accept: {accept:?}"
    );

    let entry = store.get("team-a", "app").expect("the listed SA is cached");
    assert_eq!(
        entry.annotation_map().get("eks.amazonaws.com/role-arn"),
        Some(&"arn:aws:iam::111122223333:role/app".to_owned())
    );
    assert!(!entry.annotation_map().contains_key("unrelated/x"));

    watch.abort();
    server.abort();
}
