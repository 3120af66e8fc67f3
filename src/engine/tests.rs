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
    use crate::engine::units::{Bytes, Seconds};

    fn profile() -> TrainingProfile {
        TrainingProfile {
            id: "test".into(),
            compute_efficiency: 0.5,
            elementwise_bytes_per_hidden: 200.0,
            memory_efficiency: 0.8,
            fp8_factor: 0.7,
            dp_overlap: 0.8,
            allocator_overhead: 0.1,
            runtime_overhead: Bytes(2e9),
            memory_fraction: 0.95,
            collective_latency: Seconds(2e-5),
            power_fraction: 0.85,
            host_power_fraction: 0.6,
            network_w_per_device: 0.0,
            qlora_factor: 0.6,
            context: Bytes(0.45e9),
        }
    }

    fn run(a: &Architecture, data: u32, tokens: f64, sharding: Sharding) -> TrainingEstimate {
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
                context_load_balanced: true,
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
            recipe: Recipe::MIXED_PRECISION,
            measured_mfu: None,
            usd_per_device_hour: Some(2.0),
            pue: 1.2,
            budget_device_hours: Some(1000.0),
            network: None,
        })
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
                context_load_balanced: true,
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
            recipe: Recipe::MIXED_PRECISION,
            measured_mfu: None,
            usd_per_device_hour: None,
            pue: 1.2,
            budget_device_hours: None,
            network: None,
        })
    }

    /// A Llama-3-8B-like model (32 layers, hidden 4096, 32 heads of 128, 8 KV heads) on 4
    /// context ranks, one sequence per micro-batch, two micro-batches, selective recomputation.
    fn context_parallel(sequence: u64, balanced: bool) -> TrainingEstimate {
        let a = Architecture::llama_like(32, 4096, 32, 8, 14336, 128256);
        let anatomy = anatomy(&a);
        let (d, p) = (device(3.35e12), profile());
        estimate(&TrainingInput {
            arch: &a,
            anatomy: &anatomy,
            device: &d,
            parallelism: TrainingParallelism {
                tensor: 1,
                pipeline: 1,
                data: 1,
                expert: 1,
                context: 4,
                sequence_parallel: false,
                context_load_balanced: balanced,
                schedule: PipelineSchedule::OneFOneB,
            },
            tokens: 1e9,
            sequence_length: sequence,
            micro_batch: 1,
            global_batch_tokens: sequence as f64 * 2.0,
            precision: Precision::Bf16,
            optimizer: Optimizer::AdamW,
            sharding: Sharding::Zero3,
            hsdp_group: 8,
            checkpointing: Checkpointing::Selective,
            method: Method::Full,
            cpu_offload: false,
            flash_attention: true,
            profile: &p,
            recipe: Recipe::MIXED_PRECISION,
            measured_mfu: None,
            usd_per_device_hour: None,
            pue: 1.2,
            budget_device_hours: None,
            network: None,
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
                    context_load_balanced: true,
                    schedule: PipelineSchedule::OneFOneB,
                },
                tokens: 1e9,
                sequence_length: 2048,
                micro_batch: 1,
                global_batch_tokens: 2048.0,
                precision: Precision::Bf16,
                optimizer: Optimizer::AdamW,
                sharding: Sharding::None,
                hsdp_group: 8,
                checkpointing: Checkpointing::Selective,
                method: Method::Full,
                cpu_offload: false,
                flash_attention: true,
                profile: &p,
                recipe: Recipe { selective_op, ..Recipe::MIXED_PRECISION },
                measured_mfu: None,
                usd_per_device_hour: None,
                pue: 1.2,
                budget_device_hours: None,
                network: None,
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
