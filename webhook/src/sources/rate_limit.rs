//! Token bucket for direct ServiceAccount GETs (10/s, burst 20 like the reference's client).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket; `acquire` waits for a token.
#[derive(Debug)]
pub struct TokenBucket {
    rate_per_sec: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket refilled at `rate_per_sec`, holding at most `burst` tokens.
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        Self {
            rate_per_sec,
            burst: f64::from(burst),
            state: Mutex::new((f64::from(burst), Instant::now())),
        }
    }

    /// Takes a token now, or says how long until one is available (the token is reserved).
    fn reserve(&self) -> Duration {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(st.1).as_secs_f64();
        st.0 = (st.0 + elapsed * self.rate_per_sec).min(self.burst);
        st.1 = now;
        st.0 -= 1.0;
        if st.0 >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-st.0 / self.rate_per_sec)
        }
    }

    /// Waits until a token is available and takes it.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate() {
        let b = TokenBucket::new(10.0, 20);
        let start = Instant::now();
        for _ in 0..20 {
            b.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        for _ in 0..10 {
            b.acquire().await;
        }
        // Ten more tokens at 10/s take one second of (virtual) time.
        let e = start.elapsed();
        assert!(
            e >= Duration::from_millis(999) && e <= Duration::from_millis(1001),
            "{e:?}"
        );
    }
}
