//! Where a model's parameters sit, computed from its architecture.
//!
//! The counting rules follow the Hugging Face implementations of each model type: a weight
//! matrix `in x out` has `in * out` parameters, a bias `out`, a norm its gain (and bias for
//! LayerNorm). Tied embeddings are counted once. Components repeat per layer; the anatomy lists
//! each once with its multiplicity, so "175 billion" can be read as "96 layers of 1.8 billion,
//! plus a 617 million embedding". Nothing here is copied from a nominal size.

use super::architecture::{Architecture, Mlp, Positions, QkNorm};
use super::units::Params;

/// What a parameter tensor is, for the weights/biases/norms split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Matrices and embedding tables.
    Weight,
    /// Bias vectors added after a projection.
    Bias,
    /// Norm gains (and LayerNorm biases).
    Norm,
    /// Anything else (attention sinks, routing correction biases).
    Other,
}

/// Which part of the network a component belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Token, position and token-type embeddings, and embedding projections.
    Embeddings,
    /// Attention projections and their norms.
    Attention,
    /// Dense feed-forward blocks.
    Mlp,
    /// Router of an MoE layer.
    Router,
    /// Routed experts.
    Experts,
    /// Shared (always active) experts.
    SharedExperts,
    /// Block, embedding and final norms.
    Norms,
    /// The language-model head (and BERT's pooler).
    Head,
}

/// One parameter tensor, repeated over `repeats` layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Dotted name, e.g. `attention.q` or `moe.experts.down`.
    pub name: &'static str,
    /// Network part.
    pub group: Group,
    /// Tensor kind.
    pub kind: Kind,
    /// How many times the tensor occurs (layers it appears in; 1 for embeddings and heads).
    pub repeats: u64,
    /// Parameters of one occurrence.
    pub each: Params,
    /// Whether every token uses this tensor (false for routed experts).
    pub always_active: bool,
}

impl Component {
    /// Parameters over all occurrences.
    pub fn total(&self) -> Params {
        self.each * self.repeats
    }

    /// Whether the tensor is a table a token only looks up (one row is copied, nothing is
    /// multiplied): the token, position and token-type embeddings.
    pub fn is_lookup(&self) -> bool {
        matches!(self.name, "embedding.tokens" | "embedding.positions" | "embedding.token_types")
    }
}

/// A model's parameter anatomy.
#[derive(Debug, Clone, PartialEq)]
pub struct Anatomy {
    /// Every non-empty component, in network order.
    pub components: Vec<Component>,
    /// All parameters, tied weights counted once.
    pub total: Params,
    /// Parameters one token computes with: every tensor it is multiplied by, so everything
    /// except the routed experts it is not sent to and the embedding tables it only looks up.
    /// A tied token table still counts once, as the LM head (the unembedding is a multiply).
    ///
    /// This is the `N` of the `2N` forward FLOPs per token: Kaplan et al. 2020 ("Scaling Laws
    /// for Neural Language Models", section 2.1, table 1) count the de-embedding's
    /// `2 d_model n_vocab` FLOPs per token but no matrix multiply for the embedding. It is also
    /// the convention of the gpt-oss card (arXiv 2508.10925, table 1: 5.13B and 3.61B active,
    /// which this count reproduces only without the 0.58B input table and with the unembedding)
    /// and of DeepSeek (V2-Lite's 2.4B activated: 2.45B by this rule, 2.66B with the input
    /// table). Some publishers count the input table too (Qwen3-30B-A3B's 3.3B: 3.04B by this
    /// rule, 3.35B with it): add [`Anatomy::lookup_tables`] to compare with those.
    pub active_per_token: Params,
}

impl Anatomy {
    /// Sum of components of `kind`.
    pub fn by_kind(&self, kind: Kind) -> Params {
        self.components.iter().filter(|c| c.kind == kind).map(Component::total).sum()
    }

    /// Sum of components in `group`.
    pub fn by_group(&self, group: Group) -> Params {
        self.components.iter().filter(|c| c.group == group).map(Component::total).sum()
    }

    /// The token table's parameters when the head is tied to it (0 otherwise): what a stack
    /// that keeps the head as a tensor of its own holds a second time.
    pub fn tied_table(&self, arch: &Architecture) -> Params {
        tied_table(arch, &self.components)
    }

    /// Parameters in embedding tables that are only looked up (see [`Component::is_lookup`]):
    /// a forward pass reads one row of them per token, not the table.
    pub fn lookup_tables(&self) -> Params {
        self.components.iter().filter(|c| c.is_lookup()).map(Component::total).sum()
    }
}

/// Accumulates components, skipping empty ones so the anatomy lists only what exists.
struct Builder(Vec<Component>);

