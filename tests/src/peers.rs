//! Proxies on the peer URLs of a test etcd cluster, so one member can be cut off from the others
//! (a minority that still takes its clients' connections), both ways.
//!
//! Every member listens for its peers on a port of its own but advertises its proxy's, so every
//! raft message between members passes through the proxy of the member it was dialled to. The
//! dialler names itself in each request's `X-Server-From` header (etcd's peer transport sends it
//! on every stream and pipeline request), which the proxy reads from the connection's first
//! request; a connection is held while its dialler or its target is isolated. Held bytes wait,
//! as packets do across a partition (etcd closes a peer connection silent for a few seconds and
//! dials again; the new one is held too), and flow again when the member is healed.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::Result;

/// Which members are cut off, and each member's id as its peers name it.
#[derive(Default)]
struct Links {
    /// Member ids in hex, by index (known once the cluster is up).
    ids: Vec<String>,
    isolated: BTreeSet<usize>,
    closed: bool,
}

impl Links {
    /// Whether a connection to `target` dialled by the member with id `sender` is held. The id
    /// is looked up now: connections made before the ids were known are held too.
    fn held(&self, target: usize, sender: Option<&str>) -> bool {
        let dialler =
            sender.and_then(|id| self.ids.iter().position(|m| m.eq_ignore_ascii_case(id)));
        self.isolated.contains(&target) || dialler.is_some_and(|s| self.isolated.contains(&s))
    }
}

/// The shared state of every peer proxy of one cluster.
#[derive(Clone, Default)]
pub struct PeerLinks(Arc<(Mutex<Links>, Condvar)>);

impl PeerLinks {
    /// Starts a proxy for member `target` on a free loopback port, forwarding to `upstream`
    /// (the member's own peer port); returns the proxy's URL, for the member to advertise.
    pub fn proxy(&self, target: usize, upstream: SocketAddr) -> Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let links = self.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                if links.closed() {
                    return;
                }
                let Ok(inbound) = inbound else { continue };
                let Ok(outbound) = TcpStream::connect(upstream) else {
                    continue;
                };
                links.carry(target, inbound, outbound);
            }
        });
        Ok(url)
    }

    /// Records the members' ids (hex, by index), as `X-Server-From` names them.
    pub fn set_ids(&self, ids: Vec<String>) {
        self.0 .0.lock().expect("links lock").ids = ids;
    }

    /// Cuts member `member` off from its peers (`on`), or heals it.
    pub fn isolate(&self, member: usize, on: bool) {
        let mut links = self.0 .0.lock().expect("links lock");
        if on {
            links.isolated.insert(member);
        } else {
            links.isolated.remove(&member);
        }
        self.0 .1.notify_all();
    }

    /// Stops every proxy's traffic for good (the cluster is going away).
    pub fn close(&self) {
        self.0 .0.lock().expect("links lock").closed = true;
        self.0 .1.notify_all();
    }

    fn closed(&self) -> bool {
        self.0 .0.lock().expect("links lock").closed
    }

    /// Waits while the link from `sender` to `target` is cut; false once the cluster is gone.
    fn wait_open(&self, target: usize, sender: &Mutex<Option<String>>) -> bool {
        let (lock, wake) = &*self.0;
        let mut links = lock.lock().expect("links lock");
        loop {
            if links.closed {
                return false;
            }
            let from = sender.lock().expect("sender lock").clone();
            if !links.held(target, from.as_deref()) {
                return true;
            }
            links = wake
                .wait_timeout(links, Duration::from_millis(200))
                .expect("links lock")
                .0;
        }
    }

    /// Moves bytes both ways between a peer and member `target`, each way on a thread of its
    /// own, holding them while the link is cut.
    fn carry(&self, target: usize, inbound: TcpStream, outbound: TcpStream) {
        let sender = Arc::new(Mutex::new(None));
        let (Ok(up_in), Ok(up_out)) = (inbound.try_clone(), outbound.try_clone()) else {
            return;
        };
        let (links, from) = (self.clone(), sender.clone());
        std::thread::spawn(move || {
            links.pipe(target, &from, up_in, up_out, true);
        });
        let links = self.clone();
        std::thread::spawn(move || {
            links.pipe(target, &sender, outbound, inbound, false);
        });
    }

    /// Copies `from` to `to`; `to_member`: the way into the member, whose first request names
    /// the dialler.
    fn pipe(
        &self,
        target: usize,
        sender: &Mutex<Option<String>>,
        mut from: TcpStream,
        mut to: TcpStream,
        to_member: bool,
    ) {
        let mut buf = vec![0u8; 64 * 1024];
        let mut head = Vec::new();
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if to_member && sender.lock().expect("sender lock").is_none() && head.len() < 16384 {
                head.extend_from_slice(&buf[..n]);
                if let Some(id) = dialler(&head) {
                    *sender.lock().expect("sender lock") = Some(id);
                }
            }
            if !self.wait_open(target, sender) || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    }
}

/// The `X-Server-From` header of an HTTP request head, once the head is complete.
fn dialler(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let end = text.find("\r\n\r\n")?;
    text[..end].lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("x-server-from")
            .then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::dialler;

    #[test]
    fn the_dialler_is_read_from_a_complete_request_head() {
        let head = b"GET /raft/stream/message/8e9e05c52164694d HTTP/1.1\r\nHost: x\r\nX-Server-From: 91bc3c398fb3c146\r\nX-Etcd-Cluster-ID: 1\r\n\r\n";
        assert_eq!(dialler(head).as_deref(), Some("91bc3c398fb3c146"));
        assert_eq!(dialler(&head[..40]), None, "the head is not complete yet");
        assert_eq!(
            dialler(b"GET /raft/probing HTTP/1.1\r\nHost: x\r\n\r\n"),
            None
        );
    }
}
