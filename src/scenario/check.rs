//! A capacity check (`POST /v1/check`, `hwcost check PLAN`): exactly one of an inference and a
//! training request, plus requirements. A layout the model cannot take is not an error here: a
//! check is asked about exactly such plans, so it parses to [`CheckScenario::InvalidLayout`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Error;
use super::inference::{BatchSize, InferenceRequest, InferenceScenario, MaxKeyword};
use super::layout::LayoutError;
use super::requirements::RequirementsBody;
use super::training::{TrainingRequest, TrainingScenario};
use crate::catalog::Catalog;
use crate::plan::rules::Requirements;

/// A deployment plan and what it must achieve: exactly one of `inference` and `training`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "inference": {"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, "parallelism": {"tensor": 4},
                  "weights": "fp8", "batch_size": 32, "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm"},
    "requirements": {"max_ttft_ms": 2000, "max_tpot_ms": 50, "min_requests_per_s": 2, "memory_headroom_fraction": 0.1}
}))]
pub struct CheckRequest {
    /// An inference deployment, as for `POST /v1/estimate/inference`.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub inference: Option<InferenceRequest>,
    /// A training run, as for `POST /v1/estimate/training`.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub training: Option<TrainingRequest>,
    /// What it must achieve (default: only that it fits and is valid).
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub requirements: Option<RequirementsBody>,
}

/// What a check judges.
#[derive(Debug, Clone)]
pub enum CheckScenario {
    /// An inference deployment.
    Inference(Box<InferenceScenario>),
    /// A training run.
    Training(Box<TrainingScenario>),
    /// A plan whose layout the model cannot take: a failed rule.
    InvalidLayout(LayoutError),
}

impl CheckScenario {
    /// Parses a check request into what it judges and the requirements.
    pub fn parse(catalog: &Catalog, request: &CheckRequest) -> Result<(Self, Requirements), Error> {
        let requirements = request.requirements.clone().unwrap_or_default().parse("/requirements")?;
        let layout = |result: Result<Self, Error>| match result {
            Err(Error::Layout(e)) => Ok(Self::InvalidLayout(e)),
            other => other,
        };
        let plan = match (&request.inference, &request.training) {
            (Some(plan), None) => {
                // A check judges a deployment as its engine runs it: without a batch size, the
                // engine's own sequence limit (what POST /v1/estimate/serving replays), not one
                // sequence at a time.
                let omitted = plan.run.batch_size.is_none();
                let mut plan = plan.clone();
                plan.run.batch_size.get_or_insert(BatchSize::Max(MaxKeyword::Max));
                layout(InferenceScenario::parse(catalog, &plan, "/inference").map(|mut s| {
                    if omitted {
                        s.assumptions.push(
                            "batch_size",
                            "max",
                            "a check judges the deployment as its engine runs it: as many sequences as the engine's limit and its KV cache allow",
                        );
                    }
                    Self::Inference(Box::new(s))
                }))?
            }
            (None, Some(plan)) => {
                layout(TrainingScenario::parse(catalog, plan, "/training").map(|s| Self::Training(Box::new(s))))?
            }
            (Some(_), Some(_)) => {
                return Err(Error::field("/training", "give either inference or training, not both"));
            }
            (None, None) => return Err(Error::field("", "give an inference or a training plan")),
        };
        Ok((plan, requirements))
    }
}
