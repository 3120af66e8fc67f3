//! Physical invariants of the inference engine, checked on random valid inputs (proptest).

use proptest::prelude::*;

use super::anatomy::anatomy;
use super::architecture::Architecture;
use super::device::{ComputeType, Device, DeviceKind, Interconnect};
use super::format::Format;
use super::inference::{Batch, InferenceEstimate, InferenceInput, estimate};
use super::parallelism::Parallelism;
use super::profile::EngineProfile;
use super::units::{BitsPerWeight, Bytes, Seconds};

fn profile() -> EngineProfile {
    EngineProfile {
        id: "test".into(),
        memory_fraction: 0.9,
        unified_memory_fraction: 0.75,
        runtime_overhead: Bytes(1e9),
        compute_efficiency: 0.6,
        fp8_factor: 0.75,
        fp4_factor: 0.6,
        low_precision_gemms: true,
        gemm_half_tokens: 8.0,
        memory_efficiency: 0.8,
        step_overhead: Seconds(2e-4),
        layer_overhead: Seconds(0.0),
        unquantized_table_bits: 0.0,
        collective_latency: Seconds(1e-5),
        request_overhead: Seconds(1e-3),
        max_batch_size: 512,
        prefill_chunk_tokens: 8192,
        power_fraction: 0.8,
        kind_adjustments: Vec::new(),
        gemm_half_width: 0.0,
        attention_efficiency: 0.5,
        attention_memory_efficiency: 0.7,
        sequence_overhead: Seconds(1e-5),
        pcie_collective_efficiency: 0.5,
        expert_gemm_efficiency: 1.0,
        expert_memory_efficiency: 1.0,
        scheduler: crate::catalog::engines::SchedulerRecord::default().to_engine(),
        auto_split: crate::engine::profile::AutoSplit::TensorThenPipeline,
    }
}

pub(super) fn device(bandwidth: f64) -> Device {
    Device {
        id: "test-gpu".into(),
        kind: DeviceKind::Gpu,
        memory: Bytes(80e9),
        memory_bandwidth_bytes_per_s: bandwidth,
        dense_peak_flops_per_s: vec![(ComputeType::Bf16, 1e15), (ComputeType::Fp32, 6e13)],
        unified_memory: false,
        interconnect: Some(Interconnect {
            bidirectional_bytes_per_s: 9e11,
            pcie: false,
            group: None,
            node: None,
            node_power_w: None,
        }),
        tdp_w: Some(700.0),
    }
}

fn bf16() -> Format {
    Format { id: "bf16".into(), bits: BitsPerWeight(16.0), compute: ComputeType::Bf16 }
}

/// Small to large dense models with valid head counts.
pub(super) fn arch() -> impl Strategy<Value = Architecture> {
    (1u32..=96, 1u64..=64, prop::sample::select(vec![64u64, 128]), 1u64..=8, 1u64..=5).prop_map(
        |(layers, heads, head_dim, kv_div, ffn_mult)| {
            let kv = (heads / kv_div).max(1);
            let kv = if heads.is_multiple_of(kv) { kv } else { 1 };
            let hidden = heads * head_dim;
            Architecture::llama_like(layers, hidden, heads, kv, hidden * ffn_mult, 32000)
        },
    )
}

fn run(arch: &Architecture, device: &Device, batch: u64, input: u64, output: u64) -> InferenceEstimate {
    let anatomy = anatomy(arch);
    let (format, profile) = (bf16(), profile());
    estimate(&InferenceInput {
        arch,
        anatomy: &anatomy,
        device,
        parallelism: Parallelism::SINGLE,
        weights: &format,
        kv_cache: &format,
        batch: Batch::Fixed(batch),
        input_tokens: input,
        output_tokens: output,
        profile: &profile,
        usd_per_device_hour: Some(2.0),
        explain: true,
        network: None,
        techniques: Default::default(),
    })
}

fn all_finite_and_non_negative(e: &InferenceEstimate) -> bool {
    let m = &e.memory.per_device;
    [
        m.weights.0,
        m.kv_cache.0,
        m.activations.0,
        m.overhead.0,
        m.total.0,
        e.ttft.0,
        e.tpot.0,
        e.e2e.0,
        e.output_tokens_per_s,
        e.output_tokens_per_s_per_user,
        e.prefill_tokens_per_s,
        e.forward_flops_per_token.0,
    ]
    .iter()
    .chain(e.explain.iter().map(|x| &x.value))
    .all(|v| v.is_finite() && *v >= 0.0)
}

proptest! {
    #[test]
    fn more_output_tokens_never_take_less_time(a in arch(), batch in 1u64..256, input in 0u64..8192, output in 1u64..4096, extra in 1u64..4096) {
        let d = device(3.35e12);
        let short = run(&a, &d, batch, input, output);
        let long = run(&a, &d, batch, input, output + extra);
        prop_assert!(long.e2e.0 >= short.e2e.0);
    }

    #[test]
    fn a_larger_batch_never_needs_less_memory(a in arch(), batch in 1u64..512, more in 1u64..512, input in 1u64..8192) {
        let d = device(3.35e12);
        prop_assert!(run(&a, &d, batch + more, input, 128).memory.per_device.total.0 >= run(&a, &d, batch, input, 128).memory.per_device.total.0);
    }

    #[test]
    fn more_bandwidth_never_slows_a_memory_bound_phase(a in arch(), batch in 1u64..64, input in 1u64..4096, factor in 1.0f64..4.0) {
        let slow = run(&a, &device(1e12), batch, input, 256);
        let fast = run(&a, &device(1e12 * factor), batch, input, 256);
        prop_assert!(fast.decode.time.0 <= slow.decode.time.0 + 1e-12);
        prop_assert!(fast.prefill.time.0 <= slow.prefill.time.0 + 1e-12);
    }

    #[test]
    fn fits_exactly_when_the_total_is_within_capacity(a in arch(), batch in 1u64..4096, input in 0u64..65536, output in 1u64..8192) {
        let e = run(&a, &device(3.35e12), batch, input, output);
        prop_assert_eq!(e.memory.fits, e.memory.per_device.total.0 <= e.memory.capacity.0);
    }

    #[test]
    fn outputs_are_finite_and_non_negative(a in arch(), batch in 1u64..1_000_000, input in 0u64..1_000_000, output in 0u64..100_000) {
        let e = run(&a, &device(3.35e12), batch, input.max(1), output);
        prop_assert!(all_finite_and_non_negative(&e));
    }
}

