//! Pipeline schedules: the idle share of a step (the bubble), the micro-batches whose
//! activations the first stage holds at once, and the point-to-point traffic between stages.
//!
//! - 1F1B (PipeDream-Flush; Narayanan et al. 2021, "Efficient Large-Scale Language Model
//!   Training on GPU Clusters Using Megatron-LM", section 2.2.1): with `p` stages and `m`
//!   micro-batches the bubble is `(p - 1) / m` of the ideal time, so `(p - 1) / (m + p - 1)` of
//!   the step; the first stage runs `p - 1` warm-up forwards and so holds the activations of
//!   `min(p, m)` micro-batches of its layers.
//! - Interleaved 1F1B (same paper, section 2.2.2): each device holds `v` model chunks (virtual
//!   stages) of `L / (p v)` layers; the bubble shrinks to `(p - 1) / (v m)` of the ideal and the
//!   point-to-point communication grows `v` times. The first device runs
//!   `(p - 1) x 2 + (v - 1) x p` warm-up chunk forwards (Megatron-LM's
//!   `forward_backward_pipelining_with_interleaving`) and holds one more in steady state:
//!   `p v + p - 1` chunks of `L / (p v)` layers, `L (1 + (p - 1) / (p v))` layers' worth, which
//!   is `p + (p - 1) / v` micro-batches of a stage's `L / p` layers (Korthikanti et al. 2022,
//!   "Reducing Activation Recomputation in Large Transformer Models", section 4.2.3).
//! - Zero bubble ZB-H1 (Qi et al. 2024, "Zero Bubble Pipeline Parallelism", ICLR, section 3):
//!   backward is split into the input gradient (B) and the weight gradient (W), and W fills the
//!   bubble; with forward, B and W of equal time the bubble is `(p - 1) (T_F + T_B - T_W)`
//!   against 1F1B's `(p - 1) (T_F + T_B + T_W)`, a third: `(p - 1) / (3 m)` of the ideal. Its
//!   peak activation memory is 1F1B's (`p` micro-batches on the first stage). hwcost models
//!   ZB-H1 only (ZB-H2's near-zero bubble needs about twice the activations).

/// How micro-batches are ordered through the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineSchedule {
    /// One forward, one backward (PipeDream-Flush, Megatron's default).
    OneFOneB,
    /// Interleaved 1F1B with this many model chunks (virtual stages) per device, at least 1.
    Interleaved(u32),
    /// Zero bubble, ZB-H1 (Qi et al. 2024): weight gradients deferred into the bubble.
    ZeroBubble,
}

impl PipelineSchedule {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineSchedule::OneFOneB => "1f1b",
            PipelineSchedule::Interleaved(_) => "interleaved",
            PipelineSchedule::ZeroBubble => "zero_bubble",
        }
    }

    /// Model chunks per device (1 but for the interleaved schedule).
    pub fn virtual_stages(self) -> u32 {
        match self {
            PipelineSchedule::Interleaved(v) => v.max(1),
            _ => 1,
        }
    }

    /// The bubble over the ideal (busy) time, for `stages` and `micro_batches`: `(p - 1) / m`,
    /// over `v` interleaved, over 3 for ZB-H1; 0 without a pipeline.
    pub fn bubble_over_ideal(self, stages: u32, micro_batches: f64) -> f64 {
        if stages <= 1 {
            return 0.0;
        }
        let p = f64::from(stages);
        let m = micro_batches.max(1.0);
        let per = match self {
            PipelineSchedule::OneFOneB => 1.0,
            PipelineSchedule::Interleaved(v) => f64::from(v.max(1)),
            PipelineSchedule::ZeroBubble => 3.0,
        };
        (p - 1.0) / (per * m)
    }

    /// The bubble's share of the step: `r / (1 + r)` for the ratio `r` over the ideal
    /// (1F1B: `(p - 1) / (m + p - 1)`).
    pub fn bubble_fraction(self, stages: u32, micro_batches: f64) -> f64 {
        let r = self.bubble_over_ideal(stages, micro_batches);
        r / (1.0 + r)
    }

    /// Micro-batches whose activations (of a stage's `L / p` layers each) the first stage holds
    /// at its peak: `min(p, m)` for 1F1B and ZB-H1, `min(p + (p - 1) / v, m)` interleaved (the
    /// first device cannot hold more micro-batches than there are); 1 without a pipeline.
    pub fn first_stage_in_flight(self, stages: u32, micro_batches: f64) -> f64 {
        if stages <= 1 {
            return 1.0;
        }
        let p = f64::from(stages);
        let m = micro_batches.max(1.0);
        let held = match self {
            PipelineSchedule::OneFOneB | PipelineSchedule::ZeroBubble => p,
            PipelineSchedule::Interleaved(v) => p + (p - 1.0) / f64::from(v.max(1)),
        };
        held.min(m)
    }

    /// Transformer layers on the first device: `L / p`; or, when the `p v` model chunks outnumber
    /// the layers (at most `L + 2`), the split counts the embedding and the loss as a layer each
    /// (Megatron-LM's `account_for_embedding_in_pipeline_split` and
    /// `account_for_loss_in_pipeline_split`; Llama 3 405B, Grattafiori et al. 2024 section
    /// 3.3.2: "we reduce one Transformer layer each from the first and the last stages"), so the
    /// first device holds `(L + 2) / p - 1`.
    pub fn first_stage_layers(self, stages: u32, layers: u32) -> f64 {
        let (p, l) = (f64::from(stages.max(1)), f64::from(layers));
        let chunks = u64::from(stages.max(1)) * u64::from(self.virtual_stages());
        if stages > 1 && chunks > u64::from(layers) { ((l + 2.0) / p - 1.0).max(0.0) } else { l / p }
    }

    /// Point-to-point sends per micro-batch per device in each direction: one per model chunk
    /// (`v` interleaved), 0 without a pipeline.
    pub fn sends_per_micro_batch(self, stages: u32) -> f64 {
        if stages <= 1 { 0.0 } else { f64::from(self.virtual_stages()) }
    }
}

