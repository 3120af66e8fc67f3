//! The integration-test binary: starts the real app on port 0 and talks HTTP to it.
//!
//! One binary (not one per file) so the crate links once; each module covers one concern.

mod calibrate;
mod catalog;
mod consistency;
mod costs;
mod dashboard;
pub mod decisions;
mod disaggregated;
mod errors;
mod hardening;
mod helpers;
mod host;
mod import;
mod inference;
mod kv_offload;
mod layout;
mod measurements;
mod moe;
mod openapi;
mod ops;
mod plan_pools;
mod plan_techniques;
mod readme;
mod scaling;
mod serving;
mod speculative;
mod style;
mod training;
mod training_moe_fp8;
mod verdict;