#[test]
fn gpt3_175b_in_bf16_needs_several_80gb_devices() {
    let mut a = Architecture::llama_like(96, 12288, 96, 96, 4 * 12288, 50257);
    a.mlp = super::architecture::Mlp::Plain;
    let e = run(&a, &device(3.35e12), 1, 1024, 256);
    assert!(!e.memory.fits);
    assert!(e.warnings.iter().any(|w| w.code == "does-not-fit"));
    assert!(e.memory.per_device.weights.0 > 340e9);
}

mod training {
    use proptest::prelude::*;

    use super::{arch, device};
    use crate::engine::anatomy::{Anatomy, anatomy};
    use crate::engine::architecture::Architecture;
    use crate::engine::device::Device;
    use crate::engine::training::{
        Checkpointing, ExpertTraining, Fp8Training, Method, Optimizer, PipelineSchedule, Precision, Recipe, Sharding,
        TrainingEstimate, TrainingInput, TrainingMemory, TrainingParallelism, TrainingProfile, estimate,
    };

    fn profile() -> TrainingProfile {
        TrainingProfile::for_tests()
    }

    /// One device, no parallelism.
    fn one_device() -> TrainingParallelism {
        TrainingParallelism {
            tensor: 1,
            pipeline: 1,
            data: 1,
            expert: 1,
            context: 1,
            sequence_parallel: false,
            context_load_balanced: true,
            schedule: PipelineSchedule::OneFOneB,
        }
    }

    /// A run on one test device with the test profile: 8 micro-batches of one 2048-token
    /// sequence, BF16 AdamW, no sharding, no recomputation; each test states what it changes.
    fn base<'a>(a: &'a Architecture, anatomy: &'a Anatomy, d: &'a Device, p: &'a TrainingProfile) -> TrainingInput<'a> {
        TrainingInput {
            arch: a,
            anatomy,
            device: d,
            parallelism: one_device(),
            tokens: 1e9,
            sequence_length: 2048,
            micro_batch: 1,
            global_batch_tokens: 2048.0 * 8.0,
            precision: Precision::Bf16,
            optimizer: Optimizer::AdamW,
            sharding: Sharding::None,
            hsdp_group: 8,
            checkpointing: Checkpointing::None,
            method: Method::Full,
            cpu_offload: false,
            flash_attention: true,
            profile: p,
            compute_efficiency: p.compute_efficiency,
            attention_efficiency: p.attention_efficiency,
            recipe: Recipe::MIXED_PRECISION,
            measured_mfu: None,
            effective_time_share: 1.0,
            usd_per_device_hour: None,
            pue: 1.2,
            budget_device_hours: None,
            network: None,
            experts: ExpertTraining::NONE,
            fp8: Fp8Training::UNSCALED,
        }
    }

    fn run(a: &Architecture, data: u32, tokens: f64, sharding: Sharding) -> TrainingEstimate {
        run_with_share(a, data, tokens, sharding, 1.0)
    }

    fn run_with_share(a: &Architecture, data: u32, tokens: f64, sharding: Sharding, share: f64) -> TrainingEstimate {
        let anatomy = anatomy(a);
        let (d, p) = (device(3.35e12), profile());
        estimate(&TrainingInput {
            parallelism: TrainingParallelism { data, ..one_device() },
            tokens,
            global_batch_tokens: 2048.0 * f64::from(data) * 4.0,
            sharding,
            checkpointing: Checkpointing::Selective,
            effective_time_share: share,
            usd_per_device_hour: Some(2.0),
            budget_device_hours: Some(1000.0),
            ..base(a, &anatomy, &d, &p)
        })
    }

    /// A run that trains 90% of its wall-clock time (Llama 3's "higher than 90% effective training
    /// time") takes 1 / 0.9 of the time and device-hours of one that never stops, at the same
    /// throughput. By hand: 1e9 tokens on 8 devices at r tokens/s each train for 1e9 / (8 r) s;
    /// the wall clock is that / 0.9 and the device-hours 8 x that / 0.9 / 3600.
    #[test]
    fn the_effective_training_time_share_stretches_wall_clock_and_device_hours() {
        let a = Architecture::llama_like(8, 1024, 8, 8, 4096, 32000);
        let full = run(&a, 8, 1e9, Sharding::None);
        let goodput = run_with_share(&a, 8, 1e9, Sharding::None, 0.9);
        let r = goodput.tokens_per_s_per_device;
        assert!((r - full.tokens_per_s_per_device).abs() < 1e-9, "throughput is not what the share changes");
        let training_s = 1e9 / (8.0 * r);
        assert!((goodput.wall_clock.0 - training_s / 0.9).abs() < 1e-6 * training_s);
        assert!((goodput.gpu_hours - 8.0 * training_s / 0.9 / 3600.0).abs() < 1e-6 * goodput.gpu_hours);
        assert!((goodput.gpu_hours / full.gpu_hours - 1.0 / 0.9).abs() < 1e-9);
    }

    /// 8 layers of hidden 1024 (8 heads of 128), intermediate 4096, on 4 pipeline stages with
    /// 8 micro-batches of one 2048-token sequence, no recomputation.
    fn pipelined(schedule: PipelineSchedule) -> TrainingEstimate {
        let a = Architecture::llama_like(8, 1024, 8, 8, 4096, 32000);
        let anatomy = anatomy(&a);
        let (d, p) = (device(3.35e12), profile());
        estimate(&TrainingInput {
            parallelism: TrainingParallelism { pipeline: 4, schedule, ..one_device() },
            ..base(&a, &anatomy, &d, &p)
        })
    }

