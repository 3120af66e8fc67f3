//! Serving under load: a step-level simulation of one model replica under continuous batching.
//!
//! The static estimate ([`super::inference`]) prices one batch: one prefill, then decode.
//! Real servers (TensorRT-LLM in-flight batching, vLLM, SGLang) admit and retire requests every
//! step, mix prefill chunks with decodes and are limited by the KV-cache blocks they allocate.
//! This module replays that: requests arrive ([`workload`]), the engine's scheduler
//! ([`super::profile::Scheduler`]) decides what runs in each step, and each step's time comes
//! from its shape ([`step`]). Latency percentiles, throughput, queueing and preemptions are read
//! off the replay.
//!
//! The simulation is a pure function of its input and the workload's seed. Work is bounded by
//! the step limit: the edges bound requests and lengths so that it is never reached in practice.
//!
//! Data parallelism: each replica serves `1 / data` of the load (rate, clients or requests);
//! one replica is simulated and the throughputs are multiplied back.

pub mod capacity;
pub mod disaggregated;
pub mod simulate;
pub mod step;
pub mod workload;

pub use simulate::{
    Detail, Histogram, Histograms, Percentiles, Regime, ServingEstimate, Slo, SloTarget, Tiers, Timeline, simulate,
    simulate_bounded, simulate_detailed, simulate_with_slo,
};
pub use workload::{Arrival, Lengths, TraceRequest, Workload};
