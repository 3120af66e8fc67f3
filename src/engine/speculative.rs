//! Speculative decoding: a cheap drafter proposes `k` tokens, the model verifies them in one
//! step, and every sequence advances by the tokens accepted plus the one the verifier adds.
//!
//! - **Tokens per step.** With each draft token accepted with probability `a`, independently
//!   of the others (Leviathan et al. 2023, "Fast Inference from Transformers via Speculative
//!   Decoding", equation 1), a verifier step yields `(1 - a^(k+1)) / (1 - a)` tokens: the
//!   accepted prefix of the draft and one token sampled by the verifier. Sources that publish a
//!   mean acceptance *length* `L` at depth `k` are converted by solving that equation for `a`
//!   ([`acceptance_rate_for_length`]).
//! - **The verifier** is a decode step whose GEMMs, LM head and attention queries carry `k + 1`
//!   rows per sequence while each sequence's KV cache is read once
//!   ([`super::serving::step::StepShape::speculative_rows`]): at a small batch the step is bound
//!   by streaming the weights and the extra rows are nearly free; at a large batch it is bound by
//!   arithmetic and costs about `k + 1` plain steps.
//! - **The drafter** runs `k` forwards one after another at the batch, each a small decode step
//!   on the same devices: a separate catalog model (`draft`), one decoder layer of the model's
//!   own shape plus its LM head (`eagle`, `eagle3`: EAGLE heads; `mtp`: DeepSeek-V3's
//!   multi-token-prediction module), or nothing (`ngram`: prompt lookup on the host).
//!
//! Speculation pays while `tokens per step x plain step / (verifier + drafter) > 1`; the batch at
//! which it stops paying is found by a search over the same step model ([`Assessment`]).

use super::anatomy::{Anatomy, Group};
use super::architecture::Architecture;
use super::inference::param_split;
use super::kv_cache;
use super::serving::step::{StepModel, StepShape, StepTime};

/// Where the draft tokens come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A separate, smaller model with the same tokenizer.
    Draft,
    /// EAGLE (Li et al. 2024): one decoder layer over the model's features, the model's LM head.
    Eagle,
    /// EAGLE-3 (Li et al. 2025): the same shape, fed with low, middle and high features.
    Eagle3,
    /// DeepSeek-V3's multi-token-prediction modules: one decoder layer each, shared head.
    Mtp,
    /// Prompt lookup (n-gram matching in the context): no drafter forward.
    Ngram,
}

impl Method {
    /// Every method, in wire order.
    pub const ALL: [Method; 5] = [Method::Draft, Method::Eagle, Method::Eagle3, Method::Mtp, Method::Ngram];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Draft => "draft",
            Method::Eagle => "eagle",
            Method::Eagle3 => "eagle3",
            Method::Mtp => "mtp",
            Method::Ngram => "ngram",
        }
    }

    /// Feature-fusion width of the head's input projection, in units of `hidden x hidden`:
    /// EAGLE concatenates the token embedding and one feature (2), EAGLE-3 three features (3),
    /// an MTP module the embedding and the previous depth's feature (2).
    fn fusion(self) -> f64 {
        match self {
            Method::Eagle | Method::Mtp => 2.0,
            Method::Eagle3 => 3.0,
            Method::Draft | Method::Ngram => 0.0,
        }
    }
}

/// A drafter's shape as a decode step sees it, whole (before any tensor split). Plain numbers,
/// so that [`Speculation`] stays `Copy`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Drafter {
    /// Matmul parameters per token, without the LM head and the routed experts.
    pub body_params: f64,
    /// Routed-expert parameters a token is multiplied by.
    pub expert_active_params: f64,
    /// LM-head parameters.
    pub head_params: f64,
    /// Dense weight bytes streamed per forward.
    pub dense_bytes: f64,
    /// Routed-expert weight bytes (a forward streams the experts its batch touches).
    pub expert_bytes: f64,
    /// Weight bytes the drafter adds to each replica's memory (a head shares the model's
    /// embedding and LM head).
    pub resident_bytes: f64,
    /// Routed experts and experts per token.
    pub moe: Option<(u64, u64)>,
    /// Decoder layers.
    pub layers: u32,
    /// Model width.
    pub hidden: f64,
    /// Attention width (`heads x (qk dim + v dim) / 2`).
    pub attention_width: f64,
    /// KV-cache bytes per token per layer, whole.
    pub kv_bytes_per_token_layer: f64,
}

