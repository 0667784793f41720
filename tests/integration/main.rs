//! podiam's one integration-test binary: snapshots of every artifact for each
//! fixture, binary-level behaviour, and schema mutation tests.

mod agreement;
mod batch;
mod bindings;
mod cli;
mod corpus;
mod cross;
mod cross_scripts;
mod drift;
mod environment;
mod fixtures;
mod hostile;
mod kubernetes;
mod layout;
mod manual;
mod overrides;
mod privilege;
mod review;
mod review_loop;
mod schema_errors;
mod schemas;
mod scripts_cli;
mod semantics;
mod shell_syntax;
mod shell_syntax_table;
mod snapshots;
mod terraform;
mod terraform_cross;
mod upstream;
mod writing;
