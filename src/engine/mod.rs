//! The rules engine: pure functions over typed values.
//!
//! Nothing here reads files, the clock, the environment or the network, logs, or knows about
//! serde or HTTP. Inputs arrive already validated (see `catalog` and `api`), so every function is
//! total: it returns a value for every input its types admit, and never panics. Integer arithmetic
//! saturates rather than wraps; the edges bound inputs so that saturation is never reached in
//! practice.
//!
//! Table of contents:
//! - [`units`]: newtypes for bytes and parameter counts.
//! - [`architecture`]: a transformer's shape, as the engine sees it.
//! - [`mod@format`]: number formats and their bits per weight.
//! - [`anatomy`]: where a model's parameters sit, computed from its architecture.
//! - [`device`]: a hardware device's capabilities.
//! - [`profile`]: a serving engine's efficiencies.
//! - [`parallelism`], [`network`], [`kv_cache`], [`moe`]: the pieces of an inference estimate.
//! - [`techniques`], [`kv_offload`]: serving techniques beyond plain continuous batching (KV tiers
//!   beyond device memory and prefix reuse).
//! - [`inference`]: memory, FLOPs, latency, throughput, cost and energy of serving.
//! - [`serving`]: continuous batching under load, replayed step by step.
//! - [`techniques`]: serving techniques beyond plain decoding; [`speculative`]: speculative
//!   decoding (tokens per step, the verifier's and the drafter's cost, where it stops paying).
//! - [`training`]: memory, FLOPs, step time, MFU, GPU-hours, cost and energy of training.
//! - [`cost`]: what a device-hour costs, rented or owned.
//! - [`explain`]: the rule trace and warnings every estimate carries.

pub mod anatomy;
pub mod architecture;
pub mod cost;
pub mod device;
pub mod explain;
pub mod format;
pub mod inference;
pub mod kv_cache;
pub mod kv_offload;
pub mod moe;
pub mod network;
pub mod parallelism;
pub mod profile;
pub mod scaling;
pub mod serving;
pub mod speculative;
pub mod techniques;
pub mod training;
pub mod units;

#[cfg(test)]
mod tests;
