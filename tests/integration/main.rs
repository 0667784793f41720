//! podiam's one integration-test binary: snapshots of every artifact for each
//! fixture, binary-level behaviour, and schema mutation tests.

mod cli;
mod fixtures;
mod schemas;
mod snapshots;
mod terraform;