impl Drafter {
    /// A separate draft model stored in `weight_bits` per weight, its KV in `kv_bits`.
    pub fn model(arch: &Architecture, anatomy: &Anatomy, weight_bits: f64, kv_bits: f64) -> Self {
        let bytes = weight_bits / 8.0;
        let split = param_split(arch, anatomy);
        let (qk, v) = arch.attention_dims();
        Self {
            body_params: split.body,
            expert_active_params: split.expert_active,
            head_params: split.head,
            dense_bytes: split.dense_streamed * bytes,
            expert_bytes: split.experts * bytes,
            resident_bytes: anatomy.total.as_f64() * bytes,
            moe: arch.moe.map(|m| (m.experts, m.experts_per_token)),
            layers: arch.layers,
            hidden: arch.hidden as f64,
            attention_width: (arch.heads * (qk + v)) as f64 / 2.0,
            kv_bytes_per_token_layer: kv_cache::elements_per_token_per_layer_per_device(arch, 1) * kv_bits / 8.0,
        }
    }

    /// A speculation head on the model itself (`eagle`, `eagle3`, `mtp`): one decoder layer of
    /// the model's own shape (its mean layer: dense and routed parameters over the layers), a
    /// fusion projection of `fusion x hidden x hidden`, and the model's LM head, which it shares
    /// (so only the layer and the projection add memory).
    pub fn head(method: Method, arch: &Architecture, anatomy: &Anatomy, weight_bits: f64, kv_bits: f64) -> Self {
        let bytes = weight_bits / 8.0;
        let layers = f64::from(arch.layers.max(1));
        let hidden = arch.hidden as f64;
        let per_layer = |keep: &dyn Fn(Group) -> bool| {
            anatomy
                .components
                .iter()
                .filter(|c| c.repeats > 1 && keep(c.group))
                .map(|c| c.total().as_f64())
                .sum::<f64>()
                / layers
        };
        let layer_dense = per_layer(&|g| !matches!(g, Group::Experts | Group::Embeddings | Group::Head));
        let layer_experts = per_layer(&|g| g == Group::Experts);
        let fusion = method.fusion() * hidden * hidden;
        let head = arch.vocab as f64 * hidden;
        let expert_active =
            arch.moe.map_or(0.0, |m| layer_experts * m.experts_per_token as f64 / m.experts.max(1) as f64);
        let (qk, v) = arch.attention_dims();
        Self {
            body_params: layer_dense + fusion,
            expert_active_params: expert_active,
            head_params: head,
            dense_bytes: (layer_dense + fusion + head) * bytes,
            expert_bytes: layer_experts * bytes,
            resident_bytes: (layer_dense + fusion + layer_experts) * bytes,
            moe: arch.moe.map(|m| (m.experts, m.experts_per_token)),
            layers: 1,
            hidden,
            attention_width: (arch.heads * (qk + v)) as f64 / 2.0,
            kv_bytes_per_token_layer: kv_cache::elements_per_token_per_layer_per_device(arch, 1) * kv_bits / 8.0,
        }
    }
}

/// Speculative decoding as a deployment runs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speculation {
    /// Where draft tokens come from.
    pub method: Method,
    /// Draft tokens per step, `k` (at least 1).
    pub tokens: u32,
    /// Probability that each draft token is accepted, in (0, 1).
    pub acceptance_rate: f64,
    /// The drafter's shape (`None`: no drafter forward, as for `ngram`).
    pub drafter: Option<Drafter>,
}

impl Speculation {
    /// Expected tokens per verifier step.
    pub fn tokens_per_step(&self) -> f64 {
        tokens_per_step(self.acceptance_rate, self.tokens)
    }
}

/// Expected tokens per verifier step with `k` draft tokens each accepted with probability `a`
/// (i.i.d.): `1 + a + a^2 + ... + a^k = (1 - a^(k+1)) / (1 - a)` (Leviathan et al. 2023, eq. 1).
/// Total: `a` is clamped to [0, 1] and `a = 1` gives `k + 1`.
pub fn tokens_per_step(acceptance_rate: f64, k: u32) -> f64 {
    let a = if acceptance_rate.is_finite() { acceptance_rate.clamp(0.0, 1.0) } else { 0.0 };
    let k = i32::try_from(k).unwrap_or(i32::MAX).min(1024);
    if a >= 1.0 { f64::from(k) + 1.0 } else { (1.0 - a.powi(k + 1)) / (1.0 - a) }
}

