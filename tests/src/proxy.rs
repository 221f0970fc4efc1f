//! A loopback TCP proxy in front of one etcd member, for one node: while black-holed, bytes in
//! both directions are swallowed and connections stay open, so the node sees silence — the
//! hardest network failure (no reset, no error, just nothing).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy.
pub struct Proxy {
    addr: SocketAddr,
    blackhole: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://127.0.0.1:port`).
    pub async fn start(upstream: &str) -> Result<Self> {
        let upstream: SocketAddr = upstream.trim_start_matches("http://").parse()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let blackhole = Arc::new(AtomicBool::new(false));
        let hole = blackhole.clone();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                tokio::spawn(pipe(ri, wo, hole.clone()));
                tokio::spawn(pipe(ro, wi, hole.clone()));
            }
        });
        Ok(Proxy {
            addr,
            blackhole,
            task,
        })
    }

    /// The endpoint a node should use instead of the member's.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Swallows (or again forwards) everything.
    pub fn set_blackhole(&self, on: bool) {
        self.blackhole.store(on, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    hole: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if hole.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
