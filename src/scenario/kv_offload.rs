//! The request's `kv_offload`: KV-cache tiers beyond device memory, with their defaults from
//! `data/serving/kv_offload.toml` (the device's host link, the copy efficiency, an NVMe read
//! rate), each default listed as an assumption.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::range::{self, Checks};
use super::resolve::ResolvedDevice;
use super::{Assumptions, Error};

use crate::engine::kv_offload::{KvOffload, Tier};
use crate::engine::units::{Bytes, BytesPerSecond};

/// KV-cache tiers beyond device memory, per device: host memory and optionally local disk.
/// Prefix hits found there are copied into device memory (the copy counted in TTFT), and a
/// sequence preempted when device blocks run out is swapped to host memory and back instead of
/// recomputed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"host_gb": 200, "disk_gb": 2000}))]
pub struct KvOffloadBody {
    /// Host memory set aside for KV per device, GB (vLLM `swap_space` / offloading
    /// `cpu_bytes`, LMCache `max_local_cpu_size`, TensorRT-LLM `host_cache_size`).
    pub host_gb: Option<f64>,
    /// Bandwidth between host and device memory per device, one direction, GB/s, as copies
    /// reach it (default: the device's host link from the catalog, PCIe or NVLink-C2C, x the
    /// copy efficiency).
    pub host_gb_per_s: Option<f64>,
    /// Local disk (NVMe) for KV per device, GB (default none).
    pub disk_gb: Option<f64>,
    /// The disk's read rate per device, GB/s (default: a PCIe Gen4 NVMe drive).
    pub disk_gb_per_s: Option<f64>,
    /// Whether sequences preempted when device blocks run out are swapped to host memory and
    /// back rather than recomputed (default true).
    pub swap_preempted: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    copy_efficiency: f64,
    #[allow(dead_code)]
    copy_efficiency_source: String,
    host_link: Vec<HostLink>,
    default: Fallback,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostLink {
    id: String,
    gb_per_s: f64,
    #[allow(dead_code)]
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fallback {
    host_link: String,
    #[allow(dead_code)]
    host_link_reason: String,
    disk_gb_per_s: f64,
    #[allow(dead_code)]
    disk_source: String,
}

fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(include_str!("../../data/serving/kv_offload.toml"))
            .expect("data/serving/kv_offload.toml parses (a unit test keeps it so)")
    })
}

/// The device's host link (its record's `host_link`, or the default link) and its
/// one-direction bandwidth, GB/s, before the copy efficiency.
pub fn host_link(device: &ResolvedDevice) -> (String, f64, bool) {
    let d = defaults();
    let named = device.host_link.clone();
    let find = |id: &str| d.host_link.iter().find(|l| l.id.eq_ignore_ascii_case(id));
    match named.as_deref().and_then(|id| find(id).map(|l| (id.to_owned(), l.gb_per_s))) {
        Some((id, gbps)) => (id, gbps, true),
        None => {
            let gbps = find(&d.default.host_link).map_or(31.5, |l| l.gb_per_s);
            (d.default.host_link.clone(), gbps, false)
        }
    }
}

