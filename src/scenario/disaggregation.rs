//! Disaggregated prefill and decode in a request (`disaggregation` of a serving request or a
//! check): two pools, each a full deployment (the request's model, formats, engine and cost,
//! with the pool's own device, count and layout), checked by the same rules as any deployment,
//! errors pointed under `/disaggregation/prefill/...` and `/disaggregation/decode/...`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::deployment::{Deployment, DeploymentBody};
use super::inference::{InferenceScenario, ParallelismBody};
use super::resolve::{self, HardwareRef, ResolvedNetwork};
use super::{Assumptions, Error};
use crate::catalog::Catalog;
use crate::engine::inference::{self as static_estimate, Batch, InferenceInput};
use crate::engine::serving::disaggregated::{Pools, kv_link};

/// One pool of a disaggregated deployment: what differs from the request's deployment.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hardware": "nvidia-h100-sxm-80gb", "devices": 2, "parallelism": {"tensor": 1}}))]
pub struct PoolBody {
    /// Device id or inline record of this pool (default: the request's `hardware`); the pools
    /// may differ (H100 prefill, H200 decode).
    #[schema(value_type = Option<HardwareRef>)]
    pub hardware: Option<serde_json::Value>,
    /// Devices of this pool (default: the product of its parallel degrees); devices beyond one
    /// replica are replicas of the pool. Without `parallelism`, hwcost splits the model over
    /// them the way the engine would.
    pub devices: Option<u32>,
    /// Parallel degrees of one replica of this pool (`data`: its replicas).
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub parallelism: Option<ParallelismBody>,
}

/// Disaggregated prefill and decode (DistServe, Splitwise, Mooncake, NVIDIA Dynamo, llm-d,
/// SGLang PD): prompts run on the prefill pool, each request's KV cache moves to the decode
/// pool, which generates the rest. The request's model, weights, KV format, engine and cost
/// apply to both pools; its own `devices` and `parallelism` are not used. Without `prefill`,
/// the decode pool alone (an unlimited prefill side, as published decode-phase measurements
/// run it): each request arrives prefilled at its workload arrival time plus its KV transfer
/// over `network`, with no prefill queue or prefill time, so the answer is the decode pool's
/// own capacity.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"prefill": {"devices": 1}, "decode": {"devices": 1}, "network": "infiniband-ndr"}))]
pub struct DisaggregationBody {
    /// The prefill pool. Omit it (or give null) for an unlimited prefill side: a decode-only
    /// pool fed prefilled requests at the workload's arrival times; the KV transfer over
    /// `network` is still counted (in TTFT), prefill queueing and prefill time are not, and
    /// per-device figures count the decode devices only.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub prefill: Option<PoolBody>,
    /// The decode pool.
    #[serde(deserialize_with = "crate::wire::object")]
    pub decode: PoolBody,
    /// The network the KV cache crosses between the pools (`GET /v1/networks`; default: the
    /// request's `network`, else `infiniband-ndr`). Pools of one device inside one NVLink
    /// domain (`interconnect.node_devices` devices in all) use the fabric instead.
    #[schema(example = "infiniband-ndr")]
    pub network: Option<String>,
}

/// A parsed disaggregated deployment.
#[derive(Debug, Clone)]
pub struct DisaggregatedScenario {
    /// The prefill pool (its `parallelism.data`: its replicas); `None`: unlimited prefill.
    pub prefill: Option<InferenceScenario>,
    /// The decode pool.
    pub decode: InferenceScenario,
    /// The network between the pools.
    pub network: Option<ResolvedNetwork>,
}