    /// The fused attention kernel runs at its own share of peak. The 8-layer model above, 8
    /// heads of 128, 2048-token sequences, no recomputation: attention forward and backward is
    /// 3 x (2 x 8 x (128 + 128)) x 8 layers x 2048 keys = 201,326,592 FLOPs per token, halved
    /// for causality: 100,663,296. Halving the kernel's efficiency from 0.5 to 0.25 on 16,384
    /// tokens at 1e15 FLOP/s adds 16,384 x 100,663,296 x (4 - 2) / 1e15 = 3.2985 ms of compute,
    /// and nothing else.
    #[test]
    fn attention_runs_at_its_own_efficiency_computed_by_hand() {
        let compute = |attention: f64| {
            let a = Architecture::llama_like(8, 1024, 8, 8, 4096, 32000);
            let anatomy = anatomy(&a);
            let (d, p) = (device(3.35e12), profile());
            let e = estimate(&TrainingInput { attention_efficiency: attention, ..base(&a, &anatomy, &d, &p) });
            let rule = e.explain.iter().find(|x| x.rule == "time.compute").expect("explained");
            let flops = rule.inputs.iter().find(|(k, _)| *k == "attention_flops_per_token").unwrap().1;
            (rule.value, flops, e.step_time.0)
        };
        let (fast, flops, step_fast) = compute(0.5);
        let (slow, _, step_slow) = compute(0.25);
        assert_eq!(flops, 100_663_296.0);
        let by_hand = 16_384.0 * 100_663_296.0 * 2.0 / 1e15;
        assert!((slow - fast - by_hand).abs() < 1e-12, "{} vs {by_hand}", slow - fast);
        assert!((step_slow - step_fast - by_hand).abs() < 1e-9);
    }

    /// The memory of the 8-layer model above (hidden 1024, intermediate 4096, 32,000 tokens,
    /// the table `tied` to the head or not) trained by `method` under `recipe`.
    fn recipe_memory(method: Method, recipe: Recipe, tied: bool) -> TrainingMemory {
        let mut a = Architecture::llama_like(8, 1024, 8, 8, 4096, 32000);
        a.tied_embeddings = tied;
        let anatomy = anatomy(&a);
        let (d, p) = (device(3.35e12), profile());
        estimate(&TrainingInput { method, recipe, ..base(&a, &anatomy, &d, &p) }).memory
    }

    /// A stack that unties a tied table (LitGPT) holds it twice. An 8-layer model of hidden 1024
    /// with a tied 32,000-token table (32,768,000 parameters): under LoRA in pure 16 bit the
    /// second copy is 32,768,000 x 2 = 65,536,000 more bytes of frozen weights and nothing else
    /// (under QLoRA the same: a head is one of the tensors QLoRA leaves in 16 bit);
    /// under full mixed-precision training it is trained like any weight, 32,768,000 x (2 weights
    /// + 4 master + 2 gradients + 8 Adam moments) = 524,288,000 bytes across those four states.
    #[test]
    fn an_untied_copy_of_a_tied_table_is_held_twice_computed_by_hand() {
        let run = |method: Method, master_weights: bool, unties_embeddings: bool| {
            let recipe = Recipe { master_weights, unties_embeddings, ..Recipe::MIXED_PRECISION };
            let m = recipe_memory(method, recipe, true);
            (m.weights.0, m.master_weights.0, m.gradients.0, m.optimizer.0, m.activations.0)
        };
        let table = 32_000.0 * 1024.0;
        for adapters in [Method::Lora(8), Method::Qlora(8)] {
            let (once, twice) = (run(adapters, false, false), run(adapters, false, true));
            assert_eq!(twice.0 - once.0, table * 2.0, "{adapters:?}");
            assert_eq!((twice.1, twice.2, twice.3, twice.4), (once.1, once.2, once.3, once.4));
        }
        let (once, twice) = (run(Method::Full, true, false), run(Method::Full, true, true));
        assert_eq!(twice.0 - once.0, table * 2.0);
        assert_eq!(twice.1 - once.1, table * 4.0);
        assert_eq!(twice.2 - once.2, table * 2.0);
        assert_eq!(twice.3 - once.3, table * 8.0);
        assert_eq!(twice.4, once.4);
    }

    /// PyTorch keeps an optimizer state in its parameter's dtype: adapters that stay 16-bit
    /// (torchtune, LitGPT) have 16-bit AdamW moments, 4 bytes a parameter instead of the 8
    /// counted for PEFT's. Rank 8 on every linear layer of the 8-layer model above (hidden 1024,
    /// 8 KV heads of 128, intermediate 4096): q, k, v, o 4 x 8 x (1024 + 1024) plus gate, up,
    /// down 3 x 8 x (1024 + 4096) = 188,416 a layer, 1,507,328 in all: 6,029,312 bytes less.
    #[test]
    fn adapters_that_stay_16_bit_have_16_bit_optimizer_states_computed_by_hand() {
        let run = |adapters_in_weight_dtype: bool| {
            let recipe = Recipe { master_weights: false, adapters_in_weight_dtype, ..Recipe::MIXED_PRECISION };
            recipe_memory(Method::Lora(8), recipe, false)
        };
        let (peft, kept) = (run(false), run(true));
        assert_eq!(peft.optimizer.0 - kept.optimizer.0, 1_507_328.0 * 4.0);
        assert_eq!((peft.weights.0, peft.gradients.0), (kept.weights.0, kept.gradients.0));
    }

    /// A QLoRA kernel rebuilds its 4-bit matrix in 16 bit for each multiply, so the largest
    /// quantised weight is alive once more, whole, at the end of forward and the start of
    /// backward. The 8-layer model above (hidden 1024, intermediate 4096, an untied 32,000-token
    /// head): with the head in 16 bit the largest quantised weight is an MLP matrix, 1024 x 4096
    /// = 4,194,304 parameters, 8,388,608 bytes rebuilt. A stack that quantises the head too
    /// (LitGPT) stores the head's 32,768,000 parameters at 4.127 bits instead of 16 (48,631,808
    /// bytes less, double quantisation) and rebuilds the head instead: 65,536,000 bytes. The end
    /// of forward moves by exactly the sum, -48,631,808 + 65,536,000 - 8,388,608 = 8,515,584.
    #[test]
    fn a_quantised_head_is_rebuilt_whole_for_its_multiply_computed_by_hand() {
        let run = |quantizes_output_layer: bool| {
            let recipe = Recipe { master_weights: false, quantizes_output_layer, ..Recipe::MIXED_PRECISION };
            recipe_memory(Method::Qlora(8), recipe, false)
        };
        let (kept, quantised) = (run(false), run(true));
        let head = 32_000.0 * 1024.0;
        let weights = quantised.weights.0 - kept.weights.0;
        assert!((weights - head * (4.127 / 8.0 - 2.0)).abs() < 1.0, "{weights}");
        let forward = quantised.phases[0].0 - kept.phases[0].0;
        let by_hand = -48_631_808.0 + 65_536_000.0 - 8_388_608.0;
        assert!((forward - by_hand).abs() < 1.0, "{forward} vs {by_hand}");
    }

