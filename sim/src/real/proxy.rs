//! A loopback TCP proxy between one node and one etcd endpoint, for partitions and a slow
//! network in real time.
//!
//! Each direction can be held: the proxy stops moving bytes that way (it neither reads nor
//! forwards them), so the sender's data waits in the connection as packets do across a
//! partition, and flows again, late, once the direction is released — the node sees silence, not
//! an error, and nothing is corrupted. Holding the way to etcd is a partition `to_backend`, the
//! way back `from_backend`, both a full partition. A delay holds every chunk of bytes that long
//! before it goes on, each way (a delay line: chunks keep their order and do not add up).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::fault::Direction;

/// A running proxy; it stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    to_backend: Arc<watch::Sender<bool>>,
    from_backend: Arc<watch::Sender<bool>>,
    delay: Arc<watch::Sender<Duration>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://host:port`). Runs on
    /// the caller's tokio runtime.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let upstream = upstream
            .trim_start_matches("http://")
            .parse::<SocketAddr>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let to_backend = Arc::new(watch::Sender::new(false));
        let from_backend = Arc::new(watch::Sender::new(false));
        let delay = Arc::new(watch::Sender::new(Duration::ZERO));
        let (to, from, late) = (to_backend.clone(), from_backend.clone(), delay.clone());
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                pipe(ri, wo, to.subscribe(), late.subscribe());
                pipe(ro, wi, from.subscribe(), late.subscribe());
            }
        });
        Ok(Proxy {
            addr,
            to_backend,
            from_backend,
            delay,
            task,
        })
    }

    /// The endpoint the node uses instead of etcd's.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Delays every chunk of bytes by `delay` each way (zero: none).
    pub fn delay(&self, delay: Duration) {
        self.delay.send_replace(delay);
    }

    /// Holds (or releases) the directions `direction` names.
    pub fn hold(&self, direction: Direction, on: bool) {
        if matches!(direction, Direction::Both | Direction::ToBackend) {
            self.to_backend.send_replace(on);
        }
        if matches!(direction, Direction::Both | Direction::FromBackend) {
            self.from_backend.send_replace(on);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Moves bytes `from` → `to` while the direction is not held, each chunk `delay` after it was
/// read: a reader and a writer task joined by a queue.
fn pipe(
    mut from: impl AsyncRead + Unpin + Send + 'static,
    mut to: impl AsyncWrite + Unpin + Send + 'static,
    held: watch::Receiver<bool>,
    delay: watch::Receiver<Duration>,
) {
    let (queue, mut queued) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let mut reading = held.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if reading.wait_for(|held| !held).await.is_err() {
                return;
            }
            let n = tokio::select! {
                read = from.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                },
                // Held while waiting to read: stop reading, so the bytes wait in the connection.
                _ = reading.wait_for(|held| *held) => continue,
            };
            let due = Instant::now() + *delay.borrow();
            if queue.send((due, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    });
    let mut writing = held;
    tokio::spawn(async move {
        while let Some((due, bytes)) = queued.recv().await {
            tokio::time::sleep_until(due).await;
            // Bytes read just as the direction was held wait with it.
            if writing.wait_for(|held| !held).await.is_err() {
                return;
            }
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
}
