//! The scale-out network between nodes: what a collective or a KV-cache transfer crosses once it
//! leaves the devices one node joins on its own fabric (NVLink, Infinity Fabric).

use super::units::{BytesPerSecond, Seconds};

/// A network as the engine sees it, per device (each device has its own NIC on the rail-optimised
/// clusters the catalog describes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Network {
    /// Bandwidth per device in one direction, at the share of line rate collectives reach.
    pub bandwidth: BytesPerSecond,
    /// One-way latency of a message (NIC, switch hops and the transport's software).
    pub latency: Seconds,
}