/// The per-token acceptance rate `a` whose `k`-token chain has mean acceptance length `length`
/// (tokens per verifier step, the verifier's own token included): the inverse of
/// [`tokens_per_step`] by bisection. Lengths at or beyond `[1, k + 1]` give 0 or 1.
pub fn acceptance_rate_for_length(length: f64, k: u32) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    if length.is_nan() || length <= 1.0 {
        return 0.0;
    }
    if length >= f64::from(k) + 1.0 {
        return 1.0;
    }
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if tokens_per_step(mid, k) < length { lo = mid } else { hi = mid }
    }
    (lo + hi) / 2.0
}

/// A deployment's speculative step, built once: the verifier is the deployment's own step model
/// with `k` extra rows per decoding sequence; the drafter is its own step model on the same
/// devices.
#[derive(Debug, Clone)]
pub struct SpeculativeStep {
    /// The speculation.
    pub speculation: Speculation,
    drafter: Option<StepModel>,
}

impl SpeculativeStep {
    /// The speculative step of `model`'s deployment.
    pub fn new(model: &StepModel, speculation: Speculation) -> Self {
        Self { speculation, drafter: speculation.drafter.map(|d| model.drafter(&d)) }
    }

    /// Draft tokens per step, as rows.
    pub fn rows(&self) -> f64 {
        f64::from(self.speculation.tokens)
    }

    /// Time of the drafter's `k` forwards for the step's decoding sequences (zero without
    /// decodes or without a drafter).
    pub fn draft_time(&self, shape: &StepShape) -> StepTime {
        let Some(drafter) = &self.drafter else { return StepTime::default() };
        if shape.decode_sequences <= 0.0 {
            return StepTime::default();
        }
        let one = drafter.time(&StepShape {
            decode_sequences: shape.decode_sequences,
            decode_context_tokens: shape.decode_context_tokens,
            ..StepShape::default()
        });
        let k = self.rows();
        StepTime {
            gemm: one.gemm * k,
            attention: one.attention * k,
            communication: one.communication * k,
            overhead: one.overhead * k,
            expert_all_to_all: one.expert_all_to_all * k,
        }
    }

    /// Time of one step of `model` with speculation: the verifier (the shape with `k` extra
    /// rows per decoding sequence) plus the drafter's forwards, component by component.
    pub fn time(&self, model: &StepModel, shape: &StepShape) -> StepTime {
        let verify = model.time(&StepShape {
            speculative_rows: if shape.decode_sequences > 0.0 { self.rows() } else { 0.0 },
            ..*shape
        });
        let draft = self.draft_time(shape);
        StepTime {
            gemm: verify.gemm + draft.gemm,
            attention: verify.attention + draft.attention,
            communication: verify.communication + draft.communication,
            overhead: verify.overhead + draft.overhead,
            expert_all_to_all: verify.expert_all_to_all + draft.expert_all_to_all,
        }
    }

    /// Speculation judged at `batch` decoding sequences of `context` tokens each, and the batch
    /// at which it stops paying (searched up to `max_batch`).
    pub fn assess(&self, model: &StepModel, batch: u64, context: f64, max_batch: u64) -> Assessment {
        let at = |b: u64| {
            let b = b.max(1) as f64;
            let shape = StepShape { decode_sequences: b, decode_context_tokens: b * context, ..StepShape::default() };
            let plain = model.time(&shape).total();
            let verify = model.time(&StepShape { speculative_rows: self.rows(), ..shape }).total();
            let draft = self.draft_time(&shape).total();
            (plain, verify, draft)
        };
        let per_step = self.speculation.tokens_per_step();
        let speedup = |b: u64| {
            let (plain, verify, draft) = at(b);
            if verify + draft > 0.0 { per_step * plain / (verify + draft) } else { 1.0 }
        };
        let (plain, verify, draft) = at(batch);
        Assessment {
            batch: batch.max(1),
            tokens_per_step: per_step,
            plain_step_s: plain,
            verify_step_s: verify,
            draft_s: draft,
            speedup: if verify + draft > 0.0 { per_step * plain / (verify + draft) } else { 1.0 },
            stops_paying_at_batch: stops_paying(&speedup, max_batch.max(1)),
        }
    }
}

