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
    /// Dense peak for `ty`, if the device supports it.
    pub fn peak(&self, ty: ComputeType) -> Option<f64> {
        self.dense_peak_flops_per_s.iter().find(|(t, _)| *t == ty).map(|(_, v)| *v)
    }
}
