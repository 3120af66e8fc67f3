//! A fitted engine profile that a request carries (`engine_profile`): the constants
//! `POST /v1/calibrate` fitted, over the catalog engine they were fitted from.
//!
//! The document has the shape of an `[[engine.release]]` table in `data/engines/inference.toml`
//! (the fields it changes, the same names and units, a `fitted_on`), so a user can send it back
//! with each request, pass it to the CLI with `--engine-profile FILE`, or paste it into the data
//! as a release. hwcost stays stateless: the profile lives with the user.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::inference::{EngineRef, apply_efficiencies};
use super::range::{self, Checks};
use crate::engine::profile::EngineProfile;
use crate::engine::units::Seconds;

/// The serving simulator's per-sequence constant of a fitted profile.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServingConstants {
    /// Time per sequence per step (sampling, scheduling, detokenisation), microseconds.
    pub sequence_overhead_us: Option<f64>,
}

/// Engine constants fitted to a user's measurements, over a catalog engine.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "base": "vllm", "fitted_on": "4 runs of sweep.json (guidellm) on llama-3.1-8b, 1 x nvidia-h100-sxm-80gb",
    "compute_efficiency": 0.52, "memory_efficiency": 0.81, "step_overhead_us": 410.0,
    "request_overhead_us": 6200.0, "serving": {"sequence_overhead_us": 18.0}
}))]
pub struct EngineProfileBody {
    /// The catalog engine (and release) the constants replace fields of: `vllm`, `vllm@0.10`.
    /// A request that also names an `engine` must name this one.
    pub base: EngineRef,
    /// What the constants were fitted on (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitted_on: Option<String>,
    /// Large 16-bit GEMM share of dense peak, for every device kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_efficiency: Option<f64>,
    /// Share of peak memory bandwidth when streaming weights and KV, for every device kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_efficiency: Option<f64>,
    /// Fixed time per forward pass, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_overhead_us: Option<f64>,
    /// Added once to each request's time to first token, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_overhead_us: Option<f64>,
    /// Serving-simulator constants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<ServingConstants>,
}

/// The constants of a profile, checked.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Constants {
    /// `compute_efficiency`.
    pub compute_efficiency: Option<f64>,
    /// `memory_efficiency`.
    pub memory_efficiency: Option<f64>,
    /// `step_overhead_us`.
    pub step_overhead_us: Option<f64>,
    /// `request_overhead_us`.
    pub request_overhead_us: Option<f64>,
    /// `serving.sequence_overhead_us`.
    pub sequence_overhead_us: Option<f64>,
}

impl EngineProfileBody {
    /// Range-checks the constants (pointers under `at`, the profile's pointer).
    pub fn check(&self, checks: &mut Checks, at: &str) -> Constants {
        let sequence = self.serving.as_ref().and_then(|s| s.sequence_overhead_us);
        Constants {
            compute_efficiency: checks.number(
                format!("{at}/compute_efficiency"),
                range::SHARE,
                self.compute_efficiency,
            ),
            memory_efficiency: checks.number(format!("{at}/memory_efficiency"), range::SHARE, self.memory_efficiency),
            step_overhead_us: checks.number(
                format!("{at}/step_overhead_us"),
                range::STEP_OVERHEAD_US,
                self.step_overhead_us,
            ),
            request_overhead_us: checks.number(
                format!("{at}/request_overhead_us"),
                range::REQUEST_OVERHEAD_US,
                self.request_overhead_us,
            ),
            sequence_overhead_us: checks.number(
                format!("{at}/serving/sequence_overhead_us"),
                range::SEQUENCE_OVERHEAD_US,
                sequence,
            ),
        }
    }
}

impl Constants {
    /// Writes the constants that are set over `profile`.
    pub fn apply(&self, profile: &mut EngineProfile) {
        apply_efficiencies(profile, self.compute_efficiency, self.memory_efficiency);
        if let Some(us) = self.step_overhead_us {
            profile.step_overhead = Seconds(us * 1e-6);
        }
        if let Some(us) = self.request_overhead_us {
            profile.request_overhead = Seconds(us * 1e-6);
        }
        if let Some(us) = self.sequence_overhead_us {
            profile.sequence_overhead = Seconds(us * 1e-6);
        }
    }

    /// The document of these constants over `base`.
    pub fn body(&self, base: EngineRef, fitted_on: String) -> EngineProfileBody {
        EngineProfileBody {
            base,
            fitted_on: Some(fitted_on),
            compute_efficiency: self.compute_efficiency,
            memory_efficiency: self.memory_efficiency,
            step_overhead_us: self.step_overhead_us,
            request_overhead_us: self.request_overhead_us,
            serving: self.sequence_overhead_us.map(|us| ServingConstants { sequence_overhead_us: Some(us) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn constants_replace_the_profile_fields_in_their_units() {
        let catalog = Catalog::embedded().unwrap();
        let mut profile = catalog.engine("vllm").unwrap().profile.clone();
        let body: EngineProfileBody = serde_json::from_value(serde_json::json!({
            "base": "vllm", "compute_efficiency": 0.4, "memory_efficiency": 0.6,
            "step_overhead_us": 250.0, "request_overhead_us": 7000.0, "serving": {"sequence_overhead_us": 12.5}
        }))
        .unwrap();
        let mut checks = Checks::default();
        let constants = body.check(&mut checks, "/engine_profile");
        checks.finish().unwrap();
        constants.apply(&mut profile);
        assert_eq!((profile.compute_efficiency, profile.memory_efficiency), (0.4, 0.6));
        assert!(profile.kind_adjustments.iter().all(|k| k.compute_efficiency == 0.4 && k.memory_efficiency == 0.6));
        assert!((profile.step_overhead.0 - 250e-6).abs() < 1e-15);
        assert!((profile.request_overhead.0 - 7e-3).abs() < 1e-15);
        assert!((profile.sequence_overhead.0 - 12.5e-6).abs() < 1e-15);
        // The document round-trips.
        let again = constants.body(body.base.clone(), "x".into());
        assert_eq!(serde_json::to_value(&again).unwrap()["serving"]["sequence_overhead_us"], 12.5);
    }

    #[test]
    fn out_of_range_constants_are_named() {
        let body: EngineProfileBody = serde_json::from_value(serde_json::json!({
            "base": "vllm", "compute_efficiency": 1.5, "serving": {"sequence_overhead_us": -1.0}
        }))
        .unwrap();
        let mut checks = Checks::default();
        body.check(&mut checks, "/engine_profile");
        let Err(crate::scenario::Error::InvalidRequest(errors)) = checks.finish() else { panic!() };
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/engine_profile/compute_efficiency", "/engine_profile/serving/sequence_overhead_us"]);
    }
}