    /// Tensor parallelism without sequence parallelism repeats only the norms, dropouts and
    /// residual adds on every rank (10 of Korthikanti et al.'s 34 bytes per token per hidden
    /// unit); the rest of the elementwise work is split. The 8-layer model above (hidden 1024)
    /// on 4 tensor ranks, 16,384 tokens per step, the test profile's 200 bytes per hidden unit
    /// at 0.8 of 3.35 TB/s: the elementwise traffic is 16,384 x 8 x 1024 x (10/34 + 24/34/4) x
    /// 200 = 16,384 x 8 x 1024 x 16/34 x 200 bytes; sequence parallelism (1024 / 4 wide, 8.5/34)
    /// saves 16,384 x 8 x 1024 x 7.5/34 x 200 = 5.9213e9 bytes of it: 2.2095 ms, and nothing
    /// else in the memory-bound time.
    #[test]
    fn tensor_parallel_ranks_repeat_only_the_norms_elementwise_work_computed_by_hand() {
        let memory_bound = |sequence_parallel: bool| {
            let a = Architecture::llama_like(8, 1024, 8, 8, 4096, 32000);
            let anatomy = anatomy(&a);
            let (d, p) = (device(3.35e12), profile());
            let e = estimate(&TrainingInput {
                parallelism: TrainingParallelism { tensor: 4, sequence_parallel, ..one_device() },
                ..base(&a, &anatomy, &d, &p)
            });
            let rule = e.explain.iter().find(|x| x.rule == "time.memory_bound").expect("explained");
            let bytes = rule.inputs.iter().find(|(k, _)| *k == "elementwise_bytes").unwrap().1;
            (rule.value, bytes)
        };
        let (whole, whole_bytes) = memory_bound(false);
        let (split, split_bytes) = memory_bound(true);
        let tokens_layers_hidden = 16_384.0 * 8.0 * 1024.0 * 200.0;
        assert!((whole_bytes - tokens_layers_hidden * 16.0 / 34.0).abs() < 1.0, "{whole_bytes}");
        assert!((split_bytes - tokens_layers_hidden / 4.0).abs() < 1.0, "{split_bytes}");
        let by_hand = tokens_layers_hidden * 7.5 / 34.0 / (3.35e12 * 0.8);
        assert!((whole - split - by_hand).abs() < 1e-12, "{} vs {by_hand}", whole - split);
    }

    /// A Llama-3-8B-like model (32 layers, hidden 4096, 32 heads of 128, 8 KV heads) on 4
    /// context ranks, one sequence per micro-batch, two micro-batches, selective recomputation.
    fn context_parallel(sequence: u64, balanced: bool) -> TrainingEstimate {
        let a = Architecture::llama_like(32, 4096, 32, 8, 14336, 128256);
        let anatomy = anatomy(&a);
        let (d, p) = (device(3.35e12), profile());
        estimate(&TrainingInput {
            parallelism: TrainingParallelism { context: 4, context_load_balanced: balanced, ..one_device() },
            sequence_length: sequence,
            global_batch_tokens: sequence as f64 * 2.0,
            sharding: Sharding::Zero3,
            checkpointing: Checkpointing::Selective,
            ..base(&a, &anatomy, &d, &p)
        })
    }

    #[test]
    fn torchtitans_op_level_selective_recomputation_computed_by_hand() {
        // 8 layers of hidden 1024 (8 heads and 8 KV heads of 128), intermediate 4096, one
        // 2048-token sequence, no pipeline. torchtitan's op policy keeps per layer per token the
        // block input 2 x 1024, the attention output 2 x 1024, and the 1st, 3rd, 5th and 7th
        // matmul outputs (wq 1024, wv 1024, w1 4096, w2 1024) x 2 bytes: 18,432 bytes, where
        // Korthikanti's selective keeps the whole layer's 40,960. Plus the output layer's input
        // 2048 x (2 + 2) x 1024.
        let a = Architecture::llama_like(8, 1024, 8, 8, 4096, 32000);
        let anatomy = anatomy(&a);
        let (d, p) = (device(3.35e12), profile());
        let run = |selective_op: bool| {
            estimate(&TrainingInput {
                global_batch_tokens: 2048.0,
                checkpointing: Checkpointing::Selective,
                recipe: Recipe { selective_op, ..Recipe::MIXED_PRECISION },
                ..base(&a, &anatomy, &d, &p)
            })
        };
        let head = 2048.0 * 4.0 * 1024.0;
        assert_eq!(run(true).memory.activations.0, 8.0 * 18_432.0 * 2048.0 + head);
        assert_eq!(run(false).memory.activations.0, 8.0 * 40_960.0 * 2048.0 + head);
    }