/// Parses `kv_offload` found at `pointer` for `device`, recording its defaults.
pub fn parse(
    body: &KvOffloadBody,
    device: &ResolvedDevice,
    pointer: &str,
    assumed: &mut Assumptions,
) -> Result<KvOffload, Error> {
    let at = |field: &str| format!("{pointer}/{field}");
    let mut checks = Checks::default();
    let host_gb = checks.number(at("host_gb"), range::KV_TIER_GB, body.host_gb);
    let host_gbps = checks.number(at("host_gb_per_s"), range::KV_TIER_GB_PER_S, body.host_gb_per_s);
    let disk_gb = checks.number(at("disk_gb"), range::KV_TIER_GB, body.disk_gb);
    let disk_gbps = checks.number(at("disk_gb_per_s"), range::KV_TIER_GB_PER_S, body.disk_gb_per_s);
    checks.finish()?;
    let Some(host_gb) = host_gb else {
        return Err(Error::field(at("host_gb"), "is required: the host memory set aside for KV per device, GB"));
    };
    if disk_gb.is_none() && disk_gbps.is_some() {
        return Err(Error::field(at("disk_gb_per_s"), "applies to a disk tier: give disk_gb too"));
    }
    let d = defaults();
    let host_bandwidth = match host_gbps {
        Some(v) => v,
        None => {
            let (link, gbps, named) = host_link(device);
            let v = gbps * d.copy_efficiency;
            assumed.push(
                "kv_offload/host_gb_per_s",
                format!("{v:.1} ({link}, {gbps} GB/s x copy efficiency {})", d.copy_efficiency),
                if named {
                    "the device's host link in the catalog x the share of it a pinned-memory copy reaches (data/serving/kv_offload.toml)"
                } else {
                    "the device names no host link: PCIe 4.0 x16 x the share of it a pinned-memory copy reaches (data/serving/kv_offload.toml)"
                },
            );
            v
        }
    };
    let disk = disk_gb.map(|gb| {
        let gbps = assumed.or(
            disk_gbps,
            "kv_offload/disk_gb_per_s",
            d.default.disk_gb_per_s,
            "a PCIe Gen4 datacenter NVMe drive's sequential read (data/serving/kv_offload.toml)",
        );
        Tier { capacity: Bytes(gb * 1e9), bandwidth: BytesPerSecond(gbps * 1e9) }
    });
    let swap_preempted = assumed.or(
        body.swap_preempted,
        "kv_offload/swap_preempted",
        true,
        "a preempted sequence's KV goes to host memory and back (vLLM's offloading connector, TensorRT-LLM's host cache) instead of being recomputed",
    );
    Ok(KvOffload {
        host: Tier { capacity: Bytes(host_gb * 1e9), bandwidth: BytesPerSecond(host_bandwidth * 1e9) },
        disk,
        swap_preempted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn the_defaults_parse_and_name_every_catalog_host_link() {
        let d = defaults();
        assert!(d.copy_efficiency > 0.0 && d.copy_efficiency <= 1.0);
        let catalog = Catalog::embedded().unwrap();
        for device in catalog.devices() {
            if let Some(link) = &device.record.host_link {
                assert!(d.host_link.iter().any(|l| &l.id == link), "{}: {link}", device.record.id);
            }
        }
        assert!(d.host_link.iter().any(|l| l.id == d.default.host_link));
    }

    #[test]
    fn host_bandwidth_by_hand() {
        // H100 SXM: PCIe 5.0 x16 = 63 GB/s x 0.85 = 53.55 GB/s; GH200: NVLink-C2C 450 x 0.85.
        let catalog = Catalog::embedded().unwrap();
        for (id, want) in [("nvidia-h100-sxm-80gb", 53.55e9), ("nvidia-gh200-144gb", 382.5e9)] {
            let device = ResolvedDevice::from(catalog.device(id).unwrap());
            let mut assumed = Assumptions::default();
            let body = KvOffloadBody { host_gb: Some(100.0), ..KvOffloadBody::default() };
            let o = parse(&body, &device, "/kv_offload", &mut assumed).unwrap();
            assert!((o.host.bandwidth.0 - want).abs() < 1.0, "{id}: {}", o.host.bandwidth.0);
            assert_eq!(o.host.capacity.0, 100e9);
            assert!(o.disk.is_none() && o.swap_preempted);
            assert!(assumed.0.iter().any(|a| a.field == "kv_offload/host_gb_per_s"));
        }
    }
}

#[cfg(test)]
mod replay_tests {
    use crate::catalog::Catalog;
    use crate::engine::serving::{ServingEstimate, simulate};
    use crate::scenario::serving::{ServingRequest, ServingScenario};

    fn replay(body: serde_json::Value) -> (ServingScenario, ServingEstimate) {
        let catalog = Catalog::embedded().unwrap();
        let request: ServingRequest = serde_json::from_value(body).unwrap();
        let scenario = ServingScenario::parse(&catalog, &request, "").unwrap();
        let e = simulate(&scenario.inference.input(), &scenario.workload);
        (scenario, e)
    }

    fn body(hardware: &str, workload: serde_json::Value, offload: Option<serde_json::Value>) -> serde_json::Value {
        let mut b =
            serde_json::json!({"model": "llama-3.1-8b", "hardware": hardware, "engine": "vllm", "workload": workload});
        if let Some(o) = offload {
            b["kv_offload"] = o;
        }
        b
    }

    /// One request whose 4,096-token prefix is found in host memory: its TTFT is that of the
    /// same request with the prefix in device memory plus the copy, 4,096 x 131,072 bytes over
    /// 63 GB/s x 0.85 = 10.03 ms.
    #[test]
    fn a_host_hit_costs_its_copy_by_hand() {
        let workload = |extra: serde_json::Value| {
            let mut w = serde_json::json!({"input_tokens": 8192, "output_tokens": 8, "requests": 1});
            w.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            w
        };
        let (_, device) =
            replay(body("nvidia-h100-sxm-80gb", workload(serde_json::json!({"prefix_cache_hit_rate": 0.5})), None));
        // 5,000 distinct prefixes of 4,096 tokens: 20.5 M tokens, far beyond device memory, all
        // within 3 TB of host memory; request 0 meets the host tier (its Weyl point 0.618 lies
        // above the device share).
        let (_, host) = replay(body(
            "nvidia-h100-sxm-80gb",
            workload(serde_json::json!({"prefix": {"tokens": 4096, "distinct": 5000}})),
            Some(serde_json::json!({"host_gb": 3000})),
        ));
        let tiers = host.tiers.unwrap();
        let copy = 4096.0 * 131_072.0 / (63e9 * 0.85);
        assert!((tiers.host_transfer_s - copy).abs() < 1e-12, "{}", tiers.host_transfer_s);
        assert_eq!(tiers.kv_bytes_per_token, 131_072.0);
        assert_eq!(tiers.capacity.host, (3000e9 / 131_072.0f64).floor());
        let shares = tiers.shares.unwrap();
        assert!(shares.device < 0.618 && shares.device + shares.host > 0.618, "{shares:?}");
        assert_eq!(shares.miss, 0.0);
        assert!(
            (host.ttft.mean - device.ttft.mean - copy).abs() < 1e-9,
            "{} {} {copy}",
            host.ttft.mean,
            device.ttft.mean
        );
        assert_eq!((tiers.loads, tiers.load_s), (1, copy));
    }

    /// Conversations whose history outgrows device memory: without a host tier most prefixes
    /// are recomputed; with one they are copied back, and TTFT falls.
    #[test]
    fn ttft_falls_with_a_host_tier_when_the_working_set_exceeds_device_kv() {
        let workload = serde_json::json!({"input_tokens": 8000, "output_tokens": 64, "requests_per_s": 3.0, "requests": 200, "prefix": {"tokens": 7000, "distinct": 200}});
        let (_, without) = replay(body("nvidia-h100-sxm-80gb", workload.clone(), None));
        let (_, with) = replay(body("nvidia-h100-sxm-80gb", workload, Some(serde_json::json!({"host_gb": 500}))));
        let (a, b) = (without.tiers.unwrap(), with.tiers.unwrap());
        // 1.4 M working-set tokens against about 0.4 M in device memory.
        assert!(a.shares.unwrap().miss > 0.5, "{:?}", a.shares);
        assert_eq!(b.shares.unwrap().miss, 0.0);
        assert_eq!(a.capacity.device, b.capacity.device);
        assert!(with.ttft.mean < 0.7 * without.ttft.mean, "{} vs {}", with.ttft.mean, without.ttft.mean);
    }

    /// Long generations on a small device run out of KV blocks: with a host tier the preempted
    /// sequences swap out and back instead of being recomputed, and the run ends sooner.
    #[test]
    fn preempted_sequences_swap_to_host_instead_of_recomputing() {
        let workload = serde_json::json!({"input_tokens": 2000, "output_tokens": 2000, "requests": 120});
        let (_, recompute) = replay(body("nvidia-l4", workload.clone(), None));
        let (_, swap) = replay(body("nvidia-l4", workload, Some(serde_json::json!({"host_gb": 100}))));
        assert!(recompute.preemptions > 0, "{}", recompute.preemptions);
        assert_eq!(recompute.swaps, 0);
        assert!(swap.swaps > 0 && swap.swaps <= swap.preemptions, "{} of {}", swap.swaps, swap.preemptions);
        assert_eq!(swap.completed, 120);
        assert!(swap.makespan < recompute.makespan, "{} vs {}", swap.makespan, recompute.makespan);
    }
}
