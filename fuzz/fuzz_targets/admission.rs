//! AdmissionReview decoding and the pod mutation behind it, as `/mutate` and the offline
//! `mutate` run them, on any bytes. A ServiceAccount `default/app` with a role exists, so
//! seeds reach the patch; an answer must echo the request's uid.
#![no_main]

use irsa_lab_fuzz::runtime;
use libfuzzer_sys::fuzz_target;
use pod_identity_webhook::admission::review;
use pod_identity_webhook::config::MutationConfig;
use pod_identity_webhook::identity::{ServiceAccountInfo, StaticSources};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::OnceLock;

fn sources() -> &'static StaticSources {
    static SOURCES: OnceLock<StaticSources> = OnceLock::new();
    SOURCES.get_or_init(|| StaticSources {
        service_accounts: vec![ServiceAccountInfo::with_role_arn(
            "default",
            "app",
            "eks.amazonaws.com",
            "arn:aws:iam::111122223333:role/app",
        )],
        ..StaticSources::default()
    })
}

fuzz_target!(|data: &[u8]| {
    let cfg = MutationConfig::default();
    let mut rng = StdRng::seed_from_u64(1);
    if let Ok(outcome) = runtime().block_on(review(data, sources(), &cfg, &mut rng)) {
        // What goes on the wire (kube's typed review plus the base64 patch).
        let wire = outcome.to_json().expect("the answer serialises");
        let answer: serde_json::Value = serde_json::from_slice(&wire).expect("the answer is JSON");
        // serde_json skips fields a typed decoder ignores without validating their escapes
        // (a lone `\ud800` there is accepted), so an untyped re-read of the input can fail
        // where the review succeeded: compare uids only when it reads.
        if let Ok(sent) = serde_json::from_slice::<serde_json::Value>(data) {
            assert_eq!(
                answer["response"]["uid"], sent["request"]["uid"],
                "the answer names the request it answers"
            );
        }
    }
});

irsa_lab_fuzz::json_number_mutator!();
