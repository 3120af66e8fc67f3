//! The parallel-layout rules, one check for inference and training alike.
//!
//! A layout is valid when the devices equal the product of the degrees, the tensor degree
//! divides the attention heads, the pipeline has no more stages than layers, and an expert
//! degree above one has a mixture-of-experts model whose experts it divides. Inference counts
//! expert ranks as devices of their own (`devices = tensor x pipeline x expert x data`);
//! training runs expert parallelism inside the data ranks (`devices = tensor x pipeline x
//! context x data`, expert dividing data), as Megatron does.

use crate::engine::architecture::Architecture;

/// Degrees as a request gives them; `None` where it left one out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Degrees {
    /// Tensor parallel degree (default 1).
    pub tensor: u32,
    /// Pipeline stages (default 1).
    pub pipeline: u32,
    /// Expert parallel degree (default 1).
    pub expert: u32,
    /// Context parallel degree (training; default 1).
    pub context: u32,
    /// Data-parallel ranks or replicas, when given.
    pub data: Option<u32>,
    /// Devices in all, when given.
    pub devices: Option<u64>,
}

/// Where expert ranks sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpertRanks {
    /// Devices of their own (inference).
    Separate,
    /// Inside the data ranks (training).
    WithinData,
}

/// A valid layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Tensor parallel degree.
    pub tensor: u32,
    /// Pipeline stages.
    pub pipeline: u32,
    /// Expert parallel degree.
    pub expert: u32,
    /// Context parallel degree.
    pub context: u32,
    /// Data-parallel ranks or replicas.
    pub data: u32,
    /// Devices in all.
    pub devices: u64,
}

/// Which rule a layout breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `devices` is not the product of the degrees (or not a multiple of the model-parallel ones).
    Devices,
    /// More devices than the request kind allows.
    TooManyDevices,
    /// The tensor degree does not divide the heads.
    TensorHeads,
    /// More pipeline stages than layers.
    PipelineLayers,
    /// Expert parallelism on a dense model.
    ExpertDense,
    /// The expert degree does not divide the experts (or the data ranks).
    ExpertDivides,
}

/// A broken layout rule, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct LayoutError {
    /// The rule.
    pub rule: Rule,
    /// JSON pointer of the field.
    pub pointer: String,
    /// A sentence.
    pub detail: String,
}

/// Resolves the data degree and checks every rule; `prefix` is the pointer of the request and
/// `max_devices` the most devices the request kind allows.
pub fn resolve(
    arch: &Architecture,
    d: Degrees,
    experts: ExpertRanks,
    max_devices: u64,
    prefix: &str,
) -> Result<Layout, LayoutError> {
    let fail = |rule, field: &str, detail: String| LayoutError { rule, pointer: format!("{prefix}{field}"), detail };
    let (model_parallel, names) = match experts {
        ExpertRanks::Separate => {
            (u64::from(d.tensor) * u64::from(d.pipeline) * u64::from(d.expert), "tensor x pipeline x expert")
        }
        ExpertRanks::WithinData => {
            (u64::from(d.tensor) * u64::from(d.pipeline) * u64::from(d.context), "tensor x pipeline x context")
        }
    };
    let data = match (d.data, d.devices) {
        (Some(data), _) => u64::from(data),
        (None, Some(devices)) if devices.is_multiple_of(model_parallel) => devices / model_parallel,
        (None, Some(devices)) => {
            return Err(fail(
                Rule::Devices,
                "/devices",
                format!("devices ({devices}) must be a multiple of {names} ({model_parallel})"),
            ));
        }
        (None, None) => 1,
    };
    let devices = model_parallel.saturating_mul(data);
    if let Some(given) = d.devices
        && given != devices
    {
        return Err(fail(
            Rule::Devices,
            "/devices",
            format!("devices ({given}) must equal {names} x data ({model_parallel} x {data} = {devices})"),
        ));
    }
    if devices > max_devices {
        return Err(fail(
            Rule::TooManyDevices,
            "/parallelism",
            format!("the parallel degrees multiply to {devices} devices; at most {max_devices}"),
        ));
    }
    let data = u32::try_from(data).unwrap_or(u32::MAX);
    if !arch.heads.is_multiple_of(u64::from(d.tensor)) {
        return Err(fail(
            Rule::TensorHeads,
            "/parallelism/tensor",
            format!("tensor parallel degree {} must divide the {} attention heads", d.tensor, arch.heads),
        ));
    }
    if d.pipeline > arch.layers {
        return Err(fail(
            Rule::PipelineLayers,
            "/parallelism/pipeline",
            format!("{} pipeline stages exceed the {} layers", d.pipeline, arch.layers),
        ));
    }
    match arch.moe {
        None if d.expert > 1 => {
            return Err(fail(
                Rule::ExpertDense,
                "/parallelism/expert",
                "expert parallelism needs a mixture-of-experts model".into(),
            ));
        }
        Some(moe) if !moe.experts.is_multiple_of(u64::from(d.expert)) => {
            return Err(fail(
                Rule::ExpertDivides,
                "/parallelism/expert",
                format!("expert parallel degree {} must divide the {} experts", d.expert, moe.experts),
            ));
        }
        Some(_) if experts == ExpertRanks::WithinData && !data.is_multiple_of(d.expert) => {
            return Err(fail(
                Rule::ExpertDivides,
                "/parallelism/expert",
                format!("expert parallel degree {} must divide the {data} data ranks", d.expert),
            ));
        }
        _ => {}
    }
    Ok(Layout { tensor: d.tensor, pipeline: d.pipeline, expert: d.expert, context: d.context, data, devices })
}
