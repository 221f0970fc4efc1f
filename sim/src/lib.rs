//! # cronfence-sim
//!
//! The deterministic simulation harness for cronfence. It will hold the madsim world, fault
//! injection, history recording, checkers, the report writer and the `cronfence` CLI; for now it
//! is a placeholder crate so the workspace has its final shape.