#[cfg(test)]
mod tests {
    use super::PipelineSchedule::{self, Interleaved, OneFOneB, ZeroBubble};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn bubbles_computed_by_hand() {
        // p = 4, m = 8. 1F1B: 3/8 of the ideal, 3/11 of the step. Interleaved v = 2: 3/16 of the
        // ideal, 3/19 of the step. ZB-H1: 3/24 = 1/8 of the ideal, 1/9 of the step.
        let cases: [(PipelineSchedule, f64, f64); 3] = [
            (OneFOneB, 3.0 / 8.0, 3.0 / 11.0),
            (Interleaved(2), 3.0 / 16.0, 3.0 / 19.0),
            (ZeroBubble, 1.0 / 8.0, 1.0 / 9.0),
        ];
        for (schedule, ideal, step) in cases {
            assert!(close(schedule.bubble_over_ideal(4, 8.0), ideal), "{schedule:?}");
            assert!(close(schedule.bubble_fraction(4, 8.0), step), "{schedule:?}");
        }
        // Interleaving with one chunk is 1F1B; no pipeline, no bubble.
        assert!(close(Interleaved(1).bubble_fraction(4, 8.0), OneFOneB.bubble_fraction(4, 8.0)));
        for s in [OneFOneB, Interleaved(4), ZeroBubble] {
            assert_eq!(s.bubble_fraction(1, 8.0), 0.0);
        }
        // ZB-H1's bubble is a third of 1F1B's, over the ideal.
        assert!(close(ZeroBubble.bubble_over_ideal(16, 16.0) * 3.0, OneFOneB.bubble_over_ideal(16, 16.0)));
    }

    #[test]
    fn first_stage_holds_computed_by_hand() {
        // p = 4, m = 8: 1F1B and ZB-H1 hold 4 micro-batches; interleaved v = 2 holds
        // 4 + 3/2 = 5.5 (Megatron: 2 x 3 + 1 x 4 warm-up chunks + 1 = 11 chunks of half a stage).
        assert_eq!(OneFOneB.first_stage_in_flight(4, 8.0), 4.0);
        assert_eq!(ZeroBubble.first_stage_in_flight(4, 8.0), 4.0);
        assert_eq!(Interleaved(2).first_stage_in_flight(4, 8.0), 5.5);
        assert_eq!(Interleaved(2).first_stage_in_flight(4, 8.0), (2.0 * 3.0 + 4.0 + 1.0) / 2.0);
        // Fewer micro-batches than stages: all of them, no more.
        assert_eq!(OneFOneB.first_stage_in_flight(8, 3.0), 3.0);
        // No pipeline: one micro-batch at a time.
        assert_eq!(Interleaved(4).first_stage_in_flight(1, 16.0), 1.0);
        // Layers on the first device: 126 / 16 = 7.875; with 16 x 8 = 128 chunks for 126 layers
        // the embedding and the loss count as a layer each: 128 / 16 - 1 = 7 (Llama 3 405B).
        assert_eq!(OneFOneB.first_stage_layers(16, 126), 7.875);
        assert_eq!(Interleaved(7).first_stage_layers(16, 126), 7.875);
        assert_eq!(Interleaved(8).first_stage_layers(16, 126), 7.0);
        assert_eq!(OneFOneB.first_stage_layers(1, 126), 126.0);
        assert_eq!(Interleaved(3).sends_per_micro_batch(4), 3.0);
        assert_eq!(OneFOneB.sends_per_micro_batch(1), 0.0);
    }
}