impl Builder {
    fn add(&mut self, name: &'static str, group: Group, kind: Kind, repeats: u64, each: u64) {
        if repeats > 0 && each > 0 {
            self.0.push(Component { name, group, kind, repeats, each: Params(each), always_active: true });
        }
    }

    fn add_routed(&mut self, name: &'static str, kind: Kind, repeats: u64, each: u64) {
        if repeats > 0 && each > 0 {
            self.0.push(Component {
                name,
                group: Group::Experts,
                kind,
                repeats,
                each: Params(each),
                always_active: false,
            });
        }
    }
}

/// Multiplies sizes, saturating instead of overflowing.
fn mul(factors: &[u64]) -> u64 {
    factors.iter().fold(1u64, |acc, &f| acc.saturating_mul(f))
}

/// Computes the anatomy of `arch`.
///
/// Formulas (d = hidden, h = heads, k = kv heads, e = head dim, f = MLP inner size, V = vocab):
/// attention q `d*h*e`, k and v `d*k*e` each, o `h*e*d`; MLP `m*d*f` with m = 3 gated or 2 plain;
/// MLA per DeepSeek-V2 section 2.1 (compressed q and kv with decoupled rotary dims); MoE router
/// `d*E`, each routed expert `m*d*f_e`, shared experts `3*d*f_s`; embeddings `V*d`, learned
/// positions `P*d`; the LM head `V*d` unless tied.
pub fn anatomy(arch: &Architecture) -> Anatomy {
    let d = arch.hidden;
    let layers = u64::from(arch.layers);
    let mut b = Builder(Vec::new());

    embeddings(arch, &mut b);
    attention(arch, layers, &mut b);

    let dense_layers = u64::from(arch.dense_mlp_layers());
    let moe_layers = u64::from(arch.moe_layers());
    mlp(arch.mlp, d, arch.intermediate, arch.biases.mlp, dense_layers, &mut b);
    if let Some(moe) = arch.moe {
        b.add("moe.router", Group::Router, Kind::Weight, moe_layers, mul(&[d, moe.experts]));
        b.add("moe.router.bias", Group::Router, Kind::Bias, moe_layers, if moe.router_bias { moe.experts } else { 0 });
        b.add(
            "moe.router.correction_bias",
            Group::Router,
            Kind::Other,
            moe_layers,
            if moe.router_correction_bias { moe.experts } else { 0 },
        );
        let fe = moe.expert_intermediate;
        let (gate, up_down) = (arch.mlp == Mlp::Gated, mul(&[moe.experts, d, fe]));
        if gate {
            b.add_routed("moe.experts.gate", Kind::Weight, moe_layers, up_down);
        }
        b.add_routed("moe.experts.up", Kind::Weight, moe_layers, up_down);
        b.add_routed("moe.experts.down", Kind::Weight, moe_layers, up_down);
        if moe.expert_bias {
            let per_expert = if gate { 2 * fe + d } else { fe + d };
            b.add_routed("moe.experts.bias", Kind::Bias, moe_layers, mul(&[moe.experts, per_expert]));
        }
        let shared = mul(&[moe.shared_experts, d, moe.shared_expert_intermediate]);
        for name in ["moe.shared_experts.gate", "moe.shared_experts.up", "moe.shared_experts.down"] {
            b.add(name, Group::SharedExperts, Kind::Weight, moe_layers, shared);
        }
        b.add(
            "moe.shared_experts.output_gate",
            Group::SharedExperts,
            Kind::Weight,
            moe_layers,
            if moe.shared_expert_gate && moe.shared_experts > 0 { d } else { 0 },
        );
    }

    b.add(
        "layer.norms",
        Group::Norms,
        Kind::Norm,
        layers,
        mul(&[u64::from(arch.norms_per_layer), arch.norm.params(d)]),
    );
    b.add("final_norm", Group::Norms, Kind::Norm, 1, if arch.final_norm { arch.norm.params(d) } else { 0 });
    head(arch, &mut b);

    let components = b.0;
    let total: Params = components.iter().map(Component::total).sum();
    let active_per_token = active_per_token(arch, &components);
    Anatomy { components, total, active_per_token }
}

/// The token table's parameters when the head is tied to it, else 0.
fn tied_table(arch: &Architecture, components: &[Component]) -> Params {
    if arch.tied_embeddings {
        components.iter().filter(|c| c.name == "embedding.tokens").map(Component::total).sum()
    } else {
        Params(0)
    }
}

