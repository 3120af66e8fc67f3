//! KV-cache tiers beyond device memory, and prefix reuse across them.
//!
//! A deployment may keep KV blocks in three tiers: device memory (the engine's KV pool), host
//! memory (vLLM's CPU offloading connector and swap space, LMCache's local CPU backend,
//! TensorRT-LLM's host KV cache, Dynamo KVBM's G2) and optionally local disk (LMCache's local
//! disk backend, KVBM's G3). Capacities are per device, as each engine sizes them (vLLM
//! `swap_space` and LMCache `max_local_cpu_size` per worker, TensorRT-LLM `host_cache_size` per
//! rank): every device of a tensor-parallel group holds its own share of each token's KV, so a
//! tier's tokens are its bytes over the KV bytes one device holds per token (times expert
//! ranks, as the device pool counts them).
//!
//! **Replacement model.** The tiers are exclusive (a block evicted from device memory moves to
//! host memory, from host memory to disk: LMCache's and KVBM's write-back order) and each runs
//! LRU over `distinct` equally popular prefixes reused uniformly at random. Under that
//! independent-reference model an LRU cache holding `C` of the `W` working-set tokens holds each
//! prefix with probability `C / W`, so the tiers together serve `min(1, (C_device + C_host +
//! C_disk) / W)` of the reuses, the faster tiers first. The replay sees a window of a service
//! that has run for a while: every prefix has been seen before (no cold misses).
//!
//! **Transfer.** A hit in device memory costs nothing; a hit in host memory costs its bytes over
//! the host link (bytes per token per device / the link's effective bandwidth), a hit on disk
//! its bytes over the slower of the disk's read rate and the host link (read into host memory
//! and copied on, pipelined). The copy of one request is not overlapped with its own prefill
//! (its first chunk waits for it, as vLLM's connectors load a request's blocks before it is
//! scheduled for compute) but is overlapped with the other requests' steps (asynchronous DMA on
//! the copy engine); copies share the link one after another.

use super::units::{Bytes, BytesPerSecond, Seconds};

/// One tier beyond device memory, per device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tier {
    /// Bytes this tier holds for one device.
    pub capacity: Bytes,
    /// Effective bandwidth from this tier into device memory, one direction, per device (after
    /// the copy efficiency).
    pub bandwidth: BytesPerSecond,
}

/// KV-cache tiers beyond device memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KvOffload {
    /// Host memory.
    pub host: Tier,
    /// Local disk (NVMe), if any.
    pub disk: Option<Tier>,
    /// Whether a sequence preempted when device blocks run out is swapped to host memory and
    /// back instead of recomputed.
    pub swap_preempted: bool,
}

/// Prompt prefixes shared between requests (system prompts, conversation history, documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// Shared prefix tokens at the start of each request's prompt.
    pub tokens: u64,
    /// Distinct prefixes live at once (users, conversations, documents), reused uniformly.
    pub distinct: u64,
}

impl Prefix {
    /// Tokens of every distinct prefix together: the working set.
    pub fn working_set_tokens(&self) -> f64 {
        self.tokens as f64 * self.distinct as f64
    }
}

/// Capacity of each tier, tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TierTokens {
    /// Device memory (the engine's KV pool).
    pub device: f64,
    /// Host memory.
    pub host: f64,
    /// Disk.
    pub disk: f64,
}

/// Share of prefix reuses each tier serves; they sum to 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HitShares {
    /// Found in device memory.
    pub device: f64,
    /// Found in host memory.
    pub host: f64,
    /// Found on disk.
    pub disk: f64,
    /// Not found: recomputed.
    pub miss: f64,
}

/// Tokens a tier of `capacity` holds at `bytes_per_token` per device, with `expert` ranks
/// holding distinct sequences (as the device pool counts them); 0 when nothing is stored per
/// token.
pub fn capacity_tokens(capacity: Bytes, bytes_per_token: f64, expert: u32) -> f64 {
    if bytes_per_token > 0.0 && capacity.0 > 0.0 {
        (capacity.0 / bytes_per_token * f64::from(expert.max(1))).floor().min(1e15)
    } else {
        0.0
    }
}

/// The share of reuses each tier serves for a working set of `working_set` tokens (exclusive
/// tiers, LRU over uniform reuse: a tier serves the part of `min(1, cumulative capacity /
/// working set)` the faster tiers leave). An empty working set is all device hits.
pub fn hit_shares(working_set: f64, tiers: TierTokens) -> HitShares {
    let held = |c: f64| if working_set > 0.0 { (c.max(0.0) / working_set).min(1.0) } else { 1.0 };
    let device = held(tiers.device);
    let host = held(tiers.device + tiers.host) - device;
    let disk = held(tiers.device + tiers.host + tiers.disk) - device - host;
    HitShares { device, host, disk, miss: (1.0 - device - host - disk).max(0.0) }
}

/// Seconds to move `tokens` tokens of KV (at `bytes_per_token` per device) over `bandwidth`.
pub fn transfer(tokens: f64, bytes_per_token: f64, bandwidth: BytesPerSecond) -> Seconds {
    Bytes(tokens.max(0.0) * bytes_per_token.max(0.0)) / bandwidth
}

impl KvOffload {
    /// Effective bandwidth of a disk hit into device memory: the slower of the disk's read rate
    /// and the host link (read into host memory and copied on, pipelined).
    pub fn disk_bandwidth(&self) -> Option<BytesPerSecond> {
        self.disk.map(|d| BytesPerSecond(d.bandwidth.0.min(self.host.bandwidth.0)))
    }

