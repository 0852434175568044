//! The scenario's clock on backends whose parts read the real one (a real kube-apiserver,
//! a real kubelet): it follows the real time step by step, and a short `advanceClock` is
//! waited out for real (a longer one is declared not playable: see [`REAL_WAIT`]).

use std::time::Duration;

use irsa_emulator::clock::{Clock, ManualClock};

/// An `advanceClock` this short is played by waiting for real.
pub const REAL_WAIT: Duration = Duration::from_secs(15);

/// Brings the scenario's clock up to the real time, the only time a real apiserver knows
/// (so STS, caches and credentials agree with the tokens' `iat`), in whole seconds as
/// tokens and STS count them.
pub fn catch_up(clock: &ManualClock) {
    let now = time::OffsetDateTime::now_utc();
    let whole = now.replace_nanosecond(0).unwrap_or(now);
    if whole > clock.now() {
        clock.set(whole);
    }
}

/// After `advanceClock`: sleeps until the real clock is where the scenario's is, when that
/// is at most [`REAL_WAIT`] ahead.
pub async fn wait_for(clock: &ManualClock) {
    let ahead = clock.now() - time::OffsetDateTime::now_utc();
    if ahead.is_positive()
        && let Ok(wait) = Duration::try_from(ahead)
        && wait <= REAL_WAIT
    {
        tokio::time::sleep(wait).await;
    }
}