    #[test]
    fn context_parallel_ring_computed_by_hand() {
        // 8192 tokens on 4 ranks: 2048 each. A K and V block: 1 sequence x 2048 tokens x 8 KV
        // heads x (128 + 128) x 2 bytes = 8,388,608 bytes. Passes: forward 1, backward 2,
        // recomputation 1 (selective rebuilds attention) = 4, of 3 ring steps each: 12 steps a
        // layer, x 32 layers x 2 micro-batches = 768 steps, 6,442,450,944 bytes a step.
        let e = context_parallel(8192, true);
        let r = e.context.expect("a ring with 4 context ranks");
        assert_eq!(r.block_bytes, 8_388_608.0);
        assert_eq!(r.steps_per_layer, 12.0);
        assert_eq!(r.bytes_per_step, 6_442_450_944.0);
        // A block over 450 GB/s (900 bidirectional) + 20 us latency: 18.64 + 20 = 38.64 us; its
        // attention: 2 x 32 heads x 256 x 2048^2 / 2 = 34,359,738,368 FLOPs at 5e14 FLOP/s =
        // 68.7 us, so the ring hides entirely.
        let transfer = 8_388_608.0 / 4.5e11 + 2e-5;
        assert!((r.transfer_s - 768.0 * transfer).abs() < 1e-12, "{}", r.transfer_s);
        assert_eq!(r.exposed_s, 0.0);
        assert_eq!(r.imbalance_s, 0.0);
        assert!(!r.over_network);
        // 2048 tokens on 4 ranks: 512 each. Block 2,097,152 bytes: 4.66 us + 20 us; attention
        // 2 x 32 x 256 x 512^2 / 2 = 2,147,483,648 FLOPs = 4.29 us: 20.37 us a step shows.
        let short = context_parallel(2048, true).context.expect("ring");
        let (transfer, compute) = (2_097_152.0 / 4.5e11 + 2e-5, 2_147_483_648.0 / 5e14);
        assert!((short.exposed_s - 768.0 * (transfer - compute)).abs() < 1e-12, "{}", short.exposed_s);
        // Contiguous shards: the last rank's attention is 7/4 of the average. A rank's attention:
        // 4 blocks x 4 passes x (32 layers x 2 micro-batches) of 4.29 us; the last adds 3/4.
        let unbalanced = context_parallel(2048, false);
        let u = unbalanced.context.expect("ring");
        let attention = 4.0 * 4.0 * 64.0 * compute;
        assert!((u.imbalance_s - attention * 0.75).abs() < 1e-12, "{}", u.imbalance_s);
        assert!(unbalanced.step_time.0 > context_parallel(2048, true).step_time.0);
        // No ring without context ranks.
        assert!(pipelined(PipelineSchedule::OneFOneB).context.is_none());
    }

    #[test]
    fn first_stage_activations_and_bubble_by_schedule_computed_by_hand() {
        // Per layer per token (compiled stack, fused SwiGLU): norms 2 x 2 x 1024 + flash
        // attention q, k, v, out 2 x 4 x 1024 + linear inputs 2 x 2 x 1024 + down input 2 x 4096
        // + gate and up outputs 4 x 4096 = 16 x 1024 + 6 x 4096 = 40,960 bytes; x 2048 tokens =
        // 83,886,080 per layer per micro-batch. The output layer's input: 2048 x (2 + 2) x 1024
        // = 8,388,608.
        let layer = 40_960.0 * 2048.0;
        let head = 2048.0 * 4.0 * 1024.0;
        // 1F1B and ZB-H1: 4 micro-batches of 2 layers; interleaved v = 2: 4 + 3/2 = 5.5 of them.
        for (schedule, layers, bubble) in [
            (PipelineSchedule::OneFOneB, 8.0, 3.0 / 11.0),
            (PipelineSchedule::ZeroBubble, 8.0, 1.0 / 9.0),
            (PipelineSchedule::Interleaved(2), 11.0, 3.0 / 19.0),
        ] {
            let e = pipelined(schedule);
            assert_eq!(e.memory.activations.0, layers * layer + head, "{schedule:?}");
            assert!((e.bubble_fraction - bubble).abs() < 1e-12, "{schedule:?}");
        }
        // Interleaving moves twice the point-to-point traffic of 1F1B.
        let comm = |s| pipelined(s).explain.iter().find(|x| x.rule == "time.pipeline_p2p").map(|x| x.inputs.clone());
        let sends = |s| comm(s).unwrap().iter().find(|(k, _)| *k == "sends").unwrap().1;
        assert_eq!(sends(PipelineSchedule::OneFOneB), 16.0);
        assert_eq!(sends(PipelineSchedule::Interleaved(2)), 32.0);
    }

    /// A small MoE: 4 layers of hidden 1024, all MoE, 8 experts of width 1024, top-2.
    fn small_moe() -> Architecture {
        let mut a = Architecture::llama_like(4, 1024, 8, 8, 4096, 32000);
        a.moe = Some(crate::engine::architecture::Moe::routed(8, 2, 1024));
        a
    }

    /// The small MoE on 8 devices of one 8-device node (EP8, data 8), 4 micro-batches of one
    /// 2048-token sequence per rank.
    fn expert_parallel(experts: ExpertTraining, precision: Precision, fp8: Fp8Training) -> TrainingEstimate {
        let a = small_moe();
        let anatomy = anatomy(&a);
        let mut d = device(3.35e12);
        d.dense_peak_flops_per_s.push((crate::engine::device::ComputeType::Fp8, 2e15));
        d.interconnect = d.interconnect.map(|ic| crate::engine::device::Interconnect { node: Some(8), ..ic });
        let p = profile();
        estimate(&TrainingInput {
            parallelism: TrainingParallelism { data: 8, expert: 8, ..one_device() },
            global_batch_tokens: 2048.0 * 8.0 * 4.0,
            precision,
            pue: 1.0,
            experts,
            fp8,
            ..base(&a, &anatomy, &d, &p)
        })
    }

