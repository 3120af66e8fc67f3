//! hwcost: estimates what a model needs from hardware: memory, FLOPs, training time, inference
//! latency and cost, each number explained.
//!
//! Codemap (see `ARCHITECTURE.md` for the invariants):
//! - [`engine`]: the pure rules engine. No I/O, no serde, cannot fail.
//! - [`catalog`]: parses and validates `data/` into engine types.
//! - [`import`]: model descriptions from outside (HF config.json, safetensors, GGUF headers).
//! - [`host`]: the machine this runs on; the only user of `sysinfo`.
//! - [`scenario`]: requests parsed once into engine inputs, whoever asks (HTTP, CLI, files).
//! - [`answer`]: engine results as response documents, and the decisions built on them.
//! - [`api`]: HTTP routes and the error mapping; the only module that knows HTTP.
//! - [`startup`], [`telemetry`], [`cli`]: process wiring; [`healthcheck`]: the container's
//!   probe; [`wire`]: strict serde helpers.
//! - [`validation`]: published measurements against the estimates; [`report`]: CLI tables.

pub mod answer;
pub mod api;
pub mod catalog;
pub mod cli;
pub mod engine;
pub mod healthcheck;
pub mod host;
pub mod import;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod startup;

pub mod telemetry;
pub mod validation;
pub mod wire;
