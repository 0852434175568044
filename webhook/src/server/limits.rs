//! Time limits on every connection of the webhook's listeners, so that slow or idle clients
//! cannot hold connections (issue 10: twenty clients sending a byte a second were held for
//! ever on both the HTTPS and the metrics listener).
//!
//! - **TLS handshake**: bounded by [`ConnectionLimits::tls_handshake`] around the rustls
//!   accept (a client that opens TCP and never finishes the handshake is dropped).
//! - **request head**: hyper's header-read timer, started whenever a connection waits for a
//!   request (new or idle keep-alive), bounded by [`ConnectionLimits::header_read`]. The
//!   apiserver reopens closed keep-alive connections transparently.
//! - **request body**: a body that stops arriving for [`ConnectionLimits::body_idle`] fails
//!   the request and the connection closes.
//!
//! The emulator has the same limits in `irsa_emulator::server::listen`; the webhook keeps
//! its own copy so that it does not depend on the emulator crate.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

/// Per-connection time limits (from `--tls-handshake-timeout`, `--header-read-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to complete the TLS handshake after the TCP connection is accepted. 10 s.
    pub tls_handshake: Duration,
    /// Time to send a complete request head, from the moment the connection waits for
    /// one. 10 s.
    pub header_read: Duration,
    /// Longest pause while a request body arrives. 10 s.
    pub body_idle: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            tls_handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(10),
        }
    }
}

/// A request body that fails when the handler waits `idle` for data that does not come.
#[derive(Debug)]
pub struct IdleTimeoutBody {
    inner: Incoming,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Whether `deadline` is armed for the current wait.
    waiting: bool,
}

/// The error a stalled body ends with (the handler reports it like any body error).
#[derive(Debug, thiserror::Error)]
#[error("request body stalled: no data for {0:?}")]
pub struct BodyStalled(Duration);

impl IdleTimeoutBody {
    /// Wraps `inner`.
    pub fn new(inner: Incoming, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            waiting: false,
        }
    }
}

impl hyper::body::Body for IdleTimeoutBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            self.waiting = false;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        // The clock starts when the handler starts waiting, not when the head arrived.
        if !self.waiting {
            self.waiting = true;
            let idle = self.idle;
            self.deadline.as_mut().reset(Instant::now() + idle);
        }
        ready!(self.deadline.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyStalled(self.idle)))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
