//! How devices split a model, and what the split costs in communication.

use super::device::Device;
use super::network::Network;
use super::units::{Bytes, BytesPerSecond, Seconds};

/// Degrees of parallelism. `devices = tensor x pipeline x expert x data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Tensor parallel: each layer's matrices split across this many devices.
    pub tensor: u32,
    /// Pipeline parallel: layers split into this many sequential stages.
    pub pipeline: u32,
    /// Expert parallel: routed experts spread over this many ranks; attention runs data-parallel
    /// across them.
    pub expert: u32,
    /// Independent replicas of the whole model.
    pub data: u32,
}

impl Parallelism {
    /// One device, no splitting.
    pub const SINGLE: Parallelism = Parallelism { tensor: 1, pipeline: 1, expert: 1, data: 1 };

    /// Total devices.
    pub fn devices(&self) -> u64 {
        u64::from(self.tensor) * u64::from(self.pipeline) * u64::from(self.expert) * u64::from(self.data)
    }
}

/// A device-to-device link as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Bandwidth in one direction.
    pub bandwidth: BytesPerSecond,
    /// Whether it is a PCIe path rather than a dedicated fabric (NVLink, Infinity Fabric, ICI).
    pub over_pcie: bool,
}

/// PCIe 4.0 x16, one direction, when a device names no faster link: 16 GT/s x 16 lanes x
/// 128/130 encoding = 31.5 GB/s (PCI-SIG PCIe 4.0 spec).
const PCIE4_X16_BYTES_PER_S: f64 = 31.5e9;

/// The link a collective over `ranks` devices uses on `device`: the network when the ranks span
/// more devices than one node joins and a network is given (the slowest hop bounds a ring or an
/// all-to-all); else its fabric when the fabric joins that many devices (NVLink bridges join only
/// pairs), else PCIe.
pub fn link(device: &Device, ranks: u32, network: Option<&Network>) -> Link {
    if let (Some(net), Some(node)) = (network, device.interconnect.and_then(|ic| ic.node))
        && ranks > node
    {
        return Link { bandwidth: net.bandwidth, over_pcie: false };
    }
    match device.interconnect {
        Some(ic) if !ic.pcie && ic.group.is_none_or(|g| ranks <= g) => {
            Link { bandwidth: BytesPerSecond(ic.bidirectional_bytes_per_s / 2.0), over_pcie: false }
        }
        Some(ic) if ic.pcie => Link { bandwidth: BytesPerSecond(ic.bidirectional_bytes_per_s / 2.0), over_pcie: true },
        _ => Link { bandwidth: BytesPerSecond(PCIE4_X16_BYTES_PER_S), over_pcie: true },
    }
}

/// Ring all-reduce of `message` bytes over `ranks` devices: each device sends and receives
/// `2 (n-1)/n x message` (Patarasuk and Yuan 2009), plus a fixed latency per collective.
pub fn all_reduce(message: Bytes, ranks: u32, link: Link, latency: Seconds) -> Seconds {
    if ranks <= 1 {
        return Seconds(0.0);
    }
    let n = f64::from(ranks);
    Bytes(message.0 * 2.0 * (n - 1.0) / n) / link.bandwidth + latency
}
