//! Scale-out networks: the schema of `data/networks.toml` and its conversion into
//! [`crate::engine::network::Network`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::network::Network;
use crate::engine::units::{BytesPerSecond, Seconds};

/// A network between nodes, per device.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkRecord {
    /// The id a request's `network` names.
    #[schema(example = "infiniband-ndr")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Family: infiniband, ethernet, efa.
    #[schema(example = "infiniband")]
    pub kind: String,
    /// The port's line rate per device, one direction, Gb/s.
    #[schema(example = 400.0)]
    pub line_rate_gbit_per_s_per_device: f64,
    /// Share of the line rate collectives and bulk copies reach, 0 to 1.
    #[schema(example = 0.9)]
    pub collective_efficiency: f64,
    /// One message's one-way latency, microseconds.
    #[schema(example = 2.0)]
    pub latency_us: f64,
    /// Whether requests that name no network assume this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// Where the figures come from.
    pub sources: Vec<String>,
    /// Fields not verified against a primary source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<String>,
}

impl NetworkRecord {
    /// Checks ranges and sources, then the engine's view.
    pub fn to_engine(&self) -> Result<Network, String> {
        let mut problems = Vec::new();
        if !(1.0..=1e5).contains(&self.line_rate_gbit_per_s_per_device) {
            problems.push("line_rate_gbit_per_s_per_device must be between 1 and 100000");
        }
        if !(self.collective_efficiency > 0.0 && self.collective_efficiency <= 1.0) {
            problems.push("collective_efficiency must be in (0, 1]");
        }
        if !(0.0..=1e4).contains(&self.latency_us) {
            problems.push("latency_us must be between 0 and 10000");
        }
        if self.sources.is_empty() {
            problems.push("sources must not be empty");
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Network {
            bandwidth: BytesPerSecond(self.line_rate_gbit_per_s_per_device * 1e9 / 8.0 * self.collective_efficiency),
            latency: Seconds(self.latency_us * 1e-6),
        })
    }
}

/// `data/networks.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworksFile {
    /// The networks.
    pub network: Vec<NetworkRecord>,
}

/// A network: its record and its engine form.
#[derive(Debug, Clone)]
pub struct CatalogNetwork {
    /// The record, with sources.
    pub record: NetworkRecord,
    /// The engine's view.
    pub network: Network,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ndr_port_at_ninety_percent_moves_45_gb_per_s() {
        let record = NetworkRecord {
            id: "x".into(),
            name: "x".into(),
            kind: "infiniband".into(),
            line_rate_gbit_per_s_per_device: 400.0,
            collective_efficiency: 0.9,
            latency_us: 2.0,
            default: false,
            sources: vec!["s".into()],
            unverified: vec![],
        };
        let n = record.to_engine().unwrap();
        // 400 Gb/s = 50 GB/s; 90% of it = 45 GB/s.
        assert!((n.bandwidth.0 - 45e9).abs() < 1.0);
        assert!((n.latency.0 - 2e-6).abs() < 1e-12);
        assert!(NetworkRecord { collective_efficiency: 1.5, ..record.clone() }.to_engine().is_err());
        assert!(NetworkRecord { sources: vec![], ..record }.to_engine().is_err());
    }
}