    /// By hand, EP8 inside one node (fabric 900 GB/s both ways = 450e9 B/s one way, 20 us per
    /// collective): each rank's micro-batch is 2048 tokens x 2 experts x 1024 hidden = 4,194,304
    /// elements; a BF16 dispatch or combine is 8,388,608 bytes, of which 7/8 (7,340,032) go to
    /// the 7 peers: 7,340,032 / 450e9 = 16.311 us + 20 us = 36.311 us. 4 per layer (dispatch and
    /// combine, forward and backward) x 4 MoE layers x 4 micro-batches = 64 all-to-alls: 2.3239
    /// ms and 469,762,048 bytes sent. With an FP8 dispatch the two dispatches move half:
    /// 32 x (8.156 + 20) + 32 x 36.311 us = 2.0629 ms.
    #[test]
    fn expert_all_to_all_at_ep8_in_one_node_by_hand() {
        let one = 7_340_032.0 / 450e9 + 20e-6;
        let none = ExpertTraining::NONE;
        let e = expert_parallel(none, Precision::Bf16, Fp8Training::UNSCALED);
        assert_eq!((e.experts.ranks, e.experts.ranks_per_node, e.experts.crosses_network), (8, 8, false));
        assert!((e.experts.all_to_all_s - 64.0 * one).abs() < 1e-12, "{}", e.experts.all_to_all_s);
        assert!((e.experts.bytes_per_step - 64.0 * 7_340_032.0).abs() < 1e-3);
        assert_eq!(e.experts.inter_node_bytes, 0.0);
        // No overlap: all of it shows, and in the communication time.
        assert!((e.experts.exposed_s - e.experts.all_to_all_s).abs() < 1e-15);
        let fp8 =
            expert_parallel(ExpertTraining { dispatch_bytes: 1.0, ..none }, Precision::Bf16, Fp8Training::UNSCALED);
        let half = 3_670_016.0 / 450e9 + 20e-6;
        assert!((fp8.experts.all_to_all_s - 32.0 * (half + one)).abs() < 1e-12, "{}", fp8.experts.all_to_all_s);
        // Full overlap hides what the compute covers: here all of it.
        let hidden =
            expert_parallel(ExpertTraining { all_to_all_overlap: 1.0, ..none }, Precision::Bf16, Fp8Training::UNSCALED);
        assert_eq!(hidden.experts.exposed_s, 0.0);
        assert!(hidden.step_time.0 < e.step_time.0);
        // Half overlap: half shows.
        let half_overlap =
            expert_parallel(ExpertTraining { all_to_all_overlap: 0.5, ..none }, Precision::Bf16, Fp8Training::UNSCALED);
        assert!((half_overlap.experts.exposed_s - 32.0 * one).abs() < 1e-12);
    }

    /// By hand: the routed experts' GEMMs are 6 x (8 experts x 3 x 1024 x 1024 / 8 x 2 active
    /// x 4 layers) = 150,994,944 FLOPs per token of the step's hardware FLOPs; a hottest rank at
    /// 1.2 x the mean adds 0.2 x that share of the compute time.
    #[test]
    fn the_hottest_expert_rank_scales_the_expert_gemms_by_hand() {
        let loaded = ExpertTraining { hottest_rank_load: 1.2, ..ExpertTraining::NONE };
        let e = expert_parallel(loaded, Precision::Bf16, Fp8Training::UNSCALED);
        let rule = |r: &str| e.explain.iter().find(|x| x.rule == r).unwrap().clone();
        let hardware = rule("flops.hardware_per_token").value;
        let compute = rule("time.step").inputs.iter().find(|(k, _)| *k == "compute_s").unwrap().1;
        let share = 6.0 * (2.0 * 3.0 * 1024.0 * 1024.0 * 4.0) / hardware;
        assert!((e.experts.expert_flops_share - share).abs() < 1e-12, "{} {share}", e.experts.expert_flops_share);
        assert!((e.experts.imbalance_s - compute * share * 0.2).abs() < 1e-15);
        // The load also scales the bytes each exchange moves.
        assert!((e.experts.bytes_per_step - 1.2 * 64.0 * 7_340_032.0).abs() < 1e-3);
        // Uniform routing costs nothing extra.
        assert_eq!(
            expert_parallel(ExpertTraining::NONE, Precision::Bf16, Fp8Training::UNSCALED).experts.imbalance_s,
            0.0
        );
    }

