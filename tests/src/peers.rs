//! Proxies on the peer URLs of a test etcd cluster, so one member can be cut off from the others
//! (a minority that still takes its clients' connections), both ways.
//!
//! Every member listens for its peers on a port of its own but advertises its proxy's, so every
//! connection between members — raft's streams and pipelines, probes, forwarded lease renewals —
//! passes through the proxy of the member it was dialled to. The proxy tells who dialled each
//! connection from the kernel: the dialler's socket (`/proc/net/tcp`, matched by both ports) is
//! one of the member processes' open files (`/proc/<pid>/fd`), whatever the requests on it say.
//! A connection is held while its dialler or its target is cut off. Held bytes wait, as packets
//! do across a partition (etcd closes a peer connection silent for a few seconds and dials again;
//! the new one is held too), and flow again when the member is healed. Linux only, as the tests'
//! etcd servers are.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::Result;

/// Which members are cut off, and each member's process.
#[derive(Default)]
struct Links {
    /// Each member's process id, by index (set at every start).
    pids: Vec<Option<u32>>,
    isolated: BTreeSet<usize>,
    /// The proxies' own addresses, to wake their accept loops when closing.
    proxies: Vec<SocketAddr>,
    closed: bool,
}

impl Links {
    /// Whether a connection to `target` dialled by member `dialler` is held.
    fn held(&self, target: usize, dialler: Option<usize>) -> bool {
        self.isolated.contains(&target) || dialler.is_some_and(|d| self.isolated.contains(&d))
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
        let addr = listener.local_addr()?;
        self.lock().proxies.push(addr);
        let links = self.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                if links.lock().closed {
                    return;
                }
                let Ok(inbound) = inbound else { continue };
                let Ok(outbound) = TcpStream::connect(upstream) else {
                    continue;
                };
                let dialler = links.dialler(&inbound);
                links.carry(target, dialler, inbound, outbound);
            }
        });
        Ok(format!("http://{addr}"))
    }

    /// Records the process of member `member` (at each start: a restart has a new one).
    pub fn set_pid(&self, member: usize, pid: u32) {
        let mut links = self.lock();
        if links.pids.len() <= member {
            links.pids.resize(member + 1, None);
        }
        links.pids[member] = Some(pid);
    }

    /// Cuts member `member` off from its peers (`on`), or heals it.
    pub fn isolate(&self, member: usize, on: bool) {
        let mut links = self.lock();
        if on {
            links.isolated.insert(member);
        } else {
            links.isolated.remove(&member);
        }
        self.0 .1.notify_all();
    }

    /// Stops every proxy for good (the cluster is going away): held traffic is dropped, and
    /// each accept loop is woken by a connection of its own so its thread ends.
    pub fn close(&self) {
        let proxies = {
            let mut links = self.lock();
            links.closed = true;
            links.proxies.clone()
        };
        self.0 .1.notify_all();
        for addr in proxies {
            let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Links> {
        self.0 .0.lock().expect("links lock")
    }

    /// The member whose process holds the other end of `inbound`, if it is one.
    fn dialler(&self, inbound: &TcpStream) -> Option<usize> {
        let (from, to) = (inbound.peer_addr().ok()?, inbound.local_addr().ok()?);
        let inode = socket_inode(from.port(), to.port())?;
        let pids = self.lock().pids.clone();
        pids.iter()
            .position(|pid| pid.is_some_and(|pid| holds_socket(pid, inode)))
    }

    /// Waits while the link from `dialler` to `target` is cut; false once the cluster is gone.
    fn wait_open(&self, target: usize, dialler: Option<usize>) -> bool {
        let mut links = self.lock();
        loop {
            if links.closed {
                return false;
            }
            if !links.held(target, dialler) {
                return true;
            }
            links = self
                .0
                 .1
                .wait_timeout(links, Duration::from_millis(200))
                .expect("links lock")
                .0;
        }
    }

    /// Moves bytes both ways between a peer and member `target`, each way on a thread of its
    /// own, holding them while the link is cut.
    fn carry(&self, target: usize, dialler: Option<usize>, inbound: TcpStream, out: TcpStream) {
        let (Ok(up_in), Ok(up_out)) = (inbound.try_clone(), out.try_clone()) else {
            return;
        };
        let links = self.clone();
        std::thread::spawn(move || links.pipe(target, dialler, up_in, up_out));
        let links = self.clone();
        std::thread::spawn(move || links.pipe(target, dialler, out, inbound));
    }

    /// Copies `from` to `to` while the link is open; closes both when either side does.
    fn pipe(&self, target: usize, dialler: Option<usize>, mut from: TcpStream, mut to: TcpStream) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !self.wait_open(target, dialler) || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    }
}

/// The inode of the loopback TCP socket with local port `local` connected to port `remote`, from
/// the kernel's socket table.
fn socket_inode(local: u16, remote: u16) -> Option<u64> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            text.lines().skip(1).find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
                let (l, r) = (port(fields.get(1)?)?, port(fields.get(2)?)?);
                (l == local && r == remote).then(|| fields.get(9)?.parse().ok())?
            })
        })
}

/// Whether process `pid` has socket `inode` open.
fn holds_socket(pid: u32, inode: u64) -> bool {
    let wanted = format!("socket:[{inode}]");
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .any(|link| link.as_os_str() == wanted.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dialler_of_a_connection_is_the_process_holding_its_other_end() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let dialled = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let links = PeerLinks::default();
        links.set_pid(1, 1); // init holds no socket of ours
        links.set_pid(2, std::process::id());
        assert_eq!(links.dialler(&accepted), Some(2));
        drop(dialled);
    }
}
