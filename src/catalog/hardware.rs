//! Device records: the schema of `data/hardware/*.toml` and its conversion into engine types.
//!
//! Figures keep the units vendors quote (GiB capacities, decimal GB/s, dense TFLOP/s) with the unit in the
//! field name; conversion to bytes and FLOP/s happens once, in [`DeviceRecord::to_engine`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::device::{ComputeType, Device, DeviceKind};
use crate::engine::units::Bytes;

/// Device kind on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Discrete or datacenter GPU.
    Gpu,
    /// Google TPU.
    Tpu,
    /// Other accelerator.
    Accelerator,
    /// Apple M-series SoC.
    AppleSoc,
    /// CPU.
    Cpu,
}

impl Kind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gpu => "gpu",
            Kind::Tpu => "tpu",
            Kind::Accelerator => "accelerator",
            Kind::AppleSoc => "apple-soc",
            Kind::Cpu => "cpu",
        }
    }
}

impl From<Kind> for DeviceKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Gpu => DeviceKind::Gpu,
            Kind::Tpu => DeviceKind::Tpu,
            Kind::Accelerator => DeviceKind::Accelerator,
            Kind::AppleSoc => DeviceKind::AppleSoc,
            Kind::Cpu => DeviceKind::Cpu,
        }
    }
}

/// Dense (no structured sparsity) peak throughput per data type, TFLOP/s (int8: TOPS). A missing
/// type is not supported by the hardware.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DenseTflops {
    /// FP32 on vector units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.001, maximum = 1000000)]
    pub fp32: Option<f64>,
    /// TF32 tensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.001, maximum = 1000000)]
    pub tf32: Option<f64>,
    /// FP16 tensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.001, maximum = 1000000)]
    pub fp16: Option<f64>,
    /// BF16 tensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.001, maximum = 1000000)]
    pub bf16: Option<f64>,
    /// FP8 tensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.001, maximum = 1000000)]
    pub fp8: Option<f64>,
    /// INT8 tensor, TOPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.001, maximum = 1000000)]
    pub int8: Option<f64>,
    /// FP4 tensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.001, maximum = 1000000)]
    pub fp4: Option<f64>,
}

impl DenseTflops {
    fn entries(&self) -> [(ComputeType, &'static str, Option<f64>); 7] {
        [
            (ComputeType::Fp32, "fp32", self.fp32),
            (ComputeType::Tf32, "tf32", self.tf32),
            (ComputeType::Fp16, "fp16", self.fp16),
            (ComputeType::Bf16, "bf16", self.bf16),
            (ComputeType::Fp8, "fp8", self.fp8),
            (ComputeType::Int8, "int8", self.int8),
            (ComputeType::Fp4, "fp4", self.fp4),
        ]
    }
}

/// Device-to-device link.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Interconnect {
    /// Link family: nvlink, infinity-fabric, ici, pcie, ethernet, ultrafusion, nvlink-c2c.
    #[schema(example = "nvlink")]
    pub kind: String,
    /// Marketing name.
    #[schema(example = "NVLink 4 via NVSwitch")]
    pub name: String,
    /// Per-device bandwidth, both directions added, decimal GB/s.
    #[schema(example = 900.0, minimum = 0.1, maximum = 1000000)]
    pub bandwidth_gb_per_s_bidirectional: f64,
    /// How many devices the link joins directly (2 for NVLink bridges on PCIe cards); absent
    /// when every device of a node is on the fabric (NVSwitch). Beyond it, traffic goes over
    /// PCIe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 2, maximum = 100000)]
    pub group_size: Option<u32>,
    /// Devices one node joins on this fabric (an HGX board: 8; a GB200 NVL72 rack: 72); traffic
    /// among more devices crosses the request's `network`. Absent when unknown: a layout is then
    /// taken to stay within one node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 100000)]
    pub node_devices: Option<u32>,
    /// Rated (maximum) power of one node of `node_devices` devices with its host CPUs, memory,
    /// NICs and fans, watts, from the system's datasheet (DGX-1: 3,500 W); what it exceeds the
    /// devices' TDP by is the host power training energy counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10000000)]
    pub node_power_w: Option<f64>,
}

