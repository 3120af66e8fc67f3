//! Criterion benchmark of the deployment planner: configurations evaluated per second.
//!
//! Four models (8B to 405B, dense and MoE) over the whole device catalog, tensor degrees 1-8,
//! pipeline 1-2, four weight formats and nine batch sizes, with a target rate (replica scaling)
//! and latency requirements: the search `POST /v1/plan` runs, without the HTTP and the best
//! configuration's full estimate. Criterion reports elements (configurations) per second.
//! Run with `cargo bench --bench planner`; quote the median.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hwcost::catalog::Catalog;
use hwcost::engine::format::Format;
use hwcost::plan::rules::Requirements;
use hwcost::plan::search::{FormatChoice, HardwareChoice, Limits, ModelChoice, Objective, Space, Workload, search};

fn planner(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("the embedded catalog loads");
    let models: Vec<_> = ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "mixtral-8x7b"]
        .iter()
        .map(|id| catalog.model(id).expect("in the catalog"))
        .collect();
    let formats: Vec<Format> = ["bf16", "fp8", "int8", "int4"]
        .iter()
        .map(|id| catalog.format(id).expect("in the catalog").to_engine())
        .collect();
    let kv = catalog.format("bf16").expect("in the catalog").to_engine();
    let space = Space {
        models: models.iter().map(|m| ModelChoice { arch: &m.architecture, anatomy: &m.anatomy }).collect(),
        hardware: catalog.devices().iter().map(HardwareChoice::from).collect(),
        tensor: vec![1, 2, 4, 8],
        pipeline: vec![1, 2],
        formats: formats.iter().map(|f| FormatChoice { weights: f, kv_cache: &kv }).collect(),
        batch_sizes: vec![1, 2, 4, 8, 16, 32, 64, 128, 256],
        engines: vec![&catalog.engine("vllm").expect("in the catalog").profile],
        speculation: Vec::new(),
        expert: Vec::new(),
        network: None,
    };
    let workload = Workload { input_tokens: 1000, output_tokens: 200, requests_per_s: Some(10.0), concurrency: None };
    let requirements = Requirements { max_ttft_s: Some(2.0), max_tpot_s: Some(0.05), ..Requirements::default() };
    let limits = Limits { max_devices_per_replica: 16, max_replicas: 4096, keep: 10 };
    let size = u64::try_from(space.size()).expect("small");
    let mut group = c.benchmark_group("planner");
    group.throughput(Throughput::Elements(size));
    group.bench_function(format!("search_{size}_configurations"), |b| {
        b.iter(|| {
            search(black_box(&space), &workload, &requirements, Objective::UsdPerMillionTokens, &limits, &|| false)
        })
    });
    group.finish();
}

criterion_group!(benches, planner);
criterion_main!(benches);