impl DisaggregatedScenario {
    /// The engine's view, with explanations.
    pub fn pools(&self) -> Pools<'_> {
        let (prefill, decode) = (self.prefill.as_ref().map(InferenceScenario::input), self.decode.input());
        let link = kv_link(prefill.as_ref(), &decode, self.network.as_ref().map(|n| &n.engine));
        Pools { prefill, decode, link }
    }

    /// Devices of both pools (an unlimited prefill side counts none).
    pub fn devices(&self) -> u64 {
        self.prefill.as_ref().map_or(0, |p| p.parallelism.devices()) + self.decode.parallelism.devices()
    }

    /// USD per hour of both pools' devices (null when either pool's device has no price; an
    /// unlimited prefill side costs nothing here).
    pub fn usd_per_hour(&self) -> Option<f64> {
        let pool = |s: &InferenceScenario| s.cost.usd_per_device_hour().map(|usd| usd * s.parallelism.devices() as f64);
        let prefill = match &self.prefill {
            Some(p) => pool(p)?,
            None => 0.0,
        };
        Some(prefill + pool(&self.decode)?)
    }

    /// Parses `body` (at `{prefix}/disaggregation`) against the request's deployment `base`;
    /// `like` is the parsed base scenario whose engine profile (scheduler overrides applied)
    /// both pools run; `lengths` the workload's longest request (that must fit each pool) and
    /// mean lengths.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        catalog: &Catalog,
        base: &DeploymentBody,
        body: &DisaggregationBody,
        prefix: &str,
        like: &InferenceScenario,
        longest: (u64, u64),
        mean: (u64, u64),
        assumed: &mut Assumptions,
    ) -> Result<Self, Error> {
        let at = format!("{prefix}/disaggregation");
        let network_id = body.network.as_deref().or(base.network.as_deref());
        let network = resolve::network(catalog, network_id, &format!("{at}/network"))?;
        if network_id.is_none()
            && let Some(n) = &network
        {
            assumed.push(
                "disaggregation/network",
                n.id.as_str(),
                "the default network between the pools (unless both sit in one NVLink domain)",
            );
        }
        let pool = |name: &str, p: &PoolBody| -> Result<InferenceScenario, Error> {
            let pointer = format!("{at}/{name}");
            if p.devices == Some(0) {
                return Err(Error::unprocessable(format!("{pointer}/devices"), "a pool needs at least 1 device"));
            }
            let body = DeploymentBody {
                hardware: p.hardware.clone().unwrap_or_else(|| base.hardware.clone()),
                devices: p.devices,
                parallelism: p.parallelism.clone(),
                ..base.clone()
            };
            let deployment = Deployment::parse(catalog, &body, &pointer, super::range::Checks::default())?;
            let mut scenario = InferenceScenario::from_deployment(
                deployment,
                Batch::Fixed(1),
                mean.0,
                mean.1,
                Assumptions::default(),
            )?;
            scenario.profile = like.profile.clone();
            // The longest request must fit one replica of the pool (its prompt on the prefill
            // pool, prompt and output on the decode pool).
            if !holds_one_request(&scenario, name == "prefill", longest) {
                let (input_tokens, output_tokens) = if name == "prefill" { (longest.0, 1) } else { longest };
                return Err(Error::unprocessable(
                    format!("{pointer}/devices"),
                    format!(
                        "one {name} replica ({} devices of {}) cannot hold the weights and one request of {} tokens; give the pool more devices per replica or a smaller format",
                        scenario.parallelism.devices() / u64::from(scenario.parallelism.data.max(1)),
                        scenario.device.device.id,
                        input_tokens + output_tokens
                    ),
                ));
            }
            Ok(scenario)
        };
        let prefill = body.prefill.as_ref().map(|p| pool("prefill", p)).transpose()?;
        let decode = pool("decode", &body.decode)?;
        let pools =
            [("prefill", body.prefill.as_ref().zip(prefill.as_ref())), ("decode", Some((&body.decode, &decode)))];
        for (name, (b, s)) in pools.into_iter().filter_map(|(name, p)| Some((name, p?))) {
            if b.hardware.is_none() {
                assumed.push(
                    format!("disaggregation/{name}/hardware"),
                    s.device.device.id.as_str(),
                    "the request's hardware",
                );
            }
        }
        if prefill.is_none() {
            assumed.push(
                "disaggregation/prefill",
                "unlimited",
                "no prefill pool: requests reach the decode pool prefilled at their arrival plus the KV transfer",
            );
        }
        Ok(Self { prefill, decode, network })
    }
}

