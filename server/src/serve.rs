//! The accept loop. `axum::serve` has no header read timeout, no idle timeout and no connection
//! cap, so a few hundred clients that connect and then send slowly (or nothing) would hold the
//! server's sockets and memory forever. This is axum's loop with those three added: HTTP/1.1 by
//! hyper with `header_read_timeout`, a watchdog that closes connections on which nothing moves,
//! and a semaphore in front of `accept`. Graceful shutdown is axum's: stop accepting, let every
//! connection finish its request, then return.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower_service::Service;

/// Connection hygiene (see `momentum-server --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Time to send a complete request head, counted from connecting or from the end of the
    /// previous response; so it is also how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// A connection on which no byte moves either way for this long, while no request is being
    /// handled, is closed (a client that stopped reading its response, or went silent).
    pub idle_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    /// 10 s for a request head is long for any real client (a phone on a bad link sends a few
    /// hundred bytes) and short enough that a slow-header flood recycles quickly; browsers reopen
    /// idle connections transparently. 1024 connections of a few tens of KB each stay well under
    /// typical memory and file limits.
    fn default() -> ConnLimits {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves and every connection has finished.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropping `signal_rx` tells the loop and every connection to stop; each connection holds a
    // `close_rx`, so `close_tx.closed()` resolves when the last one is gone.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    let (close_tx, close_rx) = watch::channel(());
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never: the semaphore is not closed
            },
            _ = signal_tx.closed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            _ = signal_tx.closed() => break,
        };
        let service = match make_service.call(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, service, limits, signal_tx).await;
            drop(permit);
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
    Ok(())
}

/// Like axum: a client that went away is nothing; anything else (out of file descriptors) is
/// logged and waited out, since retrying at once would spin.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    eprintln!("momentum-server: accept failed: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_connection<S>(
    stream: TcpStream,
    service: S,
    limits: ConnLimits,
    signal_tx: watch::Sender<()>,
) where
    S: Service<hyper::Request<Incoming>, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let handling = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let busy = Busy::enter(&handling);
        // axum's Router (and its ConnectInfo wrapper) is always ready.
        let response = service.clone().call(request);
        async move {
            let response = response.await;
            drop(busy);
            response
        }
    });
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut signal = pin!(signal_tx.closed());
    let mut shutting_down = false;
    loop {
        let idle_at = tokio::time::Instant::from_std(activity.idle_deadline(limits.idle_timeout));
        tokio::select! {
            _ = conn.as_mut() => break, // closed, timed out or failed: nothing to report
            _ = &mut signal, if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep_until(idle_at) => {
                if activity.is_idle(limits.idle_timeout) {
                    break; // dropping the connection closes the socket
                }
            }
        }
    }
}

/// When bytes last moved on a connection, and whether a request is being handled.
struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last read or write.
    last_ms: AtomicU64,
    handling: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// When the connection will count as idle if nothing happens; re-checked then.
    fn idle_deadline(&self, timeout: Duration) -> Instant {
        if self.handling.load(Ordering::Relaxed) > 0 {
            // A handler may wait on the payment provider for a while: not the client's fault.
            Instant::now() + timeout
        } else {
            self.last() + timeout
        }
    }

    fn is_idle(&self, timeout: Duration) -> bool {
        self.handling.load(Ordering::Relaxed) == 0 && self.last().elapsed() >= timeout
    }
}

/// Marks a request as being handled while it lives.
struct Busy(Arc<Activity>);

impl Busy {
    fn enter(activity: &Arc<Activity>) -> Busy {
        activity.handling.fetch_add(1, Ordering::Relaxed);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A socket that records when bytes last moved.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
