//! Time scaling for real time: a scenario that declares `real_time_scale = f` plays in real time
//! with every duration multiplied by `f` — its length, the lease TTL and timeouts, the jobs'
//! intervals, anchors (from the start), run times and deadlines, every fault's start, length and
//! size, the random plan's spacing, the checked window and the expectation's times — so a
//! 20-minute plan on a 10 s lease plays in 4 minutes on a 2 s lease, and the same checkers judge
//! it. The simulator runs the file as written. Only interval jobs scale (a cron schedule names
//! wall-clock instants), and the scaled lease must still be whole seconds, at least etcd's 2 s
//! ([`super::validate`] refuses a file otherwise). Clock drift in ppm is a ratio and stays. A
//! random plan is drawn as the simulator draws it for the seed, from the file as written, and
//! the drawn plan is scaled ([`plan`]): the same faults, at scaled times and sizes. The core's
//! own constants do not scale (its longest retry backoff, 5 s, is part of the liveness bound).

use jiff::{SignedDuration, Timestamp};

use super::Scenario;
use crate::fault::{FaultKind, Planned};

/// The fault plan real time plays for `scenario` (its explicit faults and its random plan's draw
/// for `seed`, from the file as written), scaled by its `real_time_scale`.
pub fn plan(scenario: &Scenario, seed: u64) -> Vec<Planned> {
    let planned = crate::random::fault_plan(scenario, seed);
    let Some(factor) = scenario.real_time_scale else {
        return planned;
    };
    let d = |d: std::time::Duration| d.mul_f64(factor);
    planned
        .into_iter()
        .map(|p| Planned {
            kind: kind(&p.kind, factor),
            target: p.target,
            at: d(p.at),
            duration: p.duration.map(d),
        })
        .collect()
}

/// A fault's sizes scaled by `factor`.
fn kind(kind: &FaultKind, factor: f64) -> FaultKind {
    let d = |d: SignedDuration| d.mul_f64(factor);
    match kind.clone() {
        FaultKind::ClockOffset { offset } => FaultKind::ClockOffset { offset: d(offset) },
        FaultKind::ClockJump { by } => FaultKind::ClockJump { by: d(by) },
        FaultKind::ClockStrobe { amplitude, period } => FaultKind::ClockStrobe {
            amplitude: d(amplitude),
            period: d(period),
        },
        FaultKind::BackendLatency { latency } => FaultKind::BackendLatency {
            latency: d(latency),
        },
        FaultKind::DelayedWrite { count, delay } => FaultKind::DelayedWrite {
            count,
            delay: d(delay),
        },
        other => other,
    }
}

/// `scenario` as real time plays it: scaled by its `real_time_scale`, or as it is.
pub fn for_real_time(scenario: &Scenario) -> Scenario {
    match scenario.real_time_scale {
        Some(factor) => scaled(scenario, factor),
        None => scenario.clone(),
    }
}

/// `scenario` with every duration multiplied by `factor`.
pub fn scaled(scenario: &Scenario, factor: f64) -> Scenario {
    let d = |d: SignedDuration| d.mul_f64(factor);
    let opt = |o: Option<SignedDuration>| o.map(d);
    let at = |t: Timestamp| scenario.start + (t - scenario.start).mul_f64(factor);
    let mut s = scenario.clone();
    s.real_time_scale = None;
    s.duration = d(s.duration);
    let node = &mut s.node;
    (node.lease_ttl, node.request_timeout) = (d(node.lease_ttl), d(node.request_timeout));
    node.unreachable_after = d(node.unreachable_after);
    for job in &mut s.jobs {
        job.every = opt(job.every);
        job.anchor = job.anchor.map(at);
        job.starting_deadline = opt(job.starting_deadline);
        job.run_time = d(job.run_time);
    }
    for fault in &mut s.faults {
        (fault.at, fault.duration) = (d(fault.at), opt(fault.duration));
        (fault.offset, fault.by) = (opt(fault.offset), opt(fault.by));
        (fault.amplitude, fault.period) = (opt(fault.amplitude), opt(fault.period));
        (fault.latency, fault.delay) = (opt(fault.latency), opt(fault.delay));
    }
    if let Some(random) = &mut s.random {
        (random.every, random.max_duration) = (d(random.every), d(random.max_duration));
    }
    let check = &mut s.check;
    (check.warmup, check.cooldown) = (d(check.warmup), d(check.cooldown));
    check.liveness_bound = opt(check.liveness_bound);
    let expect = &mut s.expect;
    expect.lateness_p50_at_least = opt(expect.lateness_p50_at_least);
    expect.takeover_at_most = opt(expect.takeover_at_most);
    if let Some(go_micro) = &mut s.go_micro {
        go_micro.start_after_boot = opt(go_micro.start_after_boot);
    }
    s
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn every_duration_scales_and_the_simulated_file_is_untouched() {
        let text = r#"
description = "x"
duration = "20m"
real_time_scale = 0.2

[node]
lease_ttl = "10s"

[[jobs]]
id = "j"
every = "1s"
anchor = "2027-01-01T00:00:10Z"
run_time = "500ms"

[[faults]]
fault = "crash"
at = "2m"
duration = "30s"

[random]
every = "2m"
kinds = ["crash"]
max_duration = "40s"

[check]
cooldown = "70s"

[expect]
outcome = "pass"
takeover_at_most = "11s"
"#;
        let loaded = crate::scenario::parse(Path::new("s.toml"), text).expect("loads");
        let real = for_real_time(&loaded);
        let secs = |d: SignedDuration| d.as_secs_f64();
        assert_eq!(secs(real.duration), 240.0);
        assert_eq!(secs(real.node.lease_ttl), 2.0);
        assert_eq!(secs(real.node.request_timeout), 0.4);
        assert_eq!(real.jobs[0].every.map(secs), Some(0.2));
        assert_eq!(secs(real.jobs[0].run_time), 0.1);
        let anchor = real.jobs[0].anchor.expect("kept");
        assert_eq!(secs(anchor - real.start), 2.0);
        assert_eq!(
            (secs(real.faults[0].at), real.faults[0].duration.map(secs)),
            (24.0, Some(6.0))
        );
        let random = real.random.as_ref().expect("kept");
        assert_eq!((secs(random.every), secs(random.max_duration)), (24.0, 8.0));
        assert_eq!(secs(real.check.cooldown), 14.0);
        assert_eq!(real.expect.takeover_at_most.map(secs), Some(2.2));
        assert_eq!(real.real_time_scale, None);
        assert_eq!(secs(loaded.duration), 1200.0, "the file as written");
        // The random plan is the simulator's draw for the seed, scaled: same faults, same order.
        let drawn = crate::random::fault_plan(&loaded, 1);
        let played = plan(&loaded, 1);
        assert_eq!(drawn.len(), played.len());
        assert!(drawn.len() > 5, "{} faults drawn", drawn.len());
        for (a, b) in drawn.iter().zip(&played) {
            assert_eq!(
                (a.target.as_str(), a.kind.name()),
                (b.target.as_str(), b.kind.name())
            );
            assert_eq!(b.at, a.at.mul_f64(0.2));
        }
    }
}