/// The rule of [`Anatomy::active_per_token`]: the always-active tensors that are multiplied,
/// the tied table once more as the LM head, and the routed experts' share a token is sent to.
fn active_per_token(arch: &Architecture, components: &[Component]) -> Params {
    let sum = |keep: &dyn Fn(&Component) -> bool| -> Params {
        components.iter().filter(|c| keep(c)).map(Component::total).sum()
    };
    let multiplied = sum(&|c| c.always_active && !c.is_lookup());
    // A tied table is stored once, as `embedding.tokens`, but multiplied as the head.
    let tied_head = tied_table(arch, components);
    let routed = sum(&|c| !c.always_active);
    let routed_used = match arch.moe {
        // A token uses k of the E routed experts in each MoE layer; expert tensors are equal-sized.
        Some(moe) if moe.experts > 0 => Params(mul(&[routed.0 / moe.experts, moe.experts_per_token.min(moe.experts)])),
        _ => routed,
    };
    multiplied + tied_head + routed_used
}

fn embeddings(arch: &Architecture, b: &mut Builder) {
    let d = arch.hidden;
    let table_width = if arch.embedding_projection > 0 { arch.embedding_projection } else { d };
    b.add("embedding.tokens", Group::Embeddings, Kind::Weight, 1, mul(&[arch.vocab, table_width]));
    if arch.embedding_projection > 0 {
        b.add("embedding.project_in", Group::Embeddings, Kind::Weight, 1, mul(&[arch.embedding_projection, d]));
        b.add("embedding.project_out", Group::Embeddings, Kind::Weight, 1, mul(&[arch.embedding_projection, d]));
    }
    if let Positions::Learned(rows) = arch.positions {
        b.add("embedding.positions", Group::Embeddings, Kind::Weight, 1, mul(&[rows, d]));
    }
    b.add("embedding.token_types", Group::Embeddings, Kind::Weight, 1, mul(&[arch.type_vocab, d]));
    b.add("embedding.norm", Group::Norms, Kind::Norm, 1, if arch.embedding_norm { arch.norm.params(d) } else { 0 });
}

fn attention(arch: &Architecture, layers: u64, b: &mut Builder) {
    let (d, h, k, e) = (arch.hidden, arch.heads, arch.kv_heads, arch.head_dim);
    if let Some(mla) = arch.mla {
        // DeepSeek-V2/V3 (HF `DeepseekV3Attention`): q_a/q_b with a norm on the q latent,
        // kv_a producing the kv latent plus the shared rotary key, kv_b expanding the latent.
        let qk = mla.qk_nope_head_dim + mla.qk_rope_head_dim;
        if mla.q_lora_rank > 0 {
            b.add("attention.q_a", Group::Attention, Kind::Weight, layers, mul(&[d, mla.q_lora_rank]));
            b.add("attention.q_a_norm", Group::Attention, Kind::Norm, layers, arch.norm.params(mla.q_lora_rank));
            b.add("attention.q_b", Group::Attention, Kind::Weight, layers, mul(&[mla.q_lora_rank, h, qk]));
        } else {
            b.add("attention.q", Group::Attention, Kind::Weight, layers, mul(&[d, h, qk]));
        }
        b.add(
            "attention.kv_a",
            Group::Attention,
            Kind::Weight,
            layers,
            mul(&[d, mla.kv_lora_rank + mla.qk_rope_head_dim]),
        );
        b.add("attention.kv_a_norm", Group::Attention, Kind::Norm, layers, arch.norm.params(mla.kv_lora_rank));
        b.add(
            "attention.kv_b",
            Group::Attention,
            Kind::Weight,
            layers,
            mul(&[mla.kv_lora_rank, h, mla.qk_nope_head_dim + mla.v_head_dim]),
        );
        b.add("attention.o", Group::Attention, Kind::Weight, layers, mul(&[h, mla.v_head_dim, d]));
    } else {
        b.add("attention.q", Group::Attention, Kind::Weight, layers, mul(&[d, h, e]));
        b.add("attention.k", Group::Attention, Kind::Weight, layers, mul(&[d, k, e]));
        b.add("attention.v", Group::Attention, Kind::Weight, layers, mul(&[d, k, e]));
        b.add("attention.o", Group::Attention, Kind::Weight, layers, mul(&[h, e, d]));
        let qkv_bias = if arch.biases.attention_qkv { mul(&[h, e]) + 2 * mul(&[k, e]) } else { 0 };
        b.add("attention.qkv_bias", Group::Attention, Kind::Bias, layers, qkv_bias);
    }
    b.add("attention.o_bias", Group::Attention, Kind::Bias, layers, if arch.biases.attention_output { d } else { 0 });
    let qk_norm = match arch.qk_norm {
        QkNorm::None => 0,
        QkNorm::PerHead => 2 * arch.norm.params(e),
        QkNorm::FullWidth => arch.norm.params(mul(&[h, e])) + arch.norm.params(mul(&[k, e])),
    };
    b.add("attention.qk_norm", Group::Attention, Kind::Norm, layers, qk_norm);
    b.add("attention.sinks", Group::Attention, Kind::Other, layers, if arch.attention_sinks { h } else { 0 });
}

