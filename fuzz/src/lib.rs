//! What the fuzz targets share: one emulator with a published issuer (built once per
//! process, since key generation and setup cost far more than one execution), a
//! single-threaded runtime to drive its async handlers, and input splitting.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::Request;
use http_body_util::BodyExt;
use irsa_emulator::clock::ManualClock;
use irsa_emulator::issuer::{DiscoveryDocument, PrivateKey, jwks};
use irsa_emulator::s3::Acl;
use irsa_emulator::server::{Emulator, EmulatorConfig};
use tower::ServiceExt;

/// The emulator's clock (2026-12-02): the seed tokens, issued for a year from 2026-12-01, are
/// valid at this instant.
pub const NOW: i64 = 1_796_200_000;
pub const BUCKET: &str = "oidc-test";
pub const ISSUER: &str = "https://s3.us-east-1.amazonaws.com/oidc-test";
pub const PROVIDER_KEY: &str = "s3.us-east-1.amazonaws.com/oidc-test";
pub const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/s3-reader";

/// Executions one lab serves before it is rebuilt (see [`Lab::with`]).
pub const RECYCLE_AFTER: u32 = 10_000;

/// An emulator whose issuer is published in its own S3 (no network), with an IAM provider
/// and a role trusting `system:serviceaccount:default:app`.
#[derive(Debug)]
pub struct Lab {
    pub emulator: Emulator,
    pub router: Router,
    /// P-256: signing and verifying cost tens of microseconds, not RSA's milliseconds.
    pub key: PrivateKey,
}

impl Lab {
    fn new() -> Self {
        // A committed key, so the seed corpus holds tokens this lab accepts.
        let key = PrivateKey::from_pem(include_str!("lab-signer.key")).expect("lab key");
        // Public-read objects: buckets with the pre-2023 defaults.
        let emulator = Emulator::new(EmulatorConfig {
            clock: Arc::new(ManualClock::at_unix(NOW)),
            s3_bucket_defaults: irsa_emulator::s3::BucketDefaults::Legacy,
            ..EmulatorConfig::default()
        });
        let s3 = emulator.s3();
        s3.create_bucket(BUCKET, None).expect("bucket");
        let discovery =
            DiscoveryDocument::new(ISSUER, Some(&format!("{ISSUER}/keys.json")), &["ES256"]);
        s3.put_object(
            BUCKET,
            ".well-known/openid-configuration",
            Bytes::from(serde_json::to_vec(&discovery).expect("discovery")),
            None,
            Acl::PublicRead,
        )
        .expect("discovery object");
        s3.put_object(
            BUCKET,
            "keys.json",
            Bytes::from(serde_json::to_vec(&jwks(&[key.public_key()], false)).expect("jwks")),
            None,
            Acl::PublicRead,
        )
        .expect("jwks object");
        emulator
            .iam()
            .create_provider(ISSUER, &["sts.amazonaws.com".into()], &[])
            .expect("provider");
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{PROVIDER_KEY}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{PROVIDER_KEY}:sub"): "system:serviceaccount:default:app",
                    format!("{PROVIDER_KEY}:aud"): "sts.amazonaws.com"
                }}
            }]
        });
        emulator
            .iam()
            .create_role("s3-reader", None, &trust.to_string(), None)
            .expect("role");
        Self {
            router: emulator.router(),
            emulator,
            key,
        }
    }

    /// Runs `f` with this thread's lab. Every [`RECYCLE_AFTER`] executions the lab is
    /// replaced by a fresh one: each accepted AssumeRoleWithWebIdentity stores a credential
    /// and IAM calls create roles, so one lab for a whole run would grow without bound and
    /// make executions depend on their history.
    pub fn with<R>(f: impl FnOnce(&Lab) -> R) -> R {
        thread_local! {
            static LAB: RefCell<(Option<Lab>, u32)> = const { RefCell::new((None, 0)) };
        }
        LAB.with(|cell| {
            let mut cell = cell.borrow_mut();
            let (lab, uses) = &mut *cell;
            if lab.is_none() || *uses >= RECYCLE_AFTER {
                *lab = Some(Lab::new());
                *uses = 0;
            }
            *uses += 1;
            f(lab.as_ref().expect("lab was just built"))
        })
    }

    /// Sends `request` through the emulator's router in-process and reads the whole
    /// answer, as the HTTP server would.
    pub fn send(&self, request: Request<Body>) -> (http::StatusCode, Bytes) {
        runtime().block_on(async {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .unwrap_or_else(|e| match e {});
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            (status, body)
        })
    }
}