/// How long a rental is committed for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Term {
    /// Pay as you go.
    #[default]
    OnDemand,
    /// Interruptible capacity at a market price.
    Spot,
    /// A one-year commitment, price per hour of it.
    #[serde(rename = "1-year")]
    OneYear,
    /// A three-year commitment, price per hour of it.
    #[serde(rename = "3-year")]
    ThreeYear,
}

impl Term {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Term::OnDemand => "on-demand",
            Term::Spot => "spot",
            Term::OneYear => "1-year",
            Term::ThreeYear => "3-year",
        }
    }
}

/// What kind of cloud rents a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// AWS, Google Cloud, Azure, Oracle.
    Hyperscaler,
    /// A cloud built for accelerators (Lambda, CoreWeave, RunPod, ...).
    Specialised,
}

/// A published rental price for one device.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// US dollars per device-hour (an instance's price divided by its devices).
    #[serde(alias = "usd_per_device_hour")]
    #[schema(minimum = 0.0001, maximum = 10000)]
    pub usd_per_hour: f64,
    /// Who charges it (lowercase slug: `aws`, `gcp`, `lambda`, ...).
    pub provider: String,
    /// `hyperscaler` (AWS, Google Cloud, Azure, Oracle) or `specialised` (GPU clouds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_kind: Option<ProviderKind>,
    /// Commitment (default on-demand).
    #[serde(default)]
    pub term: Term,
    /// The instance or product rented, when the source names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offering: Option<String>,
    /// Where it was read.
    pub source: String,
    /// When it was read or stated (YYYY-MM-DD).
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub checked_on: String,
    /// Caveats: how an instance price was divided, what the source left unclear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Which kind of purchase price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PurchaseKind {
    /// The launch list price.
    Msrp,
    /// A dated retail, reseller or reported market price.
    Street,
}

impl PurchaseKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseKind::Msrp => "msrp",
            PurchaseKind::Street => "street",
        }
    }
}

/// A published purchase price for one device (for a system-on-chip, the cheapest machine
/// sold with it).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Purchase {
    /// US dollars for one device, or for the machine named in `product`.
    #[schema(minimum = 1, maximum = 10000000)]
    pub usd: f64,
    /// Launch list price or a dated market price.
    pub kind: PurchaseKind,
    /// What is bought: a card, or a whole machine for a system-on-chip.
    pub product: String,
    /// Where it was read.
    pub source: String,
    /// The date the price applies to (YYYY-MM-DD).
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub checked_on: String,
    /// Caveats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// The same product with another memory size: a catalog device of its own, inheriting every
/// other figure from the record it is declared in.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Catalog id of the variant.
    #[schema(example = "apple-m2-16gb")]
    pub id: String,
    /// Memory of the variant, GiB.
    #[schema(minimum = 0.01, maximum = 1000000)]
    pub memory_gib: f64,
    /// Bandwidth, when it differs from the base record's, decimal GB/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bandwidth_gb_per_s: Option<f64>,
    /// Power, when it differs from the base record's, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tdp_w: Option<f64>,
    /// Extra names; `<alias>-<N>gb` for each base alias is added automatically.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Where the memory configuration is documented.
    pub source: String,
}

/// CPU specifics, from which CPU peaks are derived.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cpu {
    /// Physical cores.
    pub cores: u32,
    /// Hardware threads.
    pub threads: u32,
    /// Base clock, GHz.
    pub base_clock_ghz: f64,
    /// Maximum boost clock, GHz.
    pub boost_clock_ghz: f64,
    /// SIMD and matrix extensions.
    pub simd: Vec<String>,
    /// FP32 FLOP per cycle per core at full vector width.
    pub fp32_flops_per_cycle_per_core: f64,
    /// Memory channels.
    pub memory_channels: u32,
    /// Memory transfer rate, MT/s.
    pub memory_speed_mt_per_s: u32,
    /// How the peaks were derived.
    pub peak_derivation: String,
}

