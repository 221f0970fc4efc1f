//! Real etcd servers for tests: started on loopback with random free ports and temporary data
//! directories, killed when the [`Cluster`] is dropped — also when the test panics.
//!
//! The binary is `ETCD_BIN` or `etcd` from `PATH` (Debian's `etcd-server`); `scripts/setup`
//! installs it. A member can be killed with SIGKILL and restarted on its data, frozen with SIGSTOP
//! and let go, and (in a cluster started [`Cluster::with_peer_proxies`]) cut off from its peers
//! ([`crate::peers`]); the raft leader can be found through `etcdctl endpoint status`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use cronfence_sim::real::restart::MemberFault;

use crate::peers::PeerLinks;

/// One etcd member.
struct Member {
    name: String,
    client: String,
    /// The peer URL it advertises (its proxy's, with peer proxies).
    peer: String,
    /// The peer URL it listens on.
    listen_peer: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// A running etcd cluster of one or more members.
pub struct Cluster {
    members: Vec<Member>,
    initial_cluster: String,
    /// With [`Cluster::with_peer_proxies`]: the proxies on the peer URLs.
    links: Option<PeerLinks>,
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The etcd binary to run.
pub fn etcd_bin() -> String {
    std::env::var("ETCD_BIN").unwrap_or_else(|_| "etcd".into())
}

impl Cluster {
    /// Starts `n` members and waits until every one is healthy.
    pub fn start(n: usize) -> Result<Self> {
        Self::start_with(n, &[])
    }

    /// Starts `n` members with extra flags for every member. Free ports are picked, then bound
    /// by etcd: another test may take one in between, so a member that fails to bind restarts
    /// the whole cluster on new ports (up to five times).
    pub fn start_with(n: usize, extra: &[&str]) -> Result<Self> {
        Self::start_retrying(n, extra, false)
    }

    /// Starts `n` members whose peers reach each other through proxies ([`crate::peers`]), so
    /// [`Cluster::isolate`] can cut one off.
    pub fn with_peer_proxies(n: usize) -> Result<Self> {
        Self::start_retrying(n, &[], true)
    }

    fn start_retrying(n: usize, extra: &[&str], proxies: bool) -> Result<Self> {
        let mut attempt = 1;
        loop {
            match Self::try_start(n, extra, proxies) {
                Err(e) if attempt < 5 && format!("{e:#}").contains("address already in use") => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn try_start(n: usize, extra: &[&str], proxies: bool) -> Result<Self> {
        let links = proxies.then(PeerLinks::default);
        let mut members = Vec::new();
        for i in 0..n {
            let port = free_port()?;
            let listen_peer = format!("http://127.0.0.1:{port}");
            let peer = match &links {
                Some(links) => links.proxy(i, format!("127.0.0.1:{port}").parse()?)?,
                None => listen_peer.clone(),
            };
            members.push(Member {
                name: format!("m{i}"),
                client: format!("http://127.0.0.1:{}", free_port()?),
                peer,
                listen_peer,
                dir: tempfile::tempdir()?,
                child: None,
            });
        }
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            members,
            initial_cluster,
            links,
        };
        for i in 0..n {
            cluster.spawn(i, "new", extra)?;
        }
        for i in 0..n {
            cluster.wait_healthy(i)?;
        }
        Ok(cluster)
    }

    fn spawn(&mut self, i: usize, state: &str, extra: &[&str]) -> Result<()> {
        if self.members[i].child.is_some() {
            bail!("etcd member {i} is running already: kill it before starting it again");
        }
        let initial_cluster = self.initial_cluster.clone();
        let m = &mut self.members[i];
        let data = m.dir.path().join("data");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(m.dir.path().join("etcd.log"))?;
        let child = Command::new(etcd_bin())
            .args(["--name", &m.name, "--data-dir"])
            .arg(&data)
            // A claim or commit batch is one transaction of 2 operations per job plus 2: room
            // for 511 jobs due at one instant in one election (the default 128 allows 63).
            .args(["--max-txn-ops", "1024"])
            .args([
                "--listen-client-urls",
                &m.client,
                "--advertise-client-urls",
                &m.client,
            ])
            .args([
                "--listen-peer-urls",
                &m.listen_peer,
                "--initial-advertise-peer-urls",
                &m.peer,
            ])
            .args([
                "--initial-cluster",
                &initial_cluster,
                "--initial-cluster-state",
                state,
            ])
            .args([
                "--initial-cluster-token",
                "cronfence-test",
                "--log-level",
                "error",
            ])
            .args(extra)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| {
                format!(
                    "starting `{}` (install etcd-server, or set ETCD_BIN)",
                    etcd_bin()
                )
            })?;
        if let Some(links) = &self.links {
            links.set_pid(i, child.id());
        }
        m.child = Some(child);
        Ok(())
    }

    fn wait_healthy(&mut self, i: usize) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new("etcdctl")
                .args([
                    "--endpoints",
                    &self.members[i].client,
                    "--command-timeout=1s",
                    "endpoint",
                    "health",
                ])
                .output()
                .context("running etcdctl (install etcd-client)")?;
            if out.status.success() {
                return Ok(());
            }
            if let Some(child) = self.members[i].child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "etcd member {i} exited with {status}; log:\n{}",
                        self.log(i)
                    );
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "etcd member {i} not healthy after 30 s; log:\n{}",
                    self.log(i)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The member's log so far.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.members[i].dir.path().join("etcd.log")).unwrap_or_default()
    }

