//! Fault plans as values a property test can generate and shrink, and their scenario TOML.
//!
//! The property test (`sim/tests/random_plans.rs`) draws a [`PlanCase`] — a seed and a list of
//! faults — runs it on a fixed base scenario, and, when a guarantee breaks, lets proptest shrink
//! the case to a minimal one. [`PlanCase::to_toml`] prints that case as a complete scenario file
//! which can be saved under `scenarios/` and replayed with `cronfence run`.

use std::fmt::Write;
use std::path::Path;

use crate::scenario::{self, BackendKind, Scenario};

/// One generated fault: kind (with its parameters, as TOML key = value lines), target, timing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenFault {
    /// The fault kind, e.g. `crash`.
    pub fault: &'static str,
    /// Extra keys, e.g. `offset = "-30s"`.
    pub params: Vec<String>,
    /// `leader`, `follower` or `node-N`.
    pub node: String,
    /// Start, in whole seconds.
    pub at_s: u32,
    /// Duration, in whole seconds.
    pub duration_s: u32,
}

/// A seed and a fault plan on the base scenario, for one backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanCase {
    /// The backend the plan runs on.
    pub backend: BackendKind,
    /// The world's seed.
    pub seed: u64,
    /// The faults.
    pub faults: Vec<GenFault>,
}

/// The base scenario every generated plan runs on: three nodes, two 1-second jobs (one of each
/// delivery), TTL 10 s, three minutes, faults in the first 100 s and none lasting over 40 s,
/// so the last 40 s of the checked window see the system recover.
const BASE: &str = r#"description = "A generated fault plan (shrunk by proptest) on the base load."
nodes = 3
duration = "3m"

[check]
cooldown = "30s"

[[jobs]]
id = "at-most-once"
every = "1s"

[[jobs]]
id = "at-least-once"
every = "1s"
delivery = "at_least_once"
run_time = "300ms"
"#;

impl PlanCase {
    /// The case as a complete scenario file expecting `pass`.
    pub fn to_toml(&self) -> String {
        let backends = match self.backend {
            BackendKind::Memory => {
                "backends = [\"memory\"]\nnot_on_etcd_sim = \"generated for memory\""
            }
            BackendKind::EtcdSim => {
                "backends = [\"etcd-sim\"]\nnot_on_etcd_sim = \"(generated for etcd-sim)\""
            }
        };
        let mut out = BASE.replacen(
            "nodes = 3",
            &format!("nodes = 3\n{backends}\nseeds = [{}]", self.seed),
            1,
        );
        for f in &self.faults {
            let _ = write!(
                out,
                "\n[[faults]]\nfault = \"{}\"\nnode = \"{}\"\nat = \"{}s\"\nduration = \"{}s\"\n",
                f.fault, f.node, f.at_s, f.duration_s
            );
            for p in &f.params {
                let _ = writeln!(out, "{p}");
            }
        }
        out.push_str("\n[expect]\noutcome = \"pass\"\n");
        out
    }

    /// The case as a loaded scenario.
    pub fn scenario(&self) -> Scenario {
        scenario::parse(Path::new("generated.toml"), &self.to_toml())
            .expect("generated scenarios are valid")
    }
}