    /// By hand, memory per trained parameter under the FP8 recipes (one device, no sharding,
    /// AdamW): BF16 mixed precision 2 (weights) + 4 (master) + 2 (gradients) + 8 (moments) =
    /// 16 bytes; DeepSeek-V3's block recipe 2 + 4 + 4 (FP32 gradients) + 4 (BF16 moments) = 14,
    /// plus 1 + 4/16384 for the FP8 copy of each linear-layer weight.
    #[test]
    fn fp8_recipe_memory_per_parameter_by_hand() {
        let block = Fp8Training {
            recipe: crate::engine::training::Fp8Recipe::Block,
            gemm_factor: 0.88,
            weight_copy_bytes: 1.0 + 4.0 / 16384.0,
            saved_input_bytes: 1.0 + 4.0 / 128.0,
            gradient_bytes: 4.0,
            optimizer_states_16bit: true,
        };
        let bf16 = expert_parallel(ExpertTraining::NONE, Precision::Bf16, Fp8Training::UNSCALED);
        let fp8 = expert_parallel(ExpertTraining::NONE, Precision::Fp8, block);
        let (m0, m1) = (&bf16.memory, &fp8.memory);
        // Parameters on the device: the dense ones and 1/8 of the experts.
        let params = m0.master_weights.0 / 4.0;
        assert!((m0.gradients.0 - 2.0 * params).abs() < 1.0 && (m0.optimizer.0 - 8.0 * params).abs() < 1.0);
        assert!((m1.gradients.0 - 4.0 * params).abs() < 1.0, "{}", m1.gradients.0 / params);
        assert!((m1.optimizer.0 - 4.0 * params).abs() < 1.0, "{}", m1.optimizer.0 / params);
        assert_eq!(m1.master_weights, m0.master_weights);
        // The FP8 copy: the linear layers (attention 4 x 1024^2 and 1/8 of the experts' 8 x 3 x
        // 1024^2, per layer) at 1 + 4/16384 bytes.
        let linear = 4.0 * (4.0 * 1024.0 * 1024.0 + 3.0 * 1024.0 * 1024.0);
        assert!(
            (m1.fp8_weight_copy.0 - linear * (1.0 + 4.0 / 16384.0)).abs() < 1.0,
            "{}",
            m1.fp8_weight_copy.0 / linear
        );
        assert!((m1.weights.0 - m0.weights.0 - m1.fp8_weight_copy.0).abs() < 1.0);
        // Saved linear inputs in FP8: fewer activation bytes.
        assert!(m1.activations.0 < m0.activations.0);
        // Block scaling's extra work slows the GEMMs by its factor.
        let eff = |e: &TrainingEstimate| e.explain.iter().find(|x| x.rule == "time.compute_efficiency").unwrap().value;
        assert!((eff(&fp8) - 0.5 * 0.7 * 0.88).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn more_tokens_never_take_less_time(a in arch(), tokens in 1e6f64..1e12, more in 1.0f64..10.0) {
            prop_assert!(run(&a, 8, tokens * more, Sharding::Zero1).wall_clock.0 >= run(&a, 8, tokens, Sharding::Zero1).wall_clock.0);
        }

        #[test]
        fn more_devices_never_increase_sharded_weight_memory(a in arch(), data in 1u32..256, more in 1u32..8) {
            let few = run(&a, data, 1e9, Sharding::Zero3);
            let many = run(&a, data * more, 1e9, Sharding::Zero3);
            prop_assert!(many.memory.weights.0 <= few.memory.weights.0 + 1e-6);
        }

        #[test]
        fn zero3_never_needs_more_memory_than_zero1(a in arch(), data in 1u32..256) {
            prop_assert!(run(&a, data, 1e9, Sharding::Zero3).memory.total.0 <= run(&a, data, 1e9, Sharding::Zero1).memory.total.0 + 1e-6);
        }

        #[test]
        fn training_results_are_finite(a in arch(), data in 1u32..1024, tokens in 1.0f64..1e16) {
            let e = run(&a, data, tokens, Sharding::Hsdp);
            let values = [e.memory.total.0, e.model_flops, e.hardware_flops, e.tokens_per_s_per_device, e.mfu, e.wall_clock.0, e.gpu_hours, e.usd.unwrap_or(0.0), e.kwh.unwrap_or(0.0)];
            prop_assert!(values.iter().all(|v| v.is_finite() && *v >= 0.0), "{values:?}");
            prop_assert!(e.explain.iter().all(|x| x.value.is_finite()));
        }
    }
}

#[test]
fn collectives_beyond_a_node_cross_the_network() {
    use super::network::Network;
    use super::parallelism::link;
    use super::units::{BytesPerSecond, Seconds};
    let mut gpu = device(3.35e12);
    gpu.interconnect = Some(Interconnect {
        bidirectional_bytes_per_s: 9e11,
        pcie: false,
        group: None,
        node: Some(8),
        node_power_w: None,
    });
    let ndr = Network { bandwidth: BytesPerSecond(45e9), latency: Seconds(2e-6) };
    // Inside the node: NVLink, half the bidirectional figure each way.
    assert_eq!(link(&gpu, 8, Some(&ndr)).bandwidth.0, 4.5e11);
    // Sixteen ranks span two nodes: the network bounds the collective.
    assert_eq!(link(&gpu, 16, Some(&ndr)).bandwidth.0, 45e9);
    // No network given, or a node of unknown size: today's single-node answer.
    assert_eq!(link(&gpu, 16, None).bandwidth.0, 4.5e11);
    assert_eq!(link(&device(3.35e12), 16, Some(&ndr)).bandwidth.0, 4.5e11);
}

/// The engine sizes its KV cache after a profiling pass over its whole token budget: the
/// replay's KV capacity leaves room for max_num_tokens tokens of activations, not one prompt's.
#[test]
fn the_kv_cache_leaves_room_for_a_profiling_pass_at_the_token_budget() {
    use super::inference::activation_bytes_per_token;
    use super::serving::{capacity::fixed_lengths, simulate};
    // Llama-3-8B-like: hidden 4096, MLP 14336, 32 layers, 8 KV heads of 128.
    let a = Architecture::llama_like(32, 4096, 32, 8, 14336, 128256);
    // By hand: (4 x 4096 + 3 x 14336 / tensor) x 2 bytes.
    assert_eq!(activation_bytes_per_token(&a, 1), (4.0 * 4096.0 + 3.0 * 14336.0) * 2.0);
    assert_eq!(activation_bytes_per_token(&a, 2), 75_776.0);
    let anatomy = anatomy(&a);
    let (format, profile, gpu) = (bf16(), profile(), device(3.35e12));
    let input = InferenceInput {
        arch: &a,
        anatomy: &anatomy,
        device: &gpu,
        parallelism: Parallelism::SINGLE,
        weights: &format,
        kv_cache: &format,
        batch: Batch::Fixed(1),
        input_tokens: 128,
        output_tokens: 128,
        profile: &profile,
        usd_per_device_hour: None,
        explain: false,
        network: None,
        techniques: Default::default(),
    };
    let weights = estimate(&input).memory.per_device.weights.0;
    let e = simulate(&input, &fixed_lengths(128, 128));
    // The default scheduler: 0.9 of device memory less weights, 1 GB of runtime and the
    // activations of max_num_tokens = 8192 tokens (118,784 bytes each), over 2 x 8 x 128 x 32
    // x 2 = 131,072 KV bytes per token.
    let activations = 8192.0 * 118_784.0;
    let expected = ((0.9 * 80e9 - weights - 1e9 - activations) / 131_072.0).floor() as u64;
    assert_eq!(e.kv_capacity_tokens, expected);
}

/// With attention data parallelism, an engine whose MoE layers gather every rank's tokens before
/// the experts (TensorRT-LLM 1.0) profiles max_num_tokens x ranks tokens of activations on each
/// device, and the KV cache gets less; a dense model, or an engine that dispatches all-to-all,
/// keeps its own max_num_tokens.
#[test]
fn gathered_moe_tokens_take_their_activations_out_of_the_kv_cache() {
    use super::architecture::Moe;
    use super::inference::activation_bytes_per_token;
    use super::serving::{capacity::fixed_lengths, simulate};
    let mut a = Architecture::llama_like(32, 4096, 32, 8, 14336, 128256);
    a.moe = Some(Moe::routed(8, 2, 4096));
    // By hand: (4 x 4096 + 3 x 2 x 4096) x 2 bytes per token.
    assert_eq!(activation_bytes_per_token(&a, 1), 81_920.0);
    let anatomy = anatomy(&a);
    let (format, gpu) = (bf16(), device(3.35e12));
    let par = Parallelism { tensor: 1, pipeline: 1, expert: 4, data: 1 };
    let capacity = |gathers: bool, parallelism: Parallelism| {
        let mut profile = profile();
        profile.scheduler.moe_gathers_dp_tokens = gathers;
        let input = InferenceInput {
            arch: &a,
            anatomy: &anatomy,
            device: &gpu,
            parallelism,
            weights: &format,
            kv_cache: &format,
            batch: Batch::Fixed(1),
            input_tokens: 128,
            output_tokens: 128,
            profile: &profile,
            usd_per_device_hour: None,
            explain: false,
            network: None,
            techniques: Default::default(),
        };
        let weights = estimate(&input).memory.per_device.weights.0;
        (simulate(&input, &fixed_lengths(128, 128)).kv_capacity_tokens, weights)
    };
    // 0.9 of 80 GB less weights, 1 GB of runtime and the profiled activations, over 2 x 8 x 128 x
    // 32 x 2 = 131,072 KV bytes per token, times the 4 ranks that each hold their own.
    let expected =
        |weights: f64, tokens: f64| ((0.9 * 80e9 - weights - 1e9 - tokens * 81_920.0) / 131_072.0 * 4.0).floor() as u64;
    let (own, weights) = capacity(false, par);
    assert_eq!(own, expected(weights, 8192.0));
    let (gathered, _) = capacity(true, par);
    assert_eq!(gathered, expected(weights, 8192.0 * 4.0));
    // 3 x 8192 tokens x 81,920 bytes fewer per device: 61,440 tokens in all (to a token).
    assert!((own - gathered).abs_diff(61_440) <= 4, "{own} - {gathered}");
    // One rank gathers nothing more.
    assert_eq!(capacity(true, Parallelism::SINGLE).0, capacity(false, Parallelism::SINGLE).0);
}

/// The routed experts' grouped GEMMs are kernels of their own: a prefill step whose dense GEMMs
/// are bound by arithmetic still streams the touched experts' weights after them.
#[test]
fn expert_gemms_pay_their_own_weight_reads_after_compute_bound_dense_gemms() {
    use super::anatomy::Group;
    use super::architecture::Moe;
    use super::inference::matmul_params;
    use super::moe::expected_distinct_experts;
    use super::serving::step::{StepModel, StepShape};
    let mut a = Architecture::llama_like(2, 1024, 8, 8, 4096, 1000);
    a.moe = Some(Moe::routed(1024, 1, 256));
    let anatomy = anatomy(&a);
    let (format, profile, gpu) = (bf16(), profile(), device(2e12));
    let input = InferenceInput {
        arch: &a,
        anatomy: &anatomy,
        device: &gpu,
        parallelism: Parallelism::SINGLE,
        weights: &format,
        kv_cache: &format,
        batch: Batch::Fixed(1),
        input_tokens: 8192,
        output_tokens: 1,
        profile: &profile,
        usd_per_device_hour: None,
        explain: false,
        network: None,
        techniques: Default::default(),
    };
    let tokens = 8192.0;
    let shape = StepShape {
        prefill_tokens: tokens,
        prefill_attention_pairs: tokens * tokens / 2.0,
        prefill_completions: 1.0,
        largest_prefill_chunk: tokens,
        ..StepShape::default()
    };
    let t = StepModel::new(&input, false).time(&shape);
    // By hand: the dense GEMMs (body over 8192 rows, the head over the one row that samples)
    // at 0.6 x 1e15 x 8192 / (8192 + 8) FLOP/s; the experts: 8192 tokens x top-1 over 1024
    // experts touch nearly all of them, 8 rows each, far below their weights' read time at
    // 0.8 x 2e12 B/s.
    let experts = anatomy.by_group(Group::Experts).as_f64();
    let active = experts / 1024.0;
    let head = 1000.0 * 1024.0;
    let body = matmul_params(&anatomy) - head - active;
    let dense = (2.0 * body * tokens + 2.0 * head) / (0.6e15 * tokens / (tokens + 8.0));
    let touched = expected_distinct_experts(1024, 1, tokens) / 1024.0;
    let expert_reads = experts * 2.0 * touched / (0.8 * 2e12);
    let dense_reads = (anatomy.total.as_f64() - experts - 1000.0 * 1024.0) * 2.0 / (0.8 * 2e12);
    assert!(dense > dense_reads, "the dense GEMMs are compute-bound here");
    assert!((t.gemm - (dense + expert_reads)).abs() <= 1e-9 * t.gemm, "{} vs {}", t.gemm, dense + expert_reads);
}

/// Quantised checkpoints keep the token embeddings and the LM head in 16 bit: with FP8 weights
/// and `unquantized_table_bits = 16`, the weights grow by those two tables' parameters x (16 - 8)
/// bits / 8, split over the tensor ranks; 16-bit weights are unchanged.
#[test]
fn unquantized_tables_keep_their_own_bits() {
    // Two tables of vocab 1000 x hidden 64 = 128,000 parameters (untied).
    let arch = Architecture::llama_like(2, 64, 4, 4, 128, 1000);
    let anatomy = anatomy(&arch);
    let d = device(3.35e12);
    let fp8 = Format { id: "fp8".into(), bits: BitsPerWeight(8.0), compute: ComputeType::Fp8 };
    let weights = |format: &Format, table_bits: f64, tensor: u32| {
        let profile = EngineProfile { unquantized_table_bits: table_bits, ..profile() };
        let parallelism = Parallelism { tensor, ..Parallelism::SINGLE };
        estimate(&InferenceInput {
            arch: &arch,
            anatomy: &anatomy,
            device: &d,
            parallelism,
            weights: format,
            kv_cache: format,
            batch: Batch::Fixed(1),
            input_tokens: 16,
            output_tokens: 16,
            profile: &profile,
            usd_per_device_hour: None,
            explain: false,
            network: None,
            techniques: Default::default(),
        })
        .memory
        .per_device
        .weights
        .0
    };
    assert_eq!(weights(&fp8, 16.0, 1) - weights(&fp8, 0.0, 1), 128_000.0);
    assert_eq!(weights(&fp8, 16.0, 2) - weights(&fp8, 0.0, 2), 64_000.0);
    assert_eq!(weights(&bf16(), 16.0, 1), weights(&bf16(), 0.0, 1));
}
