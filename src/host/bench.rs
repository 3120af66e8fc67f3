//! Microbenchmarks of this host: dense GEMM, memory bandwidth, and (with the `transformer`
//! feature) a real Llama-architecture forward pass.
//!
//! Every figure is the median of repeated runs with the spread (min, max) beside it, because
//! these machines are shared and noisy. Work is bounded by the sizes asked for.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::Instant;

/// Median, minimum and maximum of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (empty: zeros).
    pub fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let median = values.get(values.len() / 2).copied().unwrap_or(0.0);
        Self { median, min: values.first().copied().unwrap_or(0.0), max: values.last().copied().unwrap_or(0.0) }
    }
}

fn time<F: FnMut()>(repeats: usize, mut f: F) -> Vec<f64> {
    f(); // warm-up: page in buffers, spin up threads
    (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect()
}

/// One GEMM measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gemm {
    /// Matrix size (n x n times n x n).
    pub n: usize,
    /// Threads.
    pub threads: usize,
    /// GFLOP/s over repeats (2 n^3 FLOPs per product).
    pub gflops: Spread,
}

/// f32 GEMM throughput with faer at size `n` on `threads` threads.
pub fn gemm_f32(n: usize, threads: usize, repeats: usize) -> Gemm {
    use faer::{Accum, Mat, Par};
    let a = Mat::<f32>::from_fn(n, n, |i, j| ((i * 7 + j * 13) % 17) as f32 * 0.01);
    let b = Mat::<f32>::from_fn(n, n, |i, j| ((i * 3 + j * 5) % 11) as f32 * 0.01);
    let mut c = Mat::<f32>::zeros(n, n);
    let par = NonZeroUsize::new(threads).filter(|t| t.get() > 1).map_or(Par::Seq, Par::Rayon);
    let seconds = time(repeats, || {
        faer::linalg::matmul::matmul(c.as_mut(), Accum::Replace, a.as_ref(), b.as_ref(), 1.0f32, par);
        black_box(&c);
    });
    let flops = 2.0 * (n as f64).powi(3);
    Gemm { n, threads, gflops: Spread::of(seconds.iter().map(|s| flops / s / 1e9).collect()) }
}

/// Memory bandwidth, decimal GB/s, STREAM-style kernels on buffers far larger than caches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bandwidth {
    /// Buffer size, bytes (each array).
    pub bytes: usize,
    /// Sum of one array (bytes read).
    pub read: Spread,
    /// `b = a` (bytes read + written).
    pub copy: Spread,
    /// `a = b + s c` (bytes read + written).
    pub triad: Spread,
}

/// Sum with 16 independent accumulators, so the loop vectorises and is limited by memory, not
/// by the latency of one dependent add chain.
fn sum(chunk: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let mut blocks = chunk.chunks_exact(16);
    for block in &mut blocks {
        for (a, x) in acc.iter_mut().zip(block) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + blocks.remainder().iter().sum::<f32>()
}

/// Measures read, copy and triad bandwidth on arrays of `bytes` each, split over `threads`
/// threads (one per core saturates a desktop or small-VM memory system).
pub fn bandwidth(bytes: usize, threads: usize, repeats: usize) -> Bandwidth {
    let n = (bytes / 4).max(1024);
    let threads = threads.max(1);
    let part = n.div_ceil(threads);
    let mut a = vec![1.0f32; n];
    let mut b = vec![2.0f32; n];
    let c = vec![0.5f32; n];
    let size = (n * 4) as f64;
    let read = time(repeats, || {
        std::thread::scope(|s| {
            for chunk in a.chunks(part) {
                s.spawn(move || black_box(sum(chunk)));
            }
        });
    });
    let copy = time(repeats, || {
        std::thread::scope(|s| {
            for (dst, src) in b.chunks_mut(part).zip(a.chunks(part)) {
                s.spawn(move || dst.copy_from_slice(src));
            }
        });
        black_box(&b);
    });
    let triad = time(repeats, || {
        std::thread::scope(|s| {
            for ((x, y), z) in a.chunks_mut(part).zip(b.chunks(part)).zip(c.chunks(part)) {
                s.spawn(move || {
                    for ((x, y), z) in x.iter_mut().zip(y).zip(z) {
                        *x = y + 3.0 * z;
                    }
                });
            }
        });
        black_box(&a);
    });
    Bandwidth {
        bytes: n * 4,
        read: Spread::of(read.iter().map(|s| size / s / 1e9).collect()),
        copy: Spread::of(copy.iter().map(|s| 2.0 * size / s / 1e9).collect()),
        triad: Spread::of(triad.iter().map(|s| 3.0 * size / s / 1e9).collect()),
    }
}
