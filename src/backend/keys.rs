//! Key pairs for scenarios. Generating RSA keys is slow (RSA-4096 takes seconds), and a
//! scenario's keys only matter by name, so each (algorithm, slot) is generated once per
//! process and reused: the library runs in well under the time one key set would cost per
//! scenario. Different names in one scenario always get different keys.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use irsa_emulator::issuer::{KeyAlgorithm, PrivateKey};

use crate::scenario::model::KeyAlgorithmSpec;

pub fn algorithm(spec: KeyAlgorithmSpec) -> KeyAlgorithm {
    match spec {
        KeyAlgorithmSpec::Rsa2048 => KeyAlgorithm::Rsa2048,
        KeyAlgorithmSpec::Rsa4096 => KeyAlgorithm::Rsa4096,
        KeyAlgorithmSpec::EcP256 => KeyAlgorithm::EcP256,
        KeyAlgorithmSpec::EcP384 => KeyAlgorithm::EcP384,
        KeyAlgorithmSpec::EcP521 => KeyAlgorithm::EcP521,
    }
}

/// The `slot`-th key of `spec` generated in this process.
pub fn pooled(spec: KeyAlgorithmSpec, slot: usize) -> PrivateKey {
    static POOL: OnceLock<Mutex<HashMap<(KeyAlgorithmSpec, usize), PrivateKey>>> = OnceLock::new();
    let pool = POOL.get_or_init(Default::default);
    if let Some(key) = pool
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(spec, slot))
    {
        return key.clone();
    }
    // Generated outside the lock: parallel test threads generate different slots at once.
    let key = PrivateKey::generate(algorithm(spec));
    pool.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((spec, slot))
        .or_insert(key)
        .clone()
}
