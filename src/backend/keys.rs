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

type Pool = Mutex<HashMap<(KeyAlgorithmSpec, usize), PrivateKey>>;

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(Default::default)
}

/// Makes `key` the `slot`-th key of `spec` for the rest of the process, unless that slot
/// was already handed out (then `false`: scenarios hold the other key). The kind backend
/// adopts the cluster's own service-account key as the first RSA key, so the tokens the
/// cluster's components hold keep verifying under every scenario that keeps its first key.
pub fn adopt(spec: KeyAlgorithmSpec, slot: usize, key: PrivateKey) -> bool {
    let mut pool = pool().lock().unwrap_or_else(|e| e.into_inner());
    match pool.get(&(spec, slot)) {
        Some(held) => held.to_pem() == key.to_pem(),
        None => {
            pool.insert((spec, slot), key);
            true
        }
    }
}

/// The `slot`-th key of `spec` generated in this process.
pub fn pooled(spec: KeyAlgorithmSpec, slot: usize) -> PrivateKey {
    let pool = pool();
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