    /// Seconds to bring `tokens` of one request's KV from host memory into device memory.
    pub fn host_load(&self, tokens: f64, bytes_per_token: f64) -> Seconds {
        transfer(tokens, bytes_per_token, self.host.bandwidth)
    }

    /// Seconds to bring `tokens` from disk into device memory (zero without a disk).
    pub fn disk_load(&self, tokens: f64, bytes_per_token: f64) -> Seconds {
        self.disk_bandwidth().map_or(Seconds(0.0), |bw| transfer(tokens, bytes_per_token, bw))
    }
}

/// Which tier request number `i` (from 0) finds its prefix in: a low-discrepancy sequence
/// (the golden-ratio Weyl sequence) over the cumulative shares, so that any run of requests
/// meets each tier in its share without drawing from the workload's generator.
pub fn tier_of(i: u64, shares: &HitShares) -> Hit {
    let u = ((i as f64 + 1.0) * 0.618_033_988_749_894_9).fract();
    if u < shares.device {
        Hit::Device
    } else if u < shares.device + shares.host {
        Hit::Host
    } else if u < shares.device + shares.host + shares.disk {
        Hit::Disk
    } else {
        Hit::Miss
    }
}

/// Where one request's prefix was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Device memory.
    Device,
    /// Host memory.
    Host,
    /// Disk.
    Disk,
    /// Nowhere.
    Miss,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offload(host_gb: f64, host_gbps: f64, disk: Option<(f64, f64)>) -> KvOffload {
        KvOffload {
            host: Tier { capacity: Bytes(host_gb * 1e9), bandwidth: BytesPerSecond(host_gbps * 1e9) },
            disk: disk.map(|(gb, gbps)| Tier { capacity: Bytes(gb * 1e9), bandwidth: BytesPerSecond(gbps * 1e9) }),
            swap_preempted: true,
        }
    }

    #[test]
    fn tier_capacity_by_hand() {
        // Llama-3.1-8B in bf16 on one device: 2 x 8 kv heads x 128 x 32 layers x 2 bytes =
        // 131,072 bytes per token; 100 GB of host memory holds 762,939 tokens.
        let per_token = 2.0 * 8.0 * 128.0 * 32.0 * 2.0;
        assert_eq!(per_token, 131_072.0);
        assert_eq!(capacity_tokens(Bytes(100e9), per_token, 1), 762_939.0);
        assert_eq!(capacity_tokens(Bytes(100e9), per_token, 2), 1_525_878.0);
        assert_eq!(capacity_tokens(Bytes(0.0), per_token, 1), 0.0);
        assert_eq!(capacity_tokens(Bytes(1e9), 0.0, 1), 0.0);
    }

    #[test]
    fn transfer_time_by_hand() {
        // 4,096 tokens x 131,072 bytes = 536.9 MB over 25 GB/s = 21.47 ms; over a 5 GB/s disk
        // (slower than the 25 GB/s link) 107.4 ms.
        let o = offload(100.0, 25.0, Some((1000.0, 5.0)));
        let host = o.host_load(4096.0, 131_072.0).0;
        assert!((host - 0.021_474_836_48).abs() < 1e-12, "{host}");
        let disk = o.disk_load(4096.0, 131_072.0).0;
        assert!((disk - 0.107_374_182_4).abs() < 1e-12, "{disk}");
        // A disk faster than the link runs at the link's rate.
        let fast = offload(100.0, 25.0, Some((1000.0, 50.0)));
        assert_eq!(fast.disk_load(4096.0, 131_072.0).0, host);
        assert_eq!(offload(1.0, 1.0, None).disk_load(10.0, 10.0).0, 0.0);
    }

    #[test]
    fn hit_shares_by_hand() {
        // (working set, device, host, disk) -> (device, host, disk, miss)
        let cases = [
            (1000.0, 2000.0, 0.0, 0.0, (1.0, 0.0, 0.0, 0.0)),
            (1000.0, 250.0, 0.0, 0.0, (0.25, 0.0, 0.0, 0.75)),
            (1000.0, 250.0, 500.0, 0.0, (0.25, 0.5, 0.0, 0.25)),
            (1000.0, 250.0, 500.0, 100.0, (0.25, 0.5, 0.1, 0.15)),
            (1000.0, 250.0, 500.0, 5000.0, (0.25, 0.5, 0.25, 0.0)),
            (0.0, 0.0, 0.0, 0.0, (1.0, 0.0, 0.0, 0.0)),
        ];
        for (w, d, h, k, (ed, eh, ek, em)) in cases {
            let s = hit_shares(w, TierTokens { device: d, host: h, disk: k });
            for (got, want) in [(s.device, ed), (s.host, eh), (s.disk, ek), (s.miss, em)] {
                assert!((got - want).abs() < 1e-12, "{w} {d} {h} {k}: {s:?}");
            }
        }
    }

    #[test]
    fn requests_meet_each_tier_in_its_share() {
        let shares = HitShares { device: 0.2, host: 0.5, disk: 0.1, miss: 0.2 };
        let mut counts = [0u32; 4];
        for i in 0..10_000 {
            counts[tier_of(i, &shares) as usize] += 1;
        }
        for (got, want) in counts.iter().zip([2000, 5000, 1000, 2000]) {
            assert!((i64::from(*got) - want).abs() <= 5, "{counts:?}");
        }
    }
}
