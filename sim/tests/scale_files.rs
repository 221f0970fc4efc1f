//! The scale scenarios (`scenarios/scale/`) load, are spooled, and stay out of the suites: a
//! file of 10,000 jobs that `report` or `cargo test` held in memory would take gigabytes.

use std::path::Path;

#[test]
fn the_scale_scenarios_load_spooled_and_the_suites_leave_them_out() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/scale");
    let found = cronfence_sim::suite::discover(std::slice::from_ref(&dir)).expect("scale/ exists");
    assert!(found.failures.is_empty(), "{:?}", found.failures);
    assert!(!found.scenarios.is_empty());
    for loaded in &found.scenarios {
        assert!(loaded.scenario.spooled, "{} is not spooled", loaded.name);
    }
    assert!(cronfence_sim::suite::cases(&found.scenarios, None, None).is_empty());
    let spooled = cronfence_sim::suite::discover_spooled(&[dir]).expect("scale/ exists");
    assert_eq!(spooled.scenarios.len(), found.scenarios.len());
}
