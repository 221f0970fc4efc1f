//! The etcd backend's fenced writes against madsim's simulated etcd server, one backend call at
//! a time: which leadership a write is fenced on, that a batch is one transaction, that a job
//! stays in the election it was registered in, and that a write never trusts its cache alone.
//!
//! Each test drives the backend directly (no runner), so the interleaving that once let a stale
//! write through is written out step by step instead of hoped for from a seed.
#![cfg(madsim)]

#[path = "support/etcd_sim.rs"]
mod etcd_sim;

use etcd_sim::{etcd as backend, with_etcd, ETCD};

use std::sync::Arc;
use std::time::Duration;

use cronfence::etcd::{keys, EtcdBackend};
use cronfence::store::RunOutcome;
use cronfence::{
    Claim, ClaimKind, Commit, ElectionName, Elector, Error, JobId, JobRegistry, JobSpec,
    Leadership, Schedule, Session, TickStore,
};
use jiff::{SignedDuration, Timestamp};

fn anchor() -> Timestamp {
    "2027-01-01T00:00:00Z".parse().unwrap()
}

fn tick(s: i64) -> Timestamp {
    anchor() + SignedDuration::from_secs(s)
}

fn spec(version: u64) -> JobSpec {
    let mut spec = JobSpec::new(Schedule::every(anchor(), SignedDuration::from_secs(1)).unwrap());
    spec.version = version;
    spec
}

fn job(i: usize) -> JobId {
    JobId::new(format!("job-{i:03}")).unwrap()
}

fn group() -> ElectionName {
    ElectionName::new("g")
}

fn claim(job: &JobId, at: Timestamp, kind: ClaimKind) -> Claim {
    Claim {
        job: job.clone(),
        tick: at,
        spec_version: 1,
        kind,
    }
}

async fn register(backend: &EtcdBackend, jobs: &[JobId], version: u64, election: &ElectionName) {
    let entries: Vec<_> = jobs
        .iter()
        .map(|j| (j.clone(), spec(version), election.clone()))
        .collect();
    for result in backend.register(&entries, anchor()).await.unwrap() {
        result.unwrap();
    }
}

/// A backend with job 0 registered in the group election, and node-a leading it.
async fn one_job_led_by_node_a() -> (EtcdBackend, JobId, Session, Leadership) {
    let etcd = backend().await;
    let j = job(0);
    register(&etcd, std::slice::from_ref(&j), 1, &group()).await;
    let session = etcd.open_session(Duration::from_secs(10)).await.unwrap();
    let leader = etcd.campaign(&session, &group(), "node-a").await.unwrap();
    (etcd, j, session, leader)
}

#[madsim::test]
async fn an_older_leadership_of_a_session_is_fenced_once_the_session_campaigns_again() {
    // The campaign after a resign recreates the same leader key with the same value; only the
    // fence key tells the two leaderships apart, so the first one's commit must be refused.
    with_etcd(|| async {
        let (etcd, j, session, first) = one_job_led_by_node_a().await;
        let at_least_once = claim(&j, tick(1), ClaimKind::RunThenCommit { attempt: 1 });
        etcd.claim(&first.fence(), &[at_least_once]).await.unwrap();
        etcd.resign(&first).await.unwrap();
        let second = etcd.campaign(&session, &group(), "node-a").await.unwrap();
        assert!(second.token > first.token);
        let commit = Commit {
            job: j.clone(),
            tick: tick(1),
            outcome: RunOutcome::Completed,
        };
        let stale = etcd
            .commit(&first.fence(), std::slice::from_ref(&commit))
            .await;
        assert!(matches!(stale, Err(Error::Fenced { .. })), "{stale:?}");
        let in_flight = etcd.checkpoints(std::slice::from_ref(&j)).await.unwrap()[0]
            .in_flight
            .clone();
        assert_eq!(
            in_flight,
            vec![(tick(1), 1)],
            "the stale commit changed nothing"
        );
        etcd.commit(&second.fence(), &[commit]).await.unwrap();
    })
    .await;
}

#[madsim::test]
async fn a_claim_batch_of_more_than_sixty_jobs_is_all_or_nothing() {
    // 120 jobs used to go out in two transactions of 60: the first applied, the second was
    // refused, and the caller heard only the refusal. Now a refusal anywhere changes nothing.
    with_etcd(|| async {
        let etcd = backend().await;
        let jobs: Vec<JobId> = (0..120).map(job).collect();
        register(&etcd, &jobs, 1, &group()).await;
        let session = etcd.open_session(Duration::from_secs(10)).await.unwrap();
        let leader = etcd.campaign(&session, &group(), "node-a").await.unwrap();
        // Another node registers version 2 of the last job only.
        let upgrader = backend().await;
        register(&upgrader, &[job(119)], 2, &group()).await;
        let claims: Vec<Claim> = jobs
            .iter()
            .map(|j| claim(j, tick(1), ClaimKind::Run { attempt: 1 }))
            .collect();
        let refused = etcd.claim(&leader.fence(), &claims).await;
        assert!(
            matches!(refused, Err(Error::SpecSuperseded { job: ref refused_job, .. }) if *refused_job == job(119)),
            "{refused:?}"
        );
        let untouched = etcd.checkpoints(&jobs).await.unwrap();
        assert!(untouched.iter().all(|cp| cp.last_claimed.is_none()));
        // Without the superseded job the batch goes through whole.
        etcd.claim(&leader.fence(), &claims[..119]).await.unwrap();
        let claimed = etcd.checkpoints(&jobs[..119]).await.unwrap();
        assert!(claimed.iter().all(|cp| cp.last_claimed == Some(tick(1))));
    })
    .await;
}

