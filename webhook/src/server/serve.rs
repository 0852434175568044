//! Accept loops: HTTPS (rustls) for the admission router, plain HTTP for metrics.
//!
//! Connections are HTTP/1.1 with keep-alive (what the apiserver's webhook client uses).
//! Every connection is bounded in time ([`ConnectionLimits`]: TLS handshake, request head,
//! request body), so slow or idle clients cannot hold it. On shutdown the listener stops accepting, every connection finishes its in-flight
//! request and closes, and the drain is bounded by `drain` (10 s in production).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::limits::{ConnectionLimits, IdleTimeoutBody};
use super::shutdown::Shutdown;

/// Serves `router` on `listener` until `shutdown`, then drains for at most `drain`.
/// With `tls` the connections are TLS; without, plain HTTP. Each connection is bounded by
/// `limits`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    shutdown: Shutdown,
    drain: Duration,
    limits: ConnectionLimits,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut conns = JoinSet::new();
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Typically EMFILE: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Reap finished connections so the set does not grow without bound.
        while conns.try_join_next().is_some() {}
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        let stop = shutdown.wait();
        conns.spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(limits.tls_handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            serve_connection(TokioIo::new(tls), router, stop, peer, limits).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(
                            %peer,
                            timeout = ?limits.tls_handshake,
                            "TLS handshake not completed in time, connection closed"
                        ),
                    }
                }
                None => serve_connection(TokioIo::new(tcp), router, stop, peer, limits).await,
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, async { while conns.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!(
            remaining = conns.len(),
            "drain period over, closing remaining connections"
        );
        conns.abort_all();
    }
}

async fn serve_connection<I>(
    io: TokioIo<I>,
    router: Router,
    stop: impl Future<Output = ()>,
    peer: SocketAddr,
    limits: ConnectionLimits,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let req = req.map(|body| Body::new(IdleTimeoutBody::new(body, limits.body_idle)));
        let router = router.clone();
        async move {
            let Ok(response) = router.oneshot(req).await;
            Ok::<_, Infallible>(response)
        }
    });
    // The header-read timer needs hyper's timer; it also closes idle keep-alive connections.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::pin!(stop);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = &mut stop => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
