//! The member faults do to a real three-member etcd cluster what their names say, checked from
//! etcd's own answers rather than from the scheduler's history: a member cut off from its peers
//! (through the proxies on the peer URLs) loses raft's leadership to the other two and cannot
//! serve a linearizable read until it is healed; a frozen member answers nothing until it is let
//! go; a killed member comes back on its data. Both ways of the cut are checked from etcd's own
//! peer byte counters (`/metrics`), which stay flat on each side while it lasts. The scenario files that use these faults
//! (`scenarios/member_*.toml`) run in `scenarios_etcd`.
#![cfg(not(madsim))]

use std::time::{Duration, Instant};

use cronfence_it::etcd::{etcdctl, Cluster, OwnEtcd};
use cronfence_sim::real::restart::{BackendProcess, MemberFault};

/// A linearizable read through member `i` alone, with a short timeout.
fn read_through(cluster: &Cluster, i: usize) -> anyhow::Result<String> {
    etcdctl(
        &[cluster.endpoint(i)],
        &["--command-timeout=1s", "get", "/member-fault-probe"],
    )
}

/// Member `i`'s own id and the id of the leader it follows, from its `endpoint status` (served
/// locally: a member cut off from its peers still answers it).
fn ids(cluster: &Cluster, i: usize) -> Option<(String, String)> {
    let text = etcdctl(
        &[cluster.endpoint(i)],
        &["--command-timeout=1s", "endpoint", "status", "-w", "fields"],
    )
    .ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("\"{name}\"")))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.trim().to_string())
    };
    Some((field("MemberID")?, field("Leader")?))
}

/// Each member's id in hex, by index (`m<i>`), from `etcdctl member list`.
fn hex_ids(cluster: &Cluster) -> Vec<String> {
    let text = etcdctl(&cluster.endpoints(), &["member", "list"]).unwrap();
    (0..cluster.size())
        .map(|i| {
            let line = text
                .lines()
                .find(|l| l.contains(&format!(", m{i}, ")))
                .unwrap();
            line.split(',').next().unwrap().trim().to_string()
        })
        .collect()
}

/// The bytes member `at` has received from the member with id `from`, from its `/metrics`
/// (served locally: a member cut off from its peers still answers).
fn received(cluster: &Cluster, at: usize, from: &str) -> f64 {
    use std::io::{Read, Write};
    let addr = cluster
        .endpoint(at)
        .trim_start_matches("http://")
        .to_string();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: etcd\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let label = format!("etcd_network_peer_received_bytes_total{{From=\"{from}\"}}");
    text.lines()
        .find_map(|l| l.strip_prefix(&label))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Waits up to `secs` for `done`.
fn eventually(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
fn an_isolated_raft_leader_loses_raft_leadership_and_serves_no_read_until_healed() {
    let mut own = OwnEtcd(Cluster::with_peer_proxies(3).unwrap());
    let cut = own.raft_leader().unwrap();
    read_through(&own.0, cut).expect("the leader serves before the cut");
    own.member_fault(cut, MemberFault::Isolate, true).unwrap();
    let others: Vec<usize> = (0..3).filter(|m| *m != cut).collect();
    assert!(
        eventually(15, || {
            let status = etcdctl(
                &others
                    .iter()
                    .map(|m| own.0.endpoint(*m))
                    .collect::<Vec<_>>(),
                &["--command-timeout=1s", "endpoint", "status"],
            );
            // Both others name a leader among themselves (the last column but one is
            // `IS LEADER`; a member that leads says `true`).
            status.is_ok_and(|s| s.lines().any(|l| l.contains(", true,")))
        }),
        "the two members still connected elected a leader of their own"
    );
    assert!(
        read_through(&own.0, cut).is_err(),
        "a member cut off from its peers cannot serve a linearizable read"
    );
    // Cut both ways: the new leader's heartbeats do not reach the cut-off member either (it
    // dials its peers too, and those connections are held by who dialled them).
    let (_, new_leader) = ids(&own.0, others[0]).expect("a majority member's status");
    let hex = hex_ids(&own.0);
    let before: Vec<f64> = others
        .iter()
        .map(|m| received(&own.0, *m, &hex[cut]))
        .collect();
    let heard: Vec<f64> = others
        .iter()
        .map(|m| received(&own.0, cut, &hex[*m]))
        .collect();
    assert!(
        before.iter().chain(&heard).all(|b| *b > 0.0),
        "every pair exchanged bytes before the cut: {before:?} {heard:?}"
    );
    std::thread::sleep(Duration::from_secs(3));
    let (_, followed) = ids(&own.0, cut).expect("the cut-off member's own status");
    assert_ne!(
        followed, new_leader,
        "the cut-off member heard from the majority's new leader"
    );
    for (k, m) in others.iter().enumerate() {
        assert_eq!(
            received(&own.0, *m, &hex[cut]),
            before[k],
            "member {m} received bytes from the cut-off member"
        );
        assert_eq!(
            received(&own.0, cut, &hex[*m]),
            heard[k],
            "the cut-off member received bytes from member {m}"
        );
    }
    for m in &others {
        read_through(&own.0, *m).expect("the majority serves");
    }
    own.member_fault(cut, MemberFault::Isolate, false).unwrap();
    assert!(
        eventually(15, || read_through(&own.0, cut).is_ok()),
        "the healed member serves again"
    );
}

#[test]
fn a_frozen_member_answers_nothing_until_let_go_and_a_killed_one_comes_back() {
    let mut own = OwnEtcd(Cluster::with_peer_proxies(3).unwrap());
    let leader = own.raft_leader().unwrap();
    let follower = (leader + 1) % 3;
    own.member_fault(follower, MemberFault::Pause, true)
        .unwrap();
    let asked = Instant::now();
    assert!(
        read_through(&own.0, follower).is_err(),
        "a frozen member answers"
    );
    assert!(
        asked.elapsed() >= Duration::from_millis(900),
        "it hung, not refused"
    );
    read_through(&own.0, leader).expect("the other two keep a quorum");
    own.member_fault(follower, MemberFault::Pause, false)
        .unwrap();
    assert!(eventually(10, || read_through(&own.0, follower).is_ok()));

    own.member_fault(leader, MemberFault::Crash, true).unwrap();
    assert!(
        read_through(&own.0, leader).is_err(),
        "a killed member answers"
    );
    assert!(
        eventually(15, || read_through(&own.0, follower).is_ok()),
        "the other two elect a leader and serve"
    );
    own.member_fault(leader, MemberFault::Crash, false).unwrap();
    read_through(&own.0, leader).expect("the restarted member serves on its data");
}
