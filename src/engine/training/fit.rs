//! What makes a fine-tune fit: each change people reach for, tried one at a time on the run as
//! given, then cumulatively in order, each with its peak memory and its cost in speed.
//!
//! The order is the usual order of cost to speed: a chunked loss, an 8-bit optimizer and
//! stepping inside backward cost nothing measurable; paged states cost when they spill;
//! recomputing activations costs about a third more compute; offloading them costs host-link
//! time; a smaller micro-batch costs GEMM efficiency; adapters and a 4-bit base change what is
//! trained (QLoRA also dequantises in every GEMM); a shorter sequence changes the data.

use super::{Checkpointing, Method, Optimizer, TrainingInput, estimate, memory};
use crate::engine::units::Bytes;

/// One change to a run, and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// What changes, as request fields (`activation_checkpointing=full`).
    pub change: String,
    /// Peak device demand after it.
    pub total: Bytes,
    /// Whether the run fits after it.
    pub fits: bool,
    /// Tokens per second per device after it.
    pub tokens_per_s_per_device: f64,
    /// Step time relative to the run as given (1.0 = as fast).
    pub slowdown: f64,
    /// Whether it changes what is trained (adapters instead of all weights, a 4-bit base), not
    /// only how.
    pub changes_training: bool,
}

/// The fit advice for a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FitAdvice {
    /// Each change alone, in order of cost to speed.
    pub single: Vec<Change>,
    /// The changes applied cumulatively, in the same order, until the run fits.
    pub cumulative: Vec<Change>,
    /// The least slowing single change that fits, or else the shortest cumulative prefix that
    /// does; `None` when the run fits already or nothing makes it fit.
    pub cheapest: Option<Change>,
}

type Apply = fn(&mut TrainingInput<'_>) -> Option<String>;

/// The candidate changes, in order of cost to speed; each returns its description, or `None`
/// when it does not apply (already so).
const CHANGES: [Apply; 10] = [
    |i| {
        (i.recipe.loss != super::Loss::Chunked && i.recipe.loss != super::Loss::Fused).then(|| {
            i.recipe.loss = super::Loss::Chunked;
            "loss=chunked".to_owned()
        })
    },
    |i| {
        matches!(i.optimizer, Optimizer::AdamW).then(|| {
            i.optimizer = Optimizer::AdamW8bit;
            "optimizer=adamw-8bit".to_owned()
        })
    },
    |i| {
        let accumulates = memory::gradient_accumulation(i);
        (!i.recipe.optimizer_in_backward && !accumulates && i.method == Method::Full).then(|| {
            i.recipe.optimizer_in_backward = true;
            "optimizer_in_backward=true".to_owned()
        })
    },
    |i| {
        matches!(i.optimizer, Optimizer::AdamW | Optimizer::AdamW8bit).then(|| {
            i.optimizer =
                if i.optimizer == Optimizer::AdamW { Optimizer::PagedAdamW } else { Optimizer::PagedAdamW8bit };
            format!(
                "optimizer={}",
                if i.optimizer == Optimizer::PagedAdamW { "paged-adamw" } else { "paged-adamw-8bit" }
            )
        })
    },
    |i| {
        (i.checkpointing != Checkpointing::Full).then(|| {
            i.checkpointing = Checkpointing::Full;
            "activation_checkpointing=full".to_owned()
        })
    },
    |i| {
        (!i.recipe.activation_offloading).then(|| {
            i.recipe.activation_offloading = true;
            "activation_offloading=true".to_owned()
        })
    },
    |i| {
        (i.micro_batch > 1).then(|| {
            i.micro_batch = 1;
            "micro_batch_size=1".to_owned()
        })
    },
    |i| {
        (i.method == Method::Full).then(|| {
            i.method = Method::Lora(16);
            "method=lora".to_owned()
        })
    },
    |i| {
        (!matches!(i.method, Method::Qlora(_))).then(|| {
            i.method = Method::Qlora(match i.method {
                Method::Lora(r) => r,
                _ => 16,
            });
            "method=qlora".to_owned()
        })
    },
    |i| {
        (!i.cpu_offload).then(|| {
            i.cpu_offload = true;
            "cpu_offload=true".to_owned()
        })
    },
];

fn judge(input: &TrainingInput<'_>, change: String, base_step: f64) -> Change {
    let e = estimate(input);
    Change {
        changes_training: change.contains("method="),
        change,
        total: e.memory.total,
        fits: e.memory.fits,
        tokens_per_s_per_device: e.tokens_per_s_per_device,
        slowdown: if base_step > 0.0 { e.step_time.0 / base_step } else { 1.0 },
    }
}

/// The changes that make `input` fit, when it does not; an empty advice when it does.
pub fn advise(input: &TrainingInput<'_>) -> FitAdvice {
    if memory::fits(input) {
        return FitAdvice::default();
    }
    let base_step = estimate(input).step_time.0;
    let mut single = Vec::new();
    let mut cumulative = Vec::new();
    let mut stacked = *input;
    let mut applied = Vec::new();
    let mut stacked_fits = false;
    for apply in CHANGES {
        let mut one = *input;
        if let Some(what) = apply(&mut one) {
            single.push(judge(&one, what, base_step));
        }
        if !stacked_fits && let Some(what) = apply(&mut stacked) {
            applied.push(what);
            let c = judge(&stacked, applied.join(", "), base_step);
            stacked_fits = c.fits;
            cumulative.push(c);
        }
    }
    // Last resort: the longest sequence that fits once everything else is applied.
    if !stacked_fits {
        let longest = estimate(&stacked).memory.max_sequence_length;
        if longest > 0 && longest < stacked.sequence_length {
            stacked.sequence_length = longest;
            applied.push(format!("sequence_length={longest}"));
            cumulative.push(judge(&stacked, applied.join(", "), base_step));
        }
    }
    // Fitting first; among those, changes to how before changes to what is trained, then by
    // speed.
    single.sort_by(|a, b| {
        b.fits.cmp(&a.fits).then(a.changes_training.cmp(&b.changes_training)).then(a.slowdown.total_cmp(&b.slowdown))
    });
    let cheapest = single.iter().find(|c| c.fits).or_else(|| cumulative.iter().find(|c| c.fits)).cloned();
    FitAdvice { single, cumulative, cheapest }
}