/// The smallest batch in `[1, max_batch]` at which `speedup(batch) <= 1`, or `None` when it pays
/// at every batch up to `max_batch`. The speedup falls as the batch grows (the verifier's
/// extra rows turn from free to paid as the step turns compute-bound), so doubling brackets the
/// crossing and bisection finds it.
pub fn stops_paying(speedup: &impl Fn(u64) -> f64, max_batch: u64) -> Option<u64> {
    if speedup(1) <= 1.0 {
        return Some(1);
    }
    let mut lo = 1u64; // pays
    let mut hi = 2u64;
    loop {
        let probe = hi.min(max_batch);
        if speedup(probe) <= 1.0 {
            hi = probe;
            break;
        }
        if probe >= max_batch {
            return None;
        }
        lo = probe;
        hi = probe.saturating_mul(2);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if speedup(mid) <= 1.0 { hi = mid } else { lo = mid }
    }
    Some(hi)
}

/// What speculation does to one decode step at a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// Decoding sequences per step it was judged at.
    pub batch: u64,
    /// Expected tokens per verifier step.
    pub tokens_per_step: f64,
    /// A plain decode step at the batch, seconds.
    pub plain_step_s: f64,
    /// The verifier step (`k + 1` rows per sequence), seconds.
    pub verify_step_s: f64,
    /// The drafter's `k` forwards, seconds.
    pub draft_s: f64,
    /// Output tokens per second with speculation over without: `tokens per step x plain /
    /// (verifier + drafter)`.
    pub speedup: f64,
    /// The smallest batch at which the speedup is at most 1 (`None`: it pays up to the engine's
    /// batch limit).
    pub stops_paying_at_batch: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: a = 0.8, k = 3: 1 + 0.8 + 0.64 + 0.512 = 2.952; a = 0.5, k = 1: 1.5;
    /// a = 0.875, k = 1 (DeepSeek-V3's MTP): 1.875; a = 0.6, k = 4: 1 + 0.6 + 0.36 + 0.216 + 0.1296
    /// = 2.3056; a -> 1 gives k + 1.
    #[test]
    fn tokens_per_step_by_hand() {
        for (a, k, want) in [(0.8, 3, 2.952), (0.5, 1, 1.5), (0.875, 1, 1.875), (0.6, 4, 2.3056), (1.0, 4, 5.0)] {
            let got = tokens_per_step(a, k);
            assert!((got - want).abs() < 1e-9, "a {a} k {k}: {got} vs {want}");
        }
        assert_eq!(tokens_per_step(0.0, 5), 1.0);
        assert!(tokens_per_step(f64::NAN, 3).is_finite());
    }

    /// The conversion from a mean acceptance length inverts the chain formula.
    #[test]
    fn acceptance_length_converts_back() {
        for (a, k) in [(0.8, 3), (0.6, 5), (0.9, 7)] {
            let length = tokens_per_step(a, k);
            assert!((acceptance_rate_for_length(length, k) - a).abs() < 1e-9);
        }
        assert_eq!(acceptance_rate_for_length(0.5, 3), 0.0);
        assert_eq!(acceptance_rate_for_length(9.0, 3), 1.0);
    }

    /// The search finds the first batch at which a falling speedup reaches 1, and none when it
    /// never does within the limit.
    #[test]
    fn the_stop_search_finds_the_crossing() {
        let falling = |b: u64| 3.0 - b as f64 / 50.0; // 1 at b = 100
        assert_eq!(stops_paying(&falling, 4096), Some(100));
        assert_eq!(stops_paying(&falling, 64), None);
        assert_eq!(stops_paying(&|_| 0.9, 4096), Some(1));
        assert_eq!(stops_paying(&|b: u64| 2.0 - b as f64 / 1000.0, 1000), Some(1000));
    }

    /// A deployment from the embedded catalog: `model` on one H100 in bf16 under TensorRT-LLM.
    fn deployment(
        model: &str,
        tensor: u32,
    ) -> (
        crate::catalog::CatalogModel,
        crate::engine::device::Device,
        crate::engine::format::Format,
        crate::engine::profile::EngineProfile,
        crate::engine::parallelism::Parallelism,
    ) {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        let m = catalog.model(model).unwrap().clone();
        let d = catalog.device("nvidia-h100-sxm-80gb").unwrap().device.clone();
        let f = catalog.format("bf16").unwrap().to_engine();
        let p = catalog.engine("tensorrt-llm").unwrap().profile.clone();
        (
            m,
            d,
            f,
            p,
            crate::engine::parallelism::Parallelism { tensor, ..crate::engine::parallelism::Parallelism::SINGLE },
        )
    }

    fn assess_with(
        model: &str,
        tensor: u32,
        method: Method,
        draft: Option<&str>,
        a: f64,
        k: u32,
        batch: u64,
    ) -> Assessment {
        let (m, d, f, p, par) = deployment(model, tensor);
        let input = crate::engine::inference::InferenceInput {
            arch: &m.architecture,
            anatomy: &m.anatomy,
            device: &d,
            parallelism: par,
            weights: &f,
            kv_cache: &f,
            batch: crate::engine::inference::Batch::Fixed(batch),
            input_tokens: 1024,
            output_tokens: 256,
            profile: &p,
            usd_per_device_hour: None,
            explain: false,
            network: None,
            techniques: crate::engine::techniques::Techniques::default(),
        };
        let model_step = StepModel::new(&input, false);
        let drafter = match (method, draft) {
            (Method::Ngram, _) => None,
            (Method::Draft, Some(id)) => {
                let catalog = crate::catalog::Catalog::embedded().unwrap();
                let dm = catalog.model(id).unwrap();
                Some(Drafter::model(&dm.architecture, &dm.anatomy, 16.0, 16.0))
            }
            _ => Some(Drafter::head(method, &m.architecture, &m.anatomy, 16.0, 16.0)),
        };
        let spec = Speculation { method, tokens: k, acceptance_rate: a, drafter };
        SpeculativeStep::new(&model_step, spec).assess(&model_step, batch, 1152.0, 4096)
    }

    /// On a memory-bound device at batch 1, verifying k + 1 rows per sequence costs about one
    /// plain decode step (the weights are streamed once either way); at a large batch the step
    /// is compute-bound and the verifier costs several plain steps.
    #[test]
    fn a_verifier_at_batch_one_costs_about_one_decode_step() {
        let one = assess_with("llama-3.1-70b", 4, Method::Draft, Some("llama-3.2-1b"), 0.75, 4, 1);
        let ratio = one.verify_step_s / one.plain_step_s;
        assert!((1.0..1.05).contains(&ratio), "verifier / plain at batch 1: {ratio}");
        let wide = assess_with("llama-3.1-70b", 4, Method::Draft, Some("llama-3.2-1b"), 0.75, 4, 512);
        assert!(wide.verify_step_s / wide.plain_step_s > 2.5, "{wide:?}");
        assert!(wide.speedup < 1.0 && one.speedup > 2.0, "{one:?} {wide:?}");
        // The speedup is tokens per step x plain / (verifier + drafter), by hand from the parts.
        let by_hand = one.tokens_per_step * one.plain_step_s / (one.verify_step_s + one.draft_s);
        assert!((one.speedup - by_hand).abs() < 1e-12);
        // Prompt lookup has no drafter cost.
        assert_eq!(assess_with("llama-3.1-8b", 1, Method::Ngram, None, 0.5, 3, 1).draft_s, 0.0);
    }

    /// A higher acceptance rate keeps speculation paying to a larger batch; more draft tokens
    /// (more rows to verify, more drafter forwards) make it stop at a smaller one.
    #[test]
    fn the_stop_batch_moves_with_acceptance_and_draft_length() {
        let stop = |a: f64, k: u32| {
            assess_with("llama-3.1-70b", 4, Method::Draft, Some("llama-3.2-1b"), a, k, 1)
                .stops_paying_at_batch
                .unwrap_or(u64::MAX)
        };
        let (low, mid, high) = (stop(0.6, 4), stop(0.75, 4), stop(0.9, 4));
        assert!(low < mid && mid < high, "a 0.6 / 0.75 / 0.9: {low} {mid} {high}");
        let (short, long) = (stop(0.75, 2), stop(0.75, 8));
        assert!(short > long, "k 2 / 8: {short} {long}");
        // Where it stops, it no longer pays; one batch before, it still does.
        let at = |b: u64| assess_with("llama-3.1-70b", 4, Method::Draft, Some("llama-3.2-1b"), 0.75, 4, b).speedup;
        assert!(at(mid) <= 1.0 && at(mid - 1) > 1.0, "{mid}: {} {}", at(mid), at(mid - 1));
    }
}
