//! Criterion benchmark of the inference engine alone: one full estimate (memory, FLOPs, both
//! phases, cost, energy, explanations) for Llama-3.1-70B on 4 x H100, as the API would run it
//! after parsing. Run with `cargo bench --bench engine`; quote the median.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hwcost::catalog::Catalog;
use hwcost::engine::inference::{Batch, InferenceInput, estimate};
use hwcost::engine::parallelism::Parallelism;

fn inference(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("the embedded catalog loads");
    let model = catalog.model("llama-3.1-70b").expect("in the catalog");
    let device = catalog.device("nvidia-h100-sxm-80gb").expect("in the catalog");
    let weights = catalog.format("fp8").expect("in the catalog").to_engine();
    let profile = &catalog.engine("tensorrt-llm").expect("in the catalog").profile;
    let input = InferenceInput {
        arch: &model.architecture,
        anatomy: &model.anatomy,
        device: &device.device,
        parallelism: Parallelism { tensor: 4, ..Parallelism::SINGLE },
        weights: &weights,
        kv_cache: &weights,
        batch: Batch::Fixed(32),
        input_tokens: 2048,
        output_tokens: 256,
        profile,
        usd_per_device_hour: Some(3.0),
    };
    c.bench_function("inference_estimate_llama70b_4xh100", |b| b.iter(|| estimate(black_box(&input))));
}

criterion_group!(benches, inference);
criterion_main!(benches);