#[madsim::test]
async fn a_job_stays_in_the_election_it_was_registered_in() {
    // Per-group and per-job elections number their tokens independently on other backends;
    // a job claimed from two elections could run twice. The registry refuses the second one,
    // and so does a claim from it.
    with_etcd(|| async {
        let etcd = backend().await;
        let j = job(0);
        register(&etcd, std::slice::from_ref(&j), 1, &group()).await;
        let other = ElectionName::new(format!("g.job.{j}"));
        let entry = [(j.clone(), spec(1), other.clone())];
        let refused = etcd.register(&entry, anchor()).await.unwrap();
        assert!(
            matches!(&refused[0], Err(Error::ElectionMismatch { registered, local, .. })
                if *registered == group() && *local == other),
            "{refused:?}"
        );
        let session = etcd.open_session(Duration::from_secs(10)).await.unwrap();
        let stray = etcd.campaign(&session, &other, "node-b").await.unwrap();
        let run = [claim(&j, tick(1), ClaimKind::Run { attempt: 1 })];
        let claimed = etcd.claim(&stray.fence(), &run).await;
        assert!(
            matches!(claimed, Err(Error::ElectionMismatch { .. })),
            "{claimed:?}"
        );
    })
    .await;
}

#[madsim::test]
async fn a_commit_lands_even_when_the_cache_says_there_is_nothing_to_commit() {
    // A cache overwritten by a racing write's older answer once made a commit find nothing in
    // flight and return without writing; the tick ran again after a crash. Every fenced write
    // now compares the stored checkpoint, so the stale cache is refreshed and the commit lands.
    with_etcd(|| async {
        let (etcd, j, _session, leader) = one_job_led_by_node_a().await;
        let fence = leader.fence();
        let stale = etcd.checkpoints(std::slice::from_ref(&j)).await.unwrap();
        assert!(stale[0].in_flight.is_empty());
        // The claim lands behind this cache's back, as a racing write's late answer once hid it.
        let raw = etcd_client::Client::connect([ETCD], None).await.unwrap();
        let key = keys::checkpoint("/cronfence", &j);
        let before = raw.kv_client().get(key.clone(), None).await.unwrap();
        let mut stored: serde_json::Value =
            serde_json::from_slice(before.kvs()[0].value()).unwrap();
        stored["last_claimed"] = serde_json::json!(tick(1));
        stored["in_flight"] = serde_json::json!({ tick(1).to_string(): 1 });
        raw.kv_client()
            .put(key, stored.to_string(), None)
            .await
            .unwrap();
        let commit = Commit {
            job: j.clone(),
            tick: tick(1),
            outcome: RunOutcome::Completed,
        };
        etcd.commit(&fence, &[commit]).await.unwrap();
        let after = etcd.checkpoints(std::slice::from_ref(&j)).await.unwrap();
        assert!(after[0].in_flight.is_empty(), "{after:?}");
    })
    .await;
}

#[madsim::test]
async fn a_commit_after_a_newer_definition_is_accepted() {
    // The run happened under a leadership that is still current: refusing its commit because a
    // newer version was registered meanwhile left the tick in flight to run a second time.
    with_etcd(|| async {
        let (etcd, j, _session, leader) = one_job_led_by_node_a().await;
        let at_least_once = claim(&j, tick(1), ClaimKind::RunThenCommit { attempt: 1 });
        etcd.claim(&leader.fence(), &[at_least_once]).await.unwrap();
        register(&backend().await, std::slice::from_ref(&j), 2, &group()).await;
        let commit = Commit {
            job: j.clone(),
            tick: tick(1),
            outcome: RunOutcome::Completed,
        };
        etcd.commit(&leader.fence(), &[commit]).await.unwrap();
        let next = [claim(&j, tick(2), ClaimKind::Run { attempt: 1 })];
        let refused = etcd.claim(&leader.fence(), &next).await;
        assert!(
            matches!(refused, Err(Error::SpecSuperseded { .. })),
            "new ticks of the old definition are still refused: {refused:?}"
        );
    })
    .await;
}