    /// Every member's client URL.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client.clone()).collect()
    }

    /// One member's client URL.
    pub fn endpoint(&self, i: usize) -> String {
        self.members[i].client.clone()
    }

    /// Kills member `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Restarts a killed member on its data directory.
    pub fn restart(&mut self, i: usize) -> Result<()> {
        self.spawn(i, "existing", &[])?;
        self.wait_healthy(i)
    }

    /// Freezes member `i` (SIGSTOP, `on`) or lets it go (SIGCONT).
    pub fn pause(&mut self, i: usize, on: bool) -> Result<()> {
        let child = self.members[i]
            .child
            .as_ref()
            .context("the member is not running")?;
        let signal = if on { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill {signal} of etcd member {i} failed: {status}");
        }
        Ok(())
    }

    /// Cuts member `i` off from its peers both ways (`on`), or heals it; needs
    /// [`Cluster::with_peer_proxies`].
    pub fn isolate(&mut self, i: usize, on: bool) -> Result<()> {
        let links = self
            .links
            .as_ref()
            .context("a cluster started without peer proxies cannot cut a member off")?;
        links.isolate(i, on);
        Ok(())
    }

    /// How many members the cluster has.
    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// The index of the raft leader, from `etcdctl endpoint status` of every running member:
    /// each report is matched to its member by endpoint, and the leader is the member whose own
    /// id the reports name as leader most often (a member cut off from its peers may name none,
    /// or an old one; a frozen one does not answer).
    pub fn leader(&self) -> Result<usize> {
        let live: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| m.client.clone())
            .collect();
        let out = Command::new("etcdctl")
            .args(["--endpoints", &live.join(",")])
            .args(["--command-timeout=2s", "endpoint", "status", "-w", "fields"])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        // One block of `"Key" : value` lines per answering member, ending with its endpoint.
        let (mut ids, mut named) = (Vec::new(), Vec::new());
        let (mut id, mut leader) = (None, None);
        for line in text.lines() {
            let Some((key, value)) = line.split_once(" : ") else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_string();
            match key.trim().trim_matches('"') {
                "MemberID" => id = Some(value),
                "Leader" => leader = Some(value),
                "Endpoint" => {
                    let member = self.members.iter().position(|m| m.client == value);
                    if let (Some(member), Some(id)) = (member, id.take()) {
                        ids.push((id, member));
                    }
                    named.extend(leader.take().filter(|l| l != "0"));
                }
                _ => {}
            }
        }
        let mut votes: Vec<(usize, &String)> = Vec::new();
        for name in &named {
            match votes.iter_mut().find(|(_, n)| *n == name) {
                Some(vote) => vote.0 += 1,
                None => votes.push((1, name)),
            }
        }
        let (_, leader) = votes
            .into_iter()
            .max()
            .with_context(|| format!("no member named a raft leader:\n{text}"))?;
        ids.iter()
            .find(|(id, _)| id == leader)
            .map(|(_, member)| *member)
            .with_context(|| format!("the raft leader {leader} did not answer:\n{text}"))
    }

    /// The directory for extra files of this cluster (certificates, logs).
    pub fn dir(&self) -> PathBuf {
        self.members[0].dir.path().to_path_buf()
    }
}

/// A cluster as a backend the real-time world may kill and restart (`backend_restart`:
/// SIGKILL of every member, then a restart on the same data directories) and whose members it
/// may crash, freeze or cut off from their peers (the member faults).
pub struct OwnEtcd(pub Cluster);

impl cronfence_sim::real::restart::BackendProcess for OwnEtcd {
    fn kill(&mut self) {
        for i in 0..self.0.size() {
            self.0.kill(i);
        }
    }

    fn restart(&mut self) -> std::result::Result<(), String> {
        // Members wait for a quorum before they answer: spawn them all, then wait.
        for i in 0..self.0.size() {
            self.0
                .spawn(i, "existing", &[])
                .map_err(|e| format!("{e:#}"))?;
        }
        for i in 0..self.0.size() {
            self.0.wait_healthy(i).map_err(|e| format!("{e:#}"))?;
        }
        Ok(())
    }

    fn members(&self) -> usize {
        self.0.size()
    }

    fn raft_leader(&self) -> std::result::Result<usize, String> {
        self.0.leader().map_err(|e| format!("{e:#}"))
    }

    fn member_fault(
        &mut self,
        member: usize,
        fault: MemberFault,
        on: bool,
    ) -> std::result::Result<(), String> {
        let done = match (fault, on) {
            (MemberFault::Crash, true) => {
                self.0.kill(member);
                Ok(())
            }
            (MemberFault::Crash, false) => self.0.restart(member),
            (MemberFault::Pause, _) => self.0.pause(member, on),
            (MemberFault::Isolate, _) => self.0.isolate(member, on),
        };
        done.map_err(|e| format!("{e:#}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            // A frozen member takes SIGKILL too.
            self.kill(i);
        }
        if let Some(links) = &self.links {
            links.close();
        }
    }
}

/// Runs `etcdctl` against `endpoints` with `args`, returning stdout (an error carries stderr).
pub fn etcdctl(endpoints: &[String], args: &[&str]) -> Result<String> {
    let out = Command::new("etcdctl")
        .arg("--endpoints")
        .arg(endpoints.join(","))
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!(
            "etcdctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