/// A single-threaded runtime: executions stay deterministic and cheap.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// Splits `data` at the first `\n`: (first line, rest). Targets that need several inputs
/// (a Host and a path, a query and headers) read them as lines, so seeds stay readable.
pub fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// A 500 is what an unexpected failure in a handler turns into; the fuzz targets treat it
/// as a crash. (501 NotImplemented is a legitimate answer to an unknown operation.)
pub fn assert_not_internal_error(status: http::StatusCode, body: &[u8]) {
    assert!(
        status != http::StatusCode::INTERNAL_SERVER_ERROR,
        "server error {status}: {}",
        String::from_utf8_lossy(body)
    );
}

/// Integers where arithmetic on untrusted numbers breaks (overflow one step away, the
/// edges of i64/u64/u32, f64's exact-integer limit), for [`with_boundary_number`].
const BOUNDARIES: &[&str] = &[
    "9223372036854775807",
    "9223372036854775806",
    "9223372036854775507",
    "-9223372036854775808",
    "18446744073709551615",
    "4294967295",
    "4294967296",
    "2147483648",
    "9007199254740993",
    "-1",
    "0",
    "1e300",
];

/// A structure-aware mutation for JSON inputs: one number (or all-digit string) of the
/// document, or of one of its lines, set to a [`BOUNDARIES`] value picked by `seed`.
/// libFuzzer's own mutations keep a decimal's digit count, so they rarely reach these.
/// `None` when `data` holds no JSON with a number in it.
pub fn with_boundary_number(data: &[u8], seed: u32) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(data).ok()?;
    let mut docs: Vec<Option<serde_json::Value>> = match serde_json::from_str(text) {
        Ok(doc) => vec![Some(doc)],
        Err(_) => text
            .split('\n')
            .map(|l| serde_json::from_str(l).ok())
            .collect(),
    };
    let mut slots = Vec::new();
    for doc in docs.iter_mut().flatten() {
        collect_numbers(doc, &mut slots);
    }
    if slots.is_empty() {
        return None;
    }
    let slot = slots.swap_remove(seed as usize % slots.len());
    let value = BOUNDARIES[(seed as usize / 7) % BOUNDARIES.len()];
    *slot = if slot.is_string() {
        serde_json::Value::String(value.to_owned())
    } else {
        serde_json::from_str(value).unwrap_or(serde_json::Value::Null)
    };
    let lines: Vec<String> = docs
        .iter()
        .zip(text.split('\n'))
        .map(|(doc, line)| match doc {
            Some(doc) => doc.to_string(),
            None => line.to_owned(),
        })
        .collect();
    Some(lines.join("\n").into_bytes())
}

fn collect_numbers<'a>(value: &'a mut serde_json::Value, out: &mut Vec<&'a mut serde_json::Value>) {
    match value {
        serde_json::Value::Number(_) => out.push(value),
        serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            out.push(value)
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| collect_numbers(v, out)),
        serde_json::Value::Object(members) => {
            members.values_mut().for_each(|v| collect_numbers(v, out))
        }
        _ => {}
    }
}

/// The custom mutator of the JSON targets: one time in four a boundary number, otherwise
/// libFuzzer's own mutations.
#[macro_export]
macro_rules! json_number_mutator {
    () => {
        libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
            if seed % 4 == 0
                && let Some(mutated) = $crate::with_boundary_number(&data[..size], seed / 4)
                && mutated.len() <= max_size
            {
                data[..mutated.len()].copy_from_slice(&mutated);
                return mutated.len();
            }
            libfuzzer_sys::fuzzer_mutate(data, size, max_size)
        });
    };
}