/// A catalog device, exactly as stored in `data/hardware/`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRecord {
    /// Catalog id, `vendor-model-variant-memory`.
    #[schema(example = "nvidia-h100-sxm-80gb")]
    pub id: String,
    /// Display name.
    #[schema(example = "NVIDIA H100 SXM5 80GB")]
    pub name: String,
    /// Vendor slug.
    #[schema(example = "nvidia")]
    pub vendor: String,
    /// Device kind.
    pub kind: Kind,
    /// Microarchitecture.
    #[schema(example = "Hopper")]
    pub architecture: String,
    /// Year of release.
    pub release_year: u16,
    /// Other names that resolve to this device.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Memory per device, GiB. Vendors write "80 GB", but memory chips come in binary sizes
    /// (an 80 GB H100 or A100 shows about 80 GiB in nvidia-smi), so capacities are binary.
    #[schema(example = 80.0, minimum = 0.01, maximum = 1000000)]
    pub memory_gib: f64,
    /// Memory technology.
    pub memory_type: String,
    /// Peak memory bandwidth, decimal GB/s.
    #[schema(example = 3350.0, minimum = 0.1, maximum = 1000000)]
    pub memory_bandwidth_gb_per_s: f64,
    /// Memory shared with the host.
    pub unified_memory: bool,
    /// Thermal design power, watts; absent when the vendor publishes none (Cloud TPUs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.1, maximum = 100000)]
    pub tdp_w: Option<f64>,
    /// Host link, e.g. `pcie-gen5-x16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_link: Option<String>,
    /// Fields not yet confirmed against a primary source.
    pub unverified: Vec<String>,
    /// Where each figure comes from.
    pub sources: Vec<String>,
    /// Caveats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Dense peaks.
    #[serde(deserialize_with = "crate::wire::object")]
    pub dense_tflops: DenseTflops,
    /// Device-to-device link.
    #[serde(default, deserialize_with = "crate::wire::optional_object", skip_serializing_if = "Option::is_none")]
    pub interconnect: Option<Interconnect>,
    /// Published rental prices (the catalog's come from `data/prices/rental.toml`).
    #[serde(default, deserialize_with = "crate::wire::objects", skip_serializing_if = "Vec::is_empty")]
    pub price: Vec<Price>,
    /// Published purchase prices (the catalog's come from `data/prices/purchase.toml`).
    #[serde(default, deserialize_with = "crate::wire::objects", skip_serializing_if = "Vec::is_empty")]
    pub purchase: Vec<Purchase>,
    /// Memory variants, expanded into devices of their own when the catalog loads.
    #[serde(default, deserialize_with = "crate::wire::objects", skip_serializing_if = "Vec::is_empty")]
    pub variant: Vec<Variant>,
    /// CPU details (CPUs only).
    #[serde(default, deserialize_with = "crate::wire::optional_object", skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
}

fn within(problems: &mut Vec<String>, field: &str, value: f64, min: f64, max: f64) {
    if !(value.is_finite() && value >= min && value <= max) {
        problems.push(format!("{field} must be a number from {min} to {max}, got {value}"));
    }
}

impl DeviceRecord {
    /// The lowest published on-demand price per device-hour, if any.
    pub fn lowest_usd_per_hour(&self) -> Option<f64> {
        self.price.iter().filter(|p| p.term == Term::OnDemand).map(|p| p.usd_per_hour).reduce(f64::min)
    }

    /// The record of each memory variant: this record with the variant's memory, id and aliases,
    /// and no prices (prices are attached by id).
    pub fn variants(&self) -> Vec<DeviceRecord> {
        let gb = |gib: f64| format!("{}gb", gib.round());
        self.variant
            .iter()
            .map(|v| {
                let mut aliases: Vec<String> =
                    self.aliases.iter().map(|a| format!("{a}-{}", gb(v.memory_gib))).collect();
                aliases.extend(v.aliases.iter().cloned());
                aliases.retain(|a| a != &v.id);
                let mut sources = self.sources.clone();
                sources.push(format!("{} (memory configuration)", v.source));
                DeviceRecord {
                    id: v.id.clone(),
                    name: variant_name(&self.name, v.memory_gib),
                    aliases,
                    memory_gib: v.memory_gib,
                    memory_bandwidth_gb_per_s: v.memory_bandwidth_gb_per_s.unwrap_or(self.memory_bandwidth_gb_per_s),
                    tdp_w: v.tdp_w.or(self.tdp_w),
                    sources,
                    price: Vec::new(),
                    purchase: Vec::new(),
                    variant: Vec::new(),
                    ..self.clone()
                }
            })
            .collect()
    }