#[madsim::test]
async fn a_campaign_that_finds_its_key_already_there_is_given_the_key_s_create_revision() {
    // node-b's first campaign call breaks while it waits (as a backend restart breaks it), so its
    // key stays; when it campaigns again on the same session it wins at once. Its token must be
    // that key's create revision, older than node-a's next key: the simulated server answers the
    // store's current revision there, and node-a's later leadership then got a smaller token.
    with_etcd(|| async {
        let a = backend().await;
        let b = backend().await;
        let a_first = a.open_session(Duration::from_secs(10)).await.unwrap();
        let a_leads = a.campaign(&a_first, &group(), "node-a").await.unwrap();
        let b_session = Arc::new(b.open_session(Duration::from_secs(10)).await.unwrap());
        let (b2, s2) = (b.clone(), b_session.clone());
        let broken = tokio::spawn(async move { b2.campaign(&s2, &group(), "node-b").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        broken.abort();
        tokio::time::sleep(Duration::from_millis(100)).await;
        a.resign(&a_leads).await.unwrap();
        let a_second = Arc::new(a.open_session(Duration::from_secs(10)).await.unwrap());
        let (a2, s2) = (a.clone(), a_second.clone());
        let a_waits = tokio::spawn(async move { a2.campaign(&s2, &group(), "node-a").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let b_leads = b.campaign(&b_session, &group(), "node-b").await.unwrap();
        let observed = a.leader(&group()).await.unwrap().expect("node-b leads");
        assert_eq!(
            observed.token, b_leads.token,
            "the token is the key's create revision"
        );
        b.resign(&b_leads).await.unwrap();
        let a_leads_again = a_waits.await.unwrap().unwrap();
        assert!(
            a_leads_again.token > b_leads.token,
            "{:?} after {:?}",
            a_leads_again.token,
            b_leads.token
        );
    })
    .await;
}

#[madsim::test]
async fn a_campaign_waiting_while_five_candidates_expire_together_wins_when_the_leader_resigns() {
    // node-b leads; five candidates left by crashed nodes (leases never renewed) then expire in
    // the same second of the simulated server while node-a waits behind node-b: five events of
    // the election at once. A campaign waiting inside that server read them through a channel of
    // four, and with node-b still leading the server panicked (`sender should not drop`); a
    // campaign that waits on its own side is still waiting, and wins when node-b resigns.
    with_etcd(|| async {
        let a = backend().await;
        let b = backend().await;
        let b_session = b.open_session(Duration::from_secs(10)).await.unwrap();
        let b_leads = b.campaign(&b_session, &group(), "node-b").await.unwrap();
        let raw = etcd_client::Client::connect([ETCD], None).await.unwrap();
        let (mut leases, mut kv) = (raw.lease_client(), raw.kv_client());
        for i in 0..5 {
            let lease = leases.grant(2, None).await.unwrap().id();
            let key = keys::candidate(&a.config().prefix, &group(), lease as u64);
            let options = etcd_client::PutOptions::new().with_lease(lease);
            kv.put(key, format!("crashed-{i}"), Some(options))
                .await
                .unwrap();
        }
        let a_session = Arc::new(a.open_session(Duration::from_secs(10)).await.unwrap());
        let (a2, s2) = (a.clone(), a_session.clone());
        let a_waits = tokio::spawn(async move { a2.campaign(&s2, &group(), "node-a").await });
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(!a_waits.is_finished(), "node-a waits while node-b leads");
        b.resign(&b_leads).await.unwrap();
        let a_leads = a_waits.await.unwrap().unwrap();
        let observed = a.leader(&group()).await.unwrap().expect("node-a leads");
        assert_eq!(
            (observed.value.as_str(), observed.token),
            ("node-a", a_leads.token)
        );
    })
    .await;
}

#[madsim::test]
async fn a_candidate_key_left_by_a_broken_campaign_goes_with_its_session() {
    // node-b's campaign breaks while it waits and it campaigns again on the same session: its key
    // must still belong to the session's lease, so closing the session lets node-a lead (the
    // simulated server detaches a key put again on its own lease, which then never went away).
    with_etcd(|| async {
        let a = backend().await;
        let b = backend().await;
        let c = backend().await;
        let c_session = c.open_session(Duration::from_secs(10)).await.unwrap();
        let c_leads = c.campaign(&c_session, &group(), "node-c").await.unwrap();
        let b_session = Arc::new(b.open_session(Duration::from_secs(10)).await.unwrap());
        let (b2, s2) = (b.clone(), b_session.clone());
        let broken = tokio::spawn(async move { b2.campaign(&s2, &group(), "node-b").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        broken.abort();
        let (b2, s2) = (b.clone(), b_session.clone());
        let b_waits = tokio::spawn(async move { b2.campaign(&s2, &group(), "node-b").await });
        let a_session = Arc::new(a.open_session(Duration::from_secs(10)).await.unwrap());
        let (a2, s2) = (a.clone(), a_session.clone());
        let a_waits = tokio::spawn(async move { a2.campaign(&s2, &group(), "node-a").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        b_waits.abort();
        b.close_session(&b_session).await.unwrap();
        c.resign(&c_leads).await.unwrap();
        let a_leads = tokio::time::timeout(Duration::from_secs(5), a_waits)
            .await
            .expect("node-a leads once node-b's session is closed")
            .unwrap()
            .unwrap();
        assert_eq!(
            a.leader(&group()).await.unwrap().unwrap().token,
            a_leads.token
        );
    })
    .await;
}