/// Whether one replica of a pool holds the weights and the longest request (`longest`: its
/// prompt and output tokens): a prefill pool holds the prompt, a decode pool the whole request.
pub fn holds_one_request(pool: &InferenceScenario, prefill: bool, longest: (u64, u64)) -> bool {
    let (input_tokens, output_tokens) = if prefill { (longest.0, 1) } else { longest };
    static_estimate::estimate(&InferenceInput {
        batch: Batch::Fixed(1),
        input_tokens,
        output_tokens,
        explain: false,
        ..pool.input()
    })
    .memory
    .fits
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::catalog::Catalog;
    use crate::engine::serving::disaggregated::{self, DisaggregatedEstimate};
    use crate::engine::serving::{ServingEstimate, simulate};
    use crate::scenario::serving::{ServingRequest, ServingScenario};

    fn scenario(body: Value) -> ServingScenario {
        let catalog = Catalog::embedded().unwrap();
        let request: ServingRequest = serde_json::from_value(body).unwrap();
        ServingScenario::parse(&catalog, &request, "").unwrap()
    }

    fn disaggregated(body: Value) -> DisaggregatedEstimate {
        let s = scenario(body);
        let d = s.disaggregation.as_ref().expect("disaggregated");
        disaggregated::simulate(&d.pools(), &s.workload)
    }

    fn plain(body: Value) -> ServingEstimate {
        let s = scenario(body);
        simulate(&s.inference.input(), &s.workload)
    }

    fn body(workload: Value, disaggregation: Value) -> Value {
        json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "bf16", "engine": "vllm",
            "workload": workload, "disaggregation": disaggregation})
    }

    /// By hand: Llama 3.1 8B holds 32 layers x 8 KV heads x 128 dims x 2 (K and V) = 65,536
    /// elements per token, 131,072 bytes in bf16; a 1,000-token prompt moves 131.072 MB. Over
    /// InfiniBand NDR (400 Gb/s x 0.9 = 45 GB/s per device, 2 us) between an H100 and an H200
    /// pool of one device each: 131.072e6 / 45e9 + 2e-6 = 2.914711 ms.
    #[test]
    fn the_kv_transfer_is_bytes_over_bandwidth_plus_latency() {
        let e = disaggregated(body(
            json!({"input_tokens": 1000, "output_tokens": 50, "requests": 20}),
            json!({"prefill": {"devices": 1}, "decode": {"hardware": "nvidia-h200-sxm-141gb", "devices": 1}, "network": "infiniband-ndr"}),
        ));
        assert_eq!(e.kv_transfer_bytes_per_request, 131_072_000.0);
        assert!(!e.link.on_fabric);
        assert_eq!(e.link.lanes, 1);
        assert!((e.kv_transfer_s.mean - 2.914_711e-3).abs() < 1e-9, "{}", e.kv_transfer_s.mean);
        // The same device in one 8-GPU node: NVLink (900 GB/s both ways, 450 one way), no
        // latency: 131.072e6 / 450e9 = 0.291271 ms.
        let e = disaggregated(body(
            json!({"input_tokens": 1000, "output_tokens": 50, "requests": 20}),
            json!({"prefill": {"devices": 1}, "decode": {"devices": 1}}),
        ));
        assert!(e.link.on_fabric);
        assert!((e.kv_transfer_s.mean - 131.072e6 / 450e9).abs() < 1e-9, "{}", e.kv_transfer_s.mean);
    }

    #[test]
    fn ttft_is_at_least_the_prefill_alone_plus_the_transfer() {
        let workload = json!({"input_tokens": 2000, "output_tokens": 200, "requests_per_s": 4, "requests": 200});
        let pools = json!({"prefill": {"devices": 1}, "decode": {"hardware": "nvidia-h200-sxm-141gb", "devices": 1}, "network": "infiniband-ndr"});
        let e = disaggregated(body(workload.clone(), pools));
        let prefill_only = plain(
            json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "bf16",
            "engine": "vllm", "workload": {"input_tokens": 2000, "output_tokens": 1, "requests_per_s": 4, "requests": 200}}),
        );
        assert_eq!(e.serving.completed, 200);
        assert!((e.prefill.as_ref().unwrap().mean_latency_s - prefill_only.ttft.mean).abs() < 1e-9);
        assert!(e.serving.ttft.mean >= prefill_only.ttft.mean + e.kv_transfer_s.mean - 1e-12);
        assert!(e.serving.ttft.p50 >= prefill_only.ttft.p50 + e.kv_transfer_s.p50 * 0.999);
        // Every output token counted once (the first made by the prefill pool).
        let tokens = e.serving.output_tokens_per_s * e.serving.makespan;
        assert!((tokens - 200.0 * 200.0).abs() < 1e-6 * tokens, "{tokens}");
        // The decode share of the latency closes the sum.
        let sum = e.prefill.as_ref().unwrap().mean_latency_s + e.kv_transfer_s.mean + e.decode.mean_latency_s;
        assert!((sum - e.serving.e2e.mean).abs() < 1e-9);
    }

    #[test]
    fn a_slow_network_adds_its_transfer_to_ttft() {
        let workload = json!({"input_tokens": 2000, "output_tokens": 100, "requests_per_s": 2, "requests": 100});
        let run = |network: &str| {
            disaggregated(body(
                workload.clone(),
                json!({"prefill": {"devices": 1}, "decode": {"hardware": "nvidia-h200-sxm-141gb", "devices": 1}, "network": network}),
            ))
        };
        let (fast, slow) = (run("infiniband-ndr"), run("ethernet-25g"));
        // By hand: 2,000 x 131,072 B = 262.144 MB; 25 Gb/s x 0.7 = 2.1875 GB/s, 25 us.
        assert!((slow.kv_transfer_s.mean - (262.144e6 / 2.1875e9 + 25e-6)).abs() < 1e-9);
        let grew = slow.serving.ttft.mean - fast.serving.ttft.mean;
        let moved = slow.kv_transfer_s.mean - fast.kv_transfer_s.mean;
        assert!(grew >= 0.9 * moved && grew <= 1.5 * moved, "ttft grew {grew} s for a transfer {moved} s longer");
    }

    #[test]
    fn the_weaker_pool_bounds_the_capacity() {
        // Long prompts, long outputs: one prefill device cannot feed four decode devices; more
        // prefill devices raise the capacity until the decode pool binds.
        let capacity = |prefill: u32| {
            let s = scenario(body(
                json!({"input_tokens": 8000, "output_tokens": 500}),
                json!({"prefill": {"devices": prefill}, "decode": {"devices": 4}}),
            ));
            let d = s.disaggregation.as_ref().unwrap();
            let pools = d.pools();
            let c = disaggregated::capacity(&pools, &s.workload, None);
            (c.requests_per_s, disaggregated::saturated(&pools, &s.workload))
        };
        let (one, two, four, eight) = (capacity(1), capacity(2), capacity(4), capacity(8));
        assert!(two.0 > 1.5 * one.0, "1P4D {one:?}, 2P4D {two:?}");
        assert!(eight.0 <= four.0 * 1.1 && eight.0 >= four.0 * 0.9, "4P4D {four:?}, 8P4D {eight:?}");
        assert!(four.0 >= two.0 * 0.99, "2P4D {two:?}, 4P4D {four:?}");
        for c in [one, two, four, eight] {
            assert!(c.0 <= c.1 * crate::engine::serving::capacity::STABLE_SHARE + 1e-9);
        }
    }

    /// By hand: no prefill pool, a decode pool of one 2 x H100 replica (tensor 2) over
    /// InfiniBand NDR: each 1,000-token prompt's 131.072 MB of KV cache crosses 2 lanes of
    /// 45 GB/s plus 2 us, 131.072e6 / 90e9 + 2e-6 = 1.458356 ms. One request alone reaches the
    /// idle decode pool then, prefilled, with its first token: TTFT is the transfer alone, and
    /// the devices counted are the decode pool's 2.
    #[test]
    fn a_decode_only_pool_takes_requests_prefilled_at_arrival_plus_the_transfer() {
        let e = disaggregated(body(
            json!({"input_tokens": 1000, "output_tokens": 50, "requests": 1}),
            json!({"decode": {"devices": 2, "parallelism": {"tensor": 2}}, "network": "infiniband-ndr"}),
        ));
        let transfer = 131.072e6 / 90e9 + 2e-6;
        assert!(e.prefill.is_none());
        assert_eq!(e.link.lanes, 2);
        assert!(!e.link.on_fabric);
        assert!((e.kv_transfer_s.mean - transfer).abs() < 1e-12, "{}", e.kv_transfer_s.mean);
        assert!((e.serving.ttft.mean - transfer).abs() < 1e-9, "{}", e.serving.ttft.mean);
        assert_eq!(e.prefill_devices_per_decode_device, 0.0);
        assert_eq!(e.decode.devices, 2);
        let per_device = e.serving.output_tokens_per_s / 2.0;
        assert!((e.output_tokens_per_s_per_device - per_device).abs() < 1e-9 * per_device);
        // The decode share closes the sum with no prefill time.
        assert!((e.kv_transfer_s.mean + e.decode.mean_latency_s - e.serving.e2e.mean).abs() < 1e-9);
    }

    #[test]
    fn an_unlimited_prefill_side_bounds_the_capacity_by_the_decode_pool_alone() {
        // The workload whose 1P4D capacity the prefill pool bounds (the_weaker_pool_bounds_the_capacity):
        // without a prefill pool the decode pool's own saturated throughput is the ceiling, at
        // least as high as with any real prefill pool.
        let run = |pools: Value| {
            let s = scenario(body(json!({"input_tokens": 8000, "output_tokens": 500}), pools));
            let p = s.disaggregation.as_ref().unwrap().pools();
            (disaggregated::capacity(&p, &s.workload, None).requests_per_s, disaggregated::saturated(&p, &s.workload))
        };
        let fed = run(json!({"prefill": {"devices": 1}, "decode": {"devices": 4}}));
        let alone = run(json!({"decode": {"devices": 4}}));
        let rich = run(json!({"prefill": {"devices": 8}, "decode": {"devices": 4}}));
        assert!(alone.0 > 1.5 * fed.0, "decode only {alone:?}, 1P4D {fed:?}");
        assert!(alone.1 >= rich.1 * 0.999, "decode only {alone:?}, 8P4D {rich:?}");
        assert!(alone.0 <= alone.1 * crate::engine::serving::capacity::STABLE_SHARE + 1e-9);
    }

    #[test]
    fn bad_pools_are_refused_with_their_pointer() {
        let catalog = Catalog::embedded().unwrap();
        for (pools, pointer) in [
            (json!({"prefill": {"devices": 0}, "decode": {"devices": 1}}), "/disaggregation/prefill/devices"),
            (
                json!({"prefill": {"devices": 1}, "decode": {"devices": 1}, "network": "carrier-pigeon"}),
                "/disaggregation/network",
            ),
            (
                json!({"prefill": {"devices": 3, "parallelism": {"tensor": 3}}, "decode": {"devices": 1}}),
                "/disaggregation/prefill/parallelism/tensor",
            ),
            (
                json!({"prefill": {"hardware": "nvidia-h200-sxm-141gb", "devices": 2, "parallelism": {"tensor": 2}}, "decode": {"hardware": "nvidia-l4", "devices": 1}}),
                "/disaggregation/decode/devices",
            ),
        ] {
            let mut b = body(json!({"input_tokens": 1000, "output_tokens": 100}), pools.clone());
            if pointer == "/disaggregation/decode/devices" {
                b["model"] = json!("llama-3.1-70b");
            }
            let request: ServingRequest = serde_json::from_value(b).unwrap();
            let error = ServingScenario::parse(&catalog, &request, "").unwrap_err();
            assert!(
                error.to_string().contains(pointer) || format!("{error:?}").contains(pointer),
                "{pools}: {error:?}"
            );
        }
    }
}
