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
    use crate::engine::anatomy::anatomy;
    use crate::engine::architecture::Architecture;
    use crate::engine::training::{
        Checkpointing, Method, Optimizer, PipelineSchedule, Precision, Recipe, Sharding, TrainingEstimate,
        TrainingInput, TrainingParallelism, TrainingProfile, estimate,
    };

    fn profile() -> TrainingProfile {
        TrainingProfile::for_tests()
    }

    fn run(a: &Architecture, data: u32, tokens: f64, sharding: Sharding) -> TrainingEstimate {
        run_with_share(a, data, tokens, sharding, 1.0)
    }

    fn run_with_share(a: &Architecture, data: u32, tokens: f64, sharding: Sharding, share: f64) -> TrainingEstimate {
        let anatomy = anatomy(a);
        let (d, p) = (device(3.35e12), profile());
        estimate(&TrainingInput {
            arch: a,
            anatomy: &anatomy,
            device: &d,
            parallelism: TrainingParallelism {
                tensor: 1,
                pipeline: 1,
                data,
                expert: 1,
                context: 1,
                sequence_parallel: false,
                schedule: PipelineSchedule::OneFOneB,
            },
            tokens,
            sequence_length: 2048,
            micro_batch: 1,
            global_batch_tokens: 2048.0 * f64::from(data) * 4.0,
            precision: Precision::Bf16,
            optimizer: Optimizer::AdamW,
            sharding,
            hsdp_group: 8,
            checkpointing: Checkpointing::Selective,
            method: Method::Full,
            cpu_offload: false,
            flash_attention: true,
            profile: &p,
            attention_efficiency: p.attention_efficiency,
            recipe: Recipe::MIXED_PRECISION,
            measured_mfu: None,
            effective_time_share: share,
            usd_per_device_hour: Some(2.0),
            pue: 1.2,
            budget_device_hours: Some(1000.0),
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
            arch: &a,
            anatomy: &anatomy,
            device: &d,
            parallelism: TrainingParallelism {
                tensor: 1,
                pipeline: 4,
                data: 1,
                expert: 1,
                context: 1,
                sequence_parallel: false,
                schedule,
            },
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
            profile: &p,
            attention_efficiency: p.attention_efficiency,
            recipe: Recipe::MIXED_PRECISION,
            measured_mfu: None,
            effective_time_share: 1.0,
            usd_per_device_hour: None,
            pue: 1.2,
            budget_device_hours: None,
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
            let e = estimate(&TrainingInput {
                arch: &a,
                anatomy: &anatomy,
                device: &d,
                parallelism: TrainingParallelism {
                    tensor: 1,
                    pipeline: 1,
                    data: 1,
                    expert: 1,
                    context: 1,
                    sequence_parallel: false,
                    schedule: PipelineSchedule::OneFOneB,
                },
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
                profile: &p,
                attention_efficiency: attention,
                recipe: Recipe::MIXED_PRECISION,
                measured_mfu: None,
                effective_time_share: 1.0,
                usd_per_device_hour: None,
                pue: 1.2,
                budget_device_hours: None,
            });
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
    a.moe = Some(Moe {
        experts: 8,
        experts_per_token: 2,
        expert_intermediate: 4096,
        shared_experts: 0,
        shared_expert_intermediate: 0,
        shared_expert_gate: false,
        first_dense_layers: 0,
        layer_step: 1,
        router_bias: false,
        router_correction_bias: false,
        expert_bias: false,
    });
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
    a.moe = Some(Moe {
        experts: 1024,
        experts_per_token: 1,
        expert_intermediate: 256,
        shared_experts: 0,
        shared_expert_intermediate: 0,
        shared_expert_gate: false,
        first_dense_layers: 0,
        layer_step: 1,
        router_bias: false,
        router_correction_bias: false,
        expert_bias: false,
    });
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