fn mlp(shape: Mlp, d: u64, f: u64, bias: bool, layers: u64, b: &mut Builder) {
    if shape == Mlp::Gated {
        b.add("mlp.gate", Group::Mlp, Kind::Weight, layers, mul(&[d, f]));
    }
    b.add("mlp.up", Group::Mlp, Kind::Weight, layers, mul(&[d, f]));
    b.add("mlp.down", Group::Mlp, Kind::Weight, layers, mul(&[f, d]));
    let bias_each = match shape {
        Mlp::Gated => 2 * f + d,
        Mlp::Plain => f + d,
    };
    b.add("mlp.bias", Group::Mlp, Kind::Bias, layers, if bias { bias_each } else { 0 });
}

fn head(arch: &Architecture, b: &mut Builder) {
    let d = arch.hidden;
    let width = if arch.embedding_projection > 0 { arch.embedding_projection } else { d };
    b.add("lm_head", Group::Head, Kind::Weight, 1, if arch.tied_embeddings { 0 } else { mul(&[arch.vocab, width]) });
    b.add("lm_head.bias", Group::Head, Kind::Bias, 1, if arch.biases.lm_head { arch.vocab } else { 0 });
    if arch.pooler {
        b.add("pooler", Group::Head, Kind::Weight, 1, mul(&[d, d]));
        b.add("pooler.bias", Group::Head, Kind::Bias, 1, d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::architecture::{Biases, Norm};

    fn gpt2_small() -> Architecture {
        Architecture {
            model_type: "gpt2".into(),
            mlp: Mlp::Plain,
            positions: Positions::Learned(1024),
            tied_embeddings: true,
            norm: Norm::LayerNorm,
            biases: Biases { attention_qkv: true, attention_output: true, mlp: true, lm_head: false },
            activation: "gelu_new".into(),
            ..Architecture::llama_like(12, 768, 12, 12, 3072, 50257)
        }
    }

    #[test]
    fn gpt2_small_is_exact() {
        let a = anatomy(&gpt2_small());
        assert_eq!(a.total, Params(124_439_808));
        assert_eq!(a.by_group(Group::Embeddings), Params(50257 * 768 + 1024 * 768));
        // The position table is only looked up; the tied token table stays, as the LM head.
        assert_eq!(a.lookup_tables(), Params(50257 * 768 + 1024 * 768));
        assert_eq!(a.active_per_token, Params(124_439_808 - 1024 * 768));
    }

    #[test]
    fn llama_2_7b_is_exact() {
        let a = anatomy(&Architecture::llama_like(32, 4096, 32, 32, 11008, 32000));
        assert_eq!(a.total, Params(6_738_415_616));
        assert_eq!(a.by_kind(Kind::Bias), Params(0));
        // Untied: the input table is looked up, the separate LM head is multiplied.
        assert_eq!(a.active_per_token, Params(6_738_415_616 - 32000 * 4096));
    }

    #[test]
    fn a_tied_table_is_active_once_as_the_head_at_its_own_width() {
        // OPT-350m: a 512-wide table, tied to a 512-wide head behind `project_out`.
        let arch = Architecture {
            tied_embeddings: true,
            embedding_projection: 512,
            ..Architecture::llama_like(24, 1024, 16, 16, 4096, 50272)
        };
        let a = anatomy(&arch);
        assert_eq!(a.lookup_tables(), Params(50272 * 512));
        assert_eq!(a.active_per_token, a.total);
    }

    #[test]
    fn components_sum_to_the_total() {
        let a = anatomy(&gpt2_small());
        let kinds = [Kind::Weight, Kind::Bias, Kind::Norm, Kind::Other];
        assert_eq!(kinds.iter().map(|&k| a.by_kind(k)).sum::<Params>(), a.total);
    }

    #[test]
    fn moe_activates_top_k_experts() {
        use crate::engine::architecture::Moe;
        let mut arch = Architecture::llama_like(32, 4096, 32, 8, 14336, 32000);
        arch.moe = Some(Moe::routed(8, 2, 14336));
        let a = anatomy(&arch);
        // Mixtral-8x7B, published exact count.
        assert_eq!(a.total, Params(46_702_792_704));
        assert_eq!(a.by_group(Group::Mlp), Params(0));
        // Two of eight experts, without the 32000 x 4096 input table. Mistral's "12.9B active"
        // counts that table too: 12,879,925,248 with it.
        assert_eq!(a.active_per_token, Params(12_748_853_248));
        assert_eq!(a.active_per_token + a.lookup_tables(), Params(12_879_925_248));
    }
}
