//! Running one world and naming what went wrong: the violation kinds the checkers found
//! (`checker/kind`, e.g. `no_gap/missing_tick`), or `panic` when the simulation itself panicked
//! (the panic is caught, never allowed to end a sweep). The kinds are what shrinking preserves,
//! the known list records, and file names carry. It judges nothing itself: the checkers do.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;

use crate::scenario::{BackendKind, Scenario};

/// What one world showed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Violation kinds, `checker/kind` (`panic` for a panic), sorted.
    pub kinds: BTreeSet<String>,
    /// The panic's message, when the world panicked.
    pub panic: Option<String>,
    /// History records (0 after a panic): a measure of the world's size.
    pub records: usize,
}

impl Outcome {
    /// True when the world broke nothing and did not panic.
    pub fn passed(&self) -> bool {
        self.kinds.is_empty()
    }
}

/// The kind a panic is reported as.
pub const PANIC: &str = "panic";

/// Runs `scenario` on `backend` with `seed` in the simulator and names what it showed.
pub fn run(scenario: &Scenario, backend: BackendKind, seed: u64) -> Outcome {
    observe(|| crate::world::run(scenario, backend, seed))
}

/// Calls `run` (a world run), catching a panic, and names the violations of the run it returns.
pub fn observe(run: impl FnOnce() -> crate::world::Run) -> Outcome {
    match std::panic::catch_unwind(AssertUnwindSafe(run)) {
        Ok(run) => Outcome {
            kinds: run
                .verdict
                .violations
                .iter()
                .map(crate::check::Checker::kind_of)
                .collect(),
            panic: None,
            records: run.history.records.len(),
        },
        Err(payload) => Outcome {
            kinds: BTreeSet::from([PANIC.to_string()]),
            panic: Some(super::panic_message(payload.as_ref())),
            records: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_world_is_an_outcome_not_a_crash() {
        // The panic is caught and reported with its message, so a sweep can go on.
        let outcome = observe(|| panic!("sender should not drop"));
        assert_eq!(outcome.kinds, BTreeSet::from([PANIC.to_string()]));
        assert_eq!(outcome.panic.as_deref(), Some("sender should not drop"));
        assert!(!outcome.passed());
    }
}
