//! Serving the simulator over HTTP (standalone) or as an axum `Router` (in process).

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::{Body, ConnectionDropped, Simulator};

/// Largest request body read (Azure's own limit is lower; this only bounds memory).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Serves `sim` on `listener` (HTTP/1.1 with keep-alive, and HTTP/2) until the task is dropped.
/// A dropped-connection fault closes the connection without a response.
pub async fn serve(listener: TcpListener, sim: Simulator) -> std::io::Result<()> {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            // Out of descriptors and similar: keep serving the connections already open.
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let sim = sim.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let sim = sim.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let bytes = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
                        Ok(c) => c.to_bytes(),
                        Err(_) => return Err(ConnectionDropped),
                    };
                    sim.handle(Request::from_parts(parts, bytes)).await
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Simulator {
    /// The simulator as an axum `Router` (a tower `Service`), for hosts that mount it. A
    /// dropped-connection fault becomes a response whose body fails at once, which makes the
    /// HTTP server abort the connection.
    pub fn router(&self) -> axum::Router {
        let sim = self.clone();
        axum::Router::new().fallback(move |req: Request<axum::body::Body>| {
            let sim = sim.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
                    Ok(b) => b,
                    Err(_) => return failing_response(),
                };
                match sim.handle(Request::from_parts(parts, bytes)).await {
                    Ok(r) => r,
                    Err(ConnectionDropped) => failing_response(),
                }
            }
        })
    }
}

fn failing_response() -> Response<Body> {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            ConnectionDropped,
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// Runs the simulator on `addr` on its own tokio runtime until the process ends; `on_ready`
/// gets the bound address (useful with port 0). For the `apim-emu simulate` command.
pub fn run_blocking(
    sim: Simulator,
    addr: std::net::SocketAddr,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    sim.warm_up();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        on_ready(listener.local_addr()?);
        serve(listener, sim).await
    })
}
