//! Serving a router on a TCP listener so that slow or idle clients cannot hold connections.
//!
//! `axum::serve` sets no timer: a client that sends its request head one byte a second
//! (slowloris), or connects and sends nothing, keeps its connection and task for ever, and
//! twenty of them were enough to pin `irsa-lab serve` (issue 10). [`serve`] is the one
//! accept loop the emulator's listeners use (`irsa-lab serve`, the walkthrough, benches):
//!
//! - **header read**: a client has [`ListenerLimits::header_read`] to send a complete request
//!   head, counted from the moment the connection starts waiting for one. hyper starts that
//!   timer on a new connection and again after each response, so the same limit also closes
//!   idle keep-alive connections (AWS SDKs reconnect transparently).
//! - **request body**: a body that stops arriving for [`ListenerLimits::body_idle`] fails the
//!   request (the handler sees a body error) and the connection closes.
//! - **concurrent connections**: at most [`ListenerLimits::max_connections`]; further
//!   connections wait in the kernel's backlog until one closes, instead of exhausting file
//!   descriptors.
//! - **graceful shutdown**: when `shutdown` resolves the listener stops accepting, idle
//!   connections close, in-flight requests finish, and [`serve`] returns once every
//!   connection is gone (bounded by the limits above).
//!
//! Connections are HTTP/1.1 only: AWS clients speak HTTP/1.1 to an `http://` endpoint, and
//! protocol sniffing for h2c would read the first bytes before any hyper timer runs.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long clients may take and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Time to send a complete request head, from the moment the connection waits for one
    /// (new connection or idle keep-alive). Default 10 s.
    pub header_read: Duration,
    /// Longest pause allowed while a request body arrives. Default 10 s.
    pub body_idle: Duration,
    /// Connections served at once; more wait in the listen backlog. Default 1024.
    pub max_connections: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// Serves `router` on `listener` with `limits` until `shutdown` resolves, then drains.
///
/// Accept errors (typically EMFILE) are logged and retried after a short pause; they never
/// end the loop. Returns once the listener is closed and every connection has finished.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        let Some((tcp, permit)) = accepted else {
            continue;
        };
        // Reap finished connections so the set does not grow without bound.
        while conns.try_join_next().is_some() {}
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop_rx.clone();
        conns.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let req = req.map(|body| Body::new(IdleTimeoutBody::new(body, limits.body_idle)));
                let router = router.clone();
                async move {
                    let Ok(response) = router.oneshot(req).await;
                    Ok::<_, Infallible>(response)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .keep_alive(true)
                .serve_connection(TokioIo::new(tcp), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = async { let _ = stop.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(target: "irsa_emulator::server", error = %e, "connection closed");
            }
        });
    }
    drop(listener);
    stop_tx.send_replace(true);
    while conns.join_next().await.is_some() {}
}

/// One connection and the slot it occupies; `None` after an accept error (already logged).
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(tokio::net::TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    // The semaphore is never closed, so acquiring only waits.
    let permit = Arc::clone(slots).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((tcp, _peer)) => Some((tcp, permit)),
        Err(e) => {
            tracing::warn!(target: "irsa_emulator::server", error = %e, "accept failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// A request body that fails when the handler waits `idle` for data that does not come.
struct IdleTimeoutBody {
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
    fn new(inner: Incoming, idle: Duration) -> Self {
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
