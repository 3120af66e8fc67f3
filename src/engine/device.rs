//! A hardware device's capabilities, as the engine needs them.

use super::units::Bytes;

/// What sort of device it is; decides, for example, whether memory is shared with the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeviceKind {
    /// A discrete or datacenter GPU.
    Gpu,
    /// A Google TPU.
    Tpu,
    /// Another accelerator (Intel Gaudi).
    Accelerator,
    /// An Apple M-series system on chip.
    AppleSoc,
    /// A CPU.
    Cpu,
}

/// Data types a device may compute in, for its dense peak table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ComputeType {
    /// IEEE single precision on vector units.
    Fp32,
    /// NVIDIA TensorFloat-32 on tensor cores.
    Tf32,
    /// IEEE half precision.
    Fp16,
    /// bfloat16.
    Bf16,
    /// 8-bit floating point (E4M3/E5M2).
    Fp8,
    /// 8-bit integer (peak in TOPS).
    Int8,
    /// 4-bit floating point (NVFP4/MXFP4).
    Fp4,
}

/// The device-to-device link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interconnect {
    /// Per-device bandwidth, both directions added, bytes per second.
    pub bidirectional_bytes_per_s: f64,
    /// A PCIe path rather than a dedicated fabric.
    pub pcie: bool,
    /// Devices the fabric joins directly (NVLink bridges: 2); `None` for a whole node.
    pub group: Option<u32>,
    /// Devices one node joins on this fabric (an HGX board: 8; a GB200 NVL72 rack: 72); beyond
    /// them traffic crosses the network. `None` when unknown: a layout never leaves the node.
    pub node: Option<u32>,
    /// Rated power of one such node (devices, host CPUs, memory, NICs, fans), watts, when
    /// published (NVIDIA DGX datasheets).
    pub node_power_w: Option<f64>,
}

/// One device of a catalog entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Catalog id.
    pub id: String,
    /// Device kind.
    pub kind: DeviceKind,
    /// Memory capacity of one device.
    pub memory: Bytes,
    /// Peak memory bandwidth, bytes per second.
    pub memory_bandwidth_bytes_per_s: f64,
    /// Dense peak FLOP/s per compute type; a missing type is unsupported.
    pub dense_peak_flops_per_s: Vec<(ComputeType, f64)>,
    /// Memory shared with the host (Apple, DGX Spark, CPUs).
    pub unified_memory: bool,
    /// Device-to-device link, if the device has one.
    pub interconnect: Option<Interconnect>,
    /// Board power, watts, when published.
    pub tdp_w: Option<f64>,
}

impl Device {
    /// Dense peak for `ty`, if the catalog has one.
    pub fn peak(&self, ty: ComputeType) -> Option<f64> {
        self.dense_peak_flops_per_s.iter().find(|(t, _)| *t == ty).map(|(_, v)| *v)
    }

    /// The type GEMMs wanted in `wanted` actually run in: `wanted` if the device has a peak for
    /// it, else the nearest type it has (narrower floats widen: fp4 -> fp8 -> bf16 -> fp16 ->
    /// fp32; fp32 falls to the tensor types a TPU or Gaudi offers), else its first listed type.
    pub fn resolve(&self, wanted: ComputeType) -> ComputeType {
        use ComputeType::{Bf16, Fp4, Fp8, Fp16, Fp32, Int8, Tf32};
        let chain: &[ComputeType] = match wanted {
            Fp4 => &[Fp4, Fp8, Bf16, Fp16, Fp32],
            Fp8 => &[Fp8, Bf16, Fp16, Fp32],
            Int8 => &[Int8, Fp16, Bf16, Fp32],
            Bf16 => &[Bf16, Fp16, Fp32],
            Fp16 => &[Fp16, Bf16, Fp32],
            Tf32 => &[Tf32, Fp32, Bf16, Fp16],
            Fp32 => &[Fp32, Tf32, Bf16, Fp16],
        };
        chain
            .iter()
            .copied()
            .find(|t| self.peak(*t).is_some())
            .or_else(|| self.dense_peak_flops_per_s.first().map(|(t, _)| *t))
            .unwrap_or(wanted)
    }
}

/// Lowercase name of a compute type.
pub fn compute_name(t: ComputeType) -> &'static str {
    match t {
        ComputeType::Fp32 => "fp32",
        ComputeType::Tf32 => "tf32",
        ComputeType::Fp16 => "fp16",
        ComputeType::Bf16 => "bf16",
        ComputeType::Fp8 => "fp8",
        ComputeType::Int8 => "int8",
        ComputeType::Fp4 => "fp4",
    }
}
