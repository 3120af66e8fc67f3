//! A real transformer forward pass: candle-transformers' Llama with random weights (nothing is
//! downloaded), timing prefill of N tokens and decode of M tokens with a KV cache.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::llama::{Cache, Config, Llama};

use super::bench::Spread;

/// Shape of the benchmark model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Blocks.
    pub layers: usize,
    /// Width.
    pub hidden: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// MLP inner size.
    pub intermediate: usize,
    /// Vocabulary.
    pub vocab: usize,
}

/// About 134M parameters: 12 layers of width 768 with a 32k vocabulary.
pub fn small() -> Shape {
    Shape { layers: 12, hidden: 768, heads: 12, kv_heads: 12, intermediate: 2048, vocab: 32000 }
}

/// About 35M parameters, for the quick check a test runs: wide enough (512) that its kernels
/// behave like the full model's rather than being dominated by per-operator dispatch.
pub fn quick() -> Shape {
    Shape { layers: 6, hidden: 512, heads: 8, kv_heads: 8, intermediate: 1376, vocab: 16000 }
}

impl Shape {
    /// The same model as the engine sees it (a Llama: gated MLP, RMSNorm, RoPE, untied head).
    pub fn architecture(self) -> crate::engine::architecture::Architecture {
        crate::engine::architecture::Architecture::llama_like(
            self.layers as u32,
            self.hidden as u64,
            self.heads as u64,
            self.kv_heads as u64,
            self.intermediate as u64,
            self.vocab as u64,
        )
    }
}

/// Timings of one forward-pass benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forward {
    /// The model.
    pub shape: Shape,
    /// Prompt tokens.
    pub prefill_tokens: usize,
    /// Generated tokens.
    pub decode_tokens: usize,
    /// Prefill wall time, seconds.
    pub prefill_s: Spread,
    /// Decode time per token, seconds.
    pub decode_s_per_token: Spread,
}

fn config(shape: Shape) -> Config {
    Config {
        hidden_size: shape.hidden,
        intermediate_size: shape.intermediate,
        vocab_size: shape.vocab,
        num_hidden_layers: shape.layers,
        num_attention_heads: shape.heads,
        num_key_value_heads: shape.kv_heads,
        use_flash_attn: false,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        bos_token_id: None,
        eos_token_id: None,
        rope_scaling: None,
        max_position_embeddings: 4096,
        tie_word_embeddings: false,
    }
}

/// Runs prefill of `prefill_tokens` then `decode_tokens` decode steps, `repeats` times.
pub fn forward(
    shape: Shape,
    prefill_tokens: usize,
    decode_tokens: usize,
    repeats: usize,
) -> candle_core::Result<Forward> {
    let device = Device::Cpu;
    let cfg = config(shape);
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let model = Llama::load(vb, &cfg)?;
    // Random weights: values do not change the work of dense kernels, but keep them finite and
    // non-trivial.
    for var in varmap.all_vars() {
        let random = Tensor::randn(0f32, 0.02, var.shape(), &device)?;
        var.set(&random)?;
    }
    let prompt: Vec<u32> = (0..prefill_tokens as u32).map(|i| (i * 7919) % shape.vocab as u32).collect();
    let mut prefill = Vec::new();
    let mut decode = Vec::new();
    for _ in 0..repeats.max(1) + 1 {
        let mut cache = Cache::new(true, DType::F32, &cfg, &device)?;
        let input = Tensor::new(prompt.as_slice(), &device)?.unsqueeze(0)?;
        let start = std::time::Instant::now();
        let logits = model.forward(&input, 0, &mut cache)?;
        let _ = logits.to_vec2::<f32>()?;
        prefill.push(start.elapsed().as_secs_f64());
        let start = std::time::Instant::now();
        let mut token = 1u32;
        for step in 0..decode_tokens {
            let input = Tensor::new(&[token], &device)?.unsqueeze(0)?;
            let logits = model.forward(&input, prefill_tokens + step, &mut cache)?;
            let row = logits.squeeze(0)?.to_vec1::<f32>()?;
            let next = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i as u32);
            token = next;
        }
        decode.push(start.elapsed().as_secs_f64() / decode_tokens.max(1) as f64);
    }
    // The first run warms caches and allocators.
    prefill.remove(0);
    decode.remove(0);
    Ok(Forward {
        shape,
        prefill_tokens,
        decode_tokens,
        prefill_s: Spread::of(prefill),
        decode_s_per_token: Spread::of(decode),
    })
}

/// 16-bit GEMM throughput on all threads through candle's CPU backend (the `gemm` crate's f16
/// and bf16 kernels): `(data type, GFLOP/s)` for each 16-bit type the backend multiplies.
pub fn gemm_16bit(n: usize, repeats: usize) -> candle_core::Result<Vec<(&'static str, Spread)>> {
    let mut out = Vec::new();
    for (name, dtype) in [("bf16", DType::BF16), ("f16", DType::F16)] {
        out.push((name, gemm(dtype, n, repeats)?));
    }
    Ok(out)
}

/// f32 GEMM throughput (GFLOP/s) on all threads through candle's CPU backend: the kernels the
/// forward pass's prefill runs on, so the calibration loop compares the pass with its own
/// backend's peak rather than with another library's.
pub fn gemm_f32(n: usize, repeats: usize) -> candle_core::Result<Spread> {
    gemm(DType::F32, n, repeats)
}

/// `n`×`n` by `n`×`n` matmul rate in GFLOP/s.
fn gemm(dtype: DType, n: usize, repeats: usize) -> candle_core::Result<Spread> {
    let device = Device::Cpu;
    let a = Tensor::randn(0f32, 1.0, (n, n), &device)?.to_dtype(dtype)?;
    let b = Tensor::randn(0f32, 1.0, (n, n), &device)?.to_dtype(dtype)?;
    let flops = 2.0 * (n as f64).powi(3);
    let seconds = timed(repeats, || a.matmul(&b))?;
    Ok(Spread::of(seconds.into_iter().map(|s| flops / s / 1e9).collect()))
}

/// The rate (GB/s of weights read) at which candle streams an f32 `k`×`n` weight matrix through
/// a one-row matmul: what a decode step does with every linear layer. Several matrices, together
/// larger than any last-level cache, are read in turn, as a pass reads its layers.
pub fn gemv_f32(k: usize, n: usize, matrices: usize, repeats: usize) -> candle_core::Result<Spread> {
    let device = Device::Cpu;
    let x = Tensor::randn(0f32, 1.0, (1, k), &device)?;
    let weights = (0..matrices.max(1))
        .map(|_| Tensor::randn(0f32, 1.0, (k, n), &device))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let bytes = (k * n * 4 * weights.len()) as f64;
    let seconds = timed(repeats, || {
        let mut last = None;
        for w in &weights {
            last = Some(x.matmul(w)?);
        }
        Ok(last)
    })?;
    Ok(Spread::of(seconds.into_iter().map(|s| bytes / s / 1e9).collect()))
}

/// Seconds of each of `repeats` runs of `f`, after one warm-up run (thread pool, packing
/// buffers, first touch of the pages).
fn timed<T>(repeats: usize, mut f: impl FnMut() -> candle_core::Result<T>) -> candle_core::Result<Vec<f64>> {
    std::hint::black_box(f()?);
    let mut seconds = Vec::new();
    for _ in 0..repeats.max(1) {
        let start = std::time::Instant::now();
        std::hint::black_box(f()?);
        seconds.push(start.elapsed().as_secs_f64());
    }
    Ok(seconds)
}