    /// Validates the record and converts it into the engine's [`Device`].
    pub fn to_engine(&self) -> Result<Device, Vec<String>> {
        let mut problems = Vec::new();
        // Lower bounds far below any real device keep every derived time finite.
        within(&mut problems, "memory_gib", self.memory_gib, 0.01, 1e6);
        within(&mut problems, "memory_bandwidth_gb_per_s", self.memory_bandwidth_gb_per_s, 0.1, 1e6);
        if let Some(tdp) = self.tdp_w {
            within(&mut problems, "tdp_w", tdp, 0.1, 1e5);
        }
        if let Some(node_w) = self.interconnect.as_ref().and_then(|l| l.node_power_w) {
            within(&mut problems, "interconnect.node_power_w", node_w, 1.0, 1e7);
        }
        let mut peaks = Vec::new();
        for (ty, name, value) in self.dense_tflops.entries() {
            if let Some(tflops) = value {
                within(&mut problems, &format!("dense_tflops.{name}"), tflops, 0.001, 1e6);
                peaks.push((ty, tflops * 1e12));
            }
        }
        if peaks.is_empty() {
            problems.push("dense_tflops must list at least one data type".into());
        }
        if self.sources.is_empty() {
            problems.push("sources must not be empty".into());
        }
        if let Some(link) = &self.interconnect {
            within(
                &mut problems,
                "interconnect.bandwidth_gb_per_s_bidirectional",
                link.bandwidth_gb_per_s_bidirectional,
                0.1,
                1e6,
            );
        }
        for price in &self.price {
            within(&mut problems, "price.usd_per_hour", price.usd_per_hour, 0.0001, 1e4);
            if !is_date(&price.checked_on) {
                problems.push(format!("price.checked_on must be YYYY-MM-DD, got {}", price.checked_on));
            }
        }
        for purchase in &self.purchase {
            within(&mut problems, "purchase.usd", purchase.usd, 1.0, 1e7);
            if !is_date(&purchase.checked_on) {
                problems.push(format!("purchase.checked_on must be YYYY-MM-DD, got {}", purchase.checked_on));
            }
        }
        for variant in &self.variant {
            within(&mut problems, "variant.memory_gib", variant.memory_gib, 0.01, 1e6);
        }
        match (self.kind, &self.cpu) {
            (Kind::Cpu, None) => problems.push("cpu table is required for kind = cpu".into()),
            (Kind::Cpu, Some(_)) | (_, None) => {}
            (_, Some(_)) => problems.push("cpu table is only allowed for kind = cpu".into()),
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Device {
            id: self.id.clone(),
            kind: self.kind.into(),
            memory: Bytes(self.memory_gib * f64::from(1u32 << 30)),
            memory_bandwidth_bytes_per_s: self.memory_bandwidth_gb_per_s * 1e9,
            dense_peak_flops_per_s: peaks,
            unified_memory: self.unified_memory,
            interconnect: self.interconnect.as_ref().map(|link| crate::engine::device::Interconnect {
                bidirectional_bytes_per_s: link.bandwidth_gb_per_s_bidirectional * 1e9,
                pcie: link.kind == "pcie",
                group: link.group_size,
                node: link.node_devices,
                node_power_w: link.node_power_w,
            }),
            tdp_w: self.tdp_w,
        })
    }
}

/// `name` with its memory size (a trailing `NNGB` word) replaced by `gib`, or appended.
fn variant_name(name: &str, gib: f64) -> String {
    let base = match name.rsplit_once(' ') {
        Some((head, last)) if last.strip_suffix("GB").is_some_and(|n| n.parse::<f64>().is_ok()) => head,
        _ => name,
    };
    format!("{base} {}GB", gib.round())
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())))
}
