//! What arrives at a server: when requests come and how long they are.
//!
//! Everything random is drawn from a seeded generator (SplitMix64), so a workload and its seed
//! always give the same requests: the simulator stays a pure function.

/// How requests arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    /// All requests queued at time 0 (offline benchmarks: maximum throughput).
    Offline,
    /// A Poisson process at this many requests per second.
    Poisson {
        /// Mean arrival rate.
        requests_per_s: f64,
    },
    /// A closed loop: this many clients, each sending its next request when the last one ends.
    Concurrency {
        /// Clients.
        clients: u64,
    },
    /// Explicit requests.
    Trace(Vec<TraceRequest>),
}

/// One request of an explicit trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceRequest {
    /// Arrival time, seconds from the start.
    pub arrival_s: f64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

/// Token counts: fixed, or drawn per request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lengths {
    /// Every request has this many.
    Fixed(u64),
    /// Uniform on `[min, max]`.
    Uniform {
        /// Smallest.
        min: u64,
        /// Largest.
        max: u64,
    },
    /// Normal with this mean and standard deviation, clipped to `[min, max]`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
        /// Smallest.
        min: u64,
        /// Largest.
        max: u64,
    },
    /// Log-normal with this mean and standard deviation (of the lengths, not their logs), clipped
    /// to `[min, max]`: the long-tailed shape of chat datasets such as ShareGPT.
    LogNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
        /// Smallest.
        min: u64,
        /// Largest.
        max: u64,
    },
    /// Exponential with this mean, clipped to `[min, max]`.
    Exponential {
        /// Mean.
        mean: f64,
        /// Smallest.
        min: u64,
        /// Largest.
        max: u64,
    },
}

impl Lengths {
    /// The mean of the distribution (before clipping).
    pub fn mean(&self) -> f64 {
        match *self {
            Lengths::Fixed(n) => n as f64,
            Lengths::Uniform { min, max } => (min as f64 + max as f64) / 2.0,
            Lengths::Normal { mean, .. } | Lengths::LogNormal { mean, .. } | Lengths::Exponential { mean, .. } => mean,
        }
    }

    /// The largest length it can produce.
    pub fn max(&self) -> u64 {
        match *self {
            Lengths::Fixed(n) => n,
            Lengths::Uniform { max, .. }
            | Lengths::Normal { max, .. }
            | Lengths::LogNormal { max, .. }
            | Lengths::Exponential { max, .. } => max,
        }
    }

    fn draw(&self, rng: &mut Rng) -> u64 {
        let clip = |x: f64, min: u64, max: u64| x.round().clamp(min as f64, max.max(min) as f64) as u64;
        match *self {
            Lengths::Fixed(n) => n,
            Lengths::Uniform { min, max } => {
                clip(min as f64 + rng.unit() * (max.saturating_sub(min) as f64 + 1.0) - 0.5, min, max)
            }
            Lengths::Normal { mean, stddev, min, max } => clip(mean + stddev * rng.normal(), min, max),
            Lengths::LogNormal { mean, stddev, min, max } => {
                // Parameters of the underlying normal from the mean and deviation of the lengths.
                let m = mean.max(1e-9);
                let sigma2 = (1.0 + (stddev / m).powi(2)).ln();
                let mu = m.ln() - sigma2 / 2.0;
                clip((mu + sigma2.sqrt() * rng.normal()).exp(), min, max)
            }
            Lengths::Exponential { mean, min, max } => clip(-mean * (1.0 - rng.unit()).ln(), min, max),
        }
    }
}

/// A workload: arrivals, lengths, how many requests, prefix-cache hits and the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Arrival pattern.
    pub arrival: Arrival,
    /// Prompt lengths (ignored for a trace).
    pub input_tokens: Lengths,
    /// Output lengths (ignored for a trace).
    pub output_tokens: Lengths,
    /// Requests to simulate (a trace simulates its own).
    pub requests: u64,
    /// Share of each prompt found in the prefix cache (device memory), 0 to 1; ignored when
    /// `prefix` describes the reuse.
    pub prefix_cache_hit_rate: f64,
    /// Shared prompt prefixes: the tiers' hit shares follow from their working set.
    pub prefix: Option<crate::engine::kv_offload::Prefix>,
    /// Seed of the generator.
    pub seed: u64,
}

/// A request as the simulator sees it before it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arriving {
    /// Arrival time, seconds (closed loop: 0 for the first wave; later ones are set on completion).
    pub arrival_s: f64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Output tokens (at least 1).
    pub output_tokens: u64,
}

impl Workload {
    /// The requests in arrival order (for a closed loop, all with arrival 0: the simulator
    /// releases them as clients free up).
    pub fn requests(&self) -> Vec<Arriving> {
        let mut rng = Rng::new(self.seed);
        if let Arrival::Trace(trace) = &self.arrival {
            let mut out: Vec<Arriving> = trace
                .iter()
                .map(|t| Arriving {
                    arrival_s: t.arrival_s,
                    input_tokens: t.input_tokens,
                    output_tokens: t.output_tokens.max(1),
                })
                .collect();
            out.sort_by(|a, b| a.arrival_s.total_cmp(&b.arrival_s));
            return out;
        }
        let mut clock = 0.0;
        (0..self.requests)
            .map(|_| {
                let arrival_s = match self.arrival {
                    Arrival::Poisson { requests_per_s } if requests_per_s > 0.0 => {
                        clock += -(1.0 - rng.unit()).ln() / requests_per_s;
                        clock
                    }
                    _ => 0.0,
                };
                let input_tokens = self.input_tokens.draw(&mut rng);
                let output_tokens = self.output_tokens.draw(&mut rng).max(1);
                Arriving { arrival_s, input_tokens, output_tokens }
            })
            .collect()
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast and good enough for arrival times.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(arrival: Arrival, input: Lengths) -> Workload {
        Workload {
            arrival,
            input_tokens: input,
            output_tokens: Lengths::Fixed(10),
            requests: 20_000,
            prefix_cache_hit_rate: 0.0,
            prefix: None,
            seed: 7,
        }
    }

    #[test]
    fn poisson_arrivals_have_the_asked_rate_and_the_seed_decides_them() {
        let w = workload(Arrival::Poisson { requests_per_s: 5.0 }, Lengths::Fixed(100));
        let r = w.requests();
        let rate = r.len() as f64 / r.last().unwrap().arrival_s;
        assert!((rate - 5.0).abs() < 0.15, "{rate}");
        assert_eq!(r, w.requests());
        let other = Workload { seed: 8, ..w }.requests();
        assert_ne!(r[0].arrival_s, other[0].arrival_s);
    }

    #[test]
    fn drawn_lengths_have_their_mean_and_stay_in_bounds() {
        for lengths in [
            Lengths::Uniform { min: 100, max: 300 },
            Lengths::Normal { mean: 200.0, stddev: 20.0, min: 1, max: 10_000 },
            Lengths::LogNormal { mean: 200.0, stddev: 150.0, min: 1, max: 100_000 },
            Lengths::Exponential { mean: 200.0, min: 1, max: 100_000 },
        ] {
            let r = workload(Arrival::Offline, lengths).requests();
            let mean = r.iter().map(|a| a.input_tokens as f64).sum::<f64>() / r.len() as f64;
            assert!((mean - 200.0).abs() < 8.0, "{lengths:?}: {mean}");
            assert!(r.iter().all(|a| a.input_tokens >= 1 && a.input_tokens <= lengths.max()));
        }
    }
}
