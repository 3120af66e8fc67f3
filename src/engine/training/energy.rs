//! Energy of a training run as the published runs measured it: the devices under training load,
//! each node's host (CPUs, memory, NICs, fans) and the network's switches, times the facility's
//! PUE (cooling and power delivery).
//!
//! `devices x (TDP x power fraction + host share + network share) x hours x PUE`, where the host
//! share of one device is what its node is rated for beyond its devices' TDP,
//! `(node power / node devices - TDP)`, drawn at the engine's host power fraction. Every
//! constant is data (`data/engines/training.toml`, `data/hardware/*.toml`'s
//! `interconnect.node_power_w`).

use super::super::device::Device;
use super::super::explain::Trace;
use super::TrainingProfile;

/// Energy of a run, by where it goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyBreakdown {
    /// Average power of one device under training load, watts (TDP x power fraction).
    pub device_w: f64,
    /// Host power (CPUs, memory, NICs, fans) per device, watts: 0 when the catalog has no node
    /// rating for the device.
    pub host_w: f64,
    /// Network switch power per device, watts.
    pub network_w: f64,
    /// The devices' energy, kWh.
    pub device_kwh: f64,
    /// The hosts' energy, kWh.
    pub host_kwh: f64,
    /// The network's energy, kWh.
    pub network_kwh: f64,
    /// Cooling and power delivery: (PUE - 1) x the IT energy above, kWh.
    pub facility_kwh: f64,
    /// All of it: (device + host + network) x PUE, kWh.
    pub kwh: f64,
}

/// Host power per device: the node's rating beyond its devices' TDP, shared per device, at the
/// host power fraction; `None` without a TDP, a node rating or a node size.
pub fn host_w(device: &Device, profile: &TrainingProfile) -> Option<f64> {
    let tdp = device.tdp_w?;
    let link = device.interconnect?;
    let node_w = link.node_power_w?;
    let node = f64::from(link.node?.max(1));
    Some((node_w / node - tdp).max(0.0) * profile.host_power_fraction)
}

/// A device's average system power under training load, watts: TDP x power fraction + its host
/// share ([`host_w`], 0 without a node rating) + its network share; what an owned device's
/// electricity is priced at. `None` without a TDP.
pub fn system_w(device: &Device, profile: &TrainingProfile) -> Option<f64> {
    let tdp = device.tdp_w?;
    Some(tdp * profile.power_fraction + host_w(device, profile).unwrap_or(0.0) + profile.network_w_per_device)
}

/// The energy of `devices` devices training for `wall_s` seconds at `pue`; `None` when the
/// device has no power figure.
pub fn energy(
    device: &Device,
    profile: &TrainingProfile,
    devices: f64,
    wall_s: f64,
    pue: f64,
    trace: &mut Trace,
) -> Option<EnergyBreakdown> {
    let tdp = device.tdp_w?;
    let hours = wall_s / 3600.0;
    let device_w = trace.record(
        "energy.device_w",
        "TDP x power fraction: a device's average draw under training load",
        &[("tdp_w", tdp), ("power_fraction", profile.power_fraction)],
        tdp * profile.power_fraction,
        "W",
    );
    let host = host_w(device, profile);
    if host.is_none() {
        trace.warn("no-host-power", || {
            format!(
                "no node power rating for {}: the energy counts the devices and the network, not the hosts' CPUs, memory and fans",
                device.id
            )
        });
    }
    let node = device.interconnect.and_then(|l| Some((l.node_power_w?, f64::from(l.node?.max(1)))));
    let host_w = trace.record(
        "energy.host_w",
        "(node power rating / devices per node - TDP) x host power fraction: a device's share of its node's CPUs, memory, NICs and fans",
        &[
            ("node_power_w", node.map_or(0.0, |n| n.0)),
            ("node_devices", node.map_or(0.0, |n| n.1)),
            ("tdp_w", tdp),
            ("host_power_fraction", profile.host_power_fraction),
        ],
        host.unwrap_or(0.0),
        "W",
    );
    let network_w = profile.network_w_per_device;
    let device_kwh = devices * device_w * hours / 1e3;
    let host_kwh = devices * host_w * hours / 1e3;
    let network_kwh = devices * network_w * hours / 1e3;
    let it = device_kwh + host_kwh + network_kwh;
    let kwh = trace.record(
        "energy.kwh",
        "devices x (device W + host W + network W) x wall-clock hours x PUE / 1000",
        &[
            ("devices", devices),
            ("device_w", device_w),
            ("host_w", host_w),
            ("network_w", network_w),
            ("hours", hours),
            ("pue", pue),
        ],
        it * pue,
        "kWh",
    );
    Some(EnergyBreakdown {
        device_w,
        host_w,
        network_w,
        device_kwh,
        host_kwh,
        network_kwh,
        facility_kwh: it * (pue - 1.0),
        kwh,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::device::{ComputeType, DeviceKind, Interconnect};
    use crate::engine::units::Bytes;

    fn gpu(node_power_w: Option<f64>) -> Device {
        Device {
            id: "test-gpu".into(),
            kind: DeviceKind::Gpu,
            memory: Bytes(80e9),
            memory_bandwidth_bytes_per_s: 3.35e12,
            dense_peak_flops_per_s: vec![(ComputeType::Bf16, 1e15)],
            unified_memory: false,
            interconnect: Some(Interconnect {
                bidirectional_bytes_per_s: 9e11,
                pcie: false,
                group: None,
                node: Some(8),
                node_power_w,
            }),
            tdp_w: Some(700.0),
        }
    }

    fn profile() -> TrainingProfile {
        TrainingProfile { network_w_per_device: 19.0, ..TrainingProfile::for_tests() }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// 16 devices of 700 W TDP in 8-device nodes rated 10.2 kW, for 10 hours at PUE 1.2, by
    /// hand: device 0.85 x 700 = 595 W; host (10,200 / 8 - 700) x 0.6 = 575 x 0.6 = 345 W;
    /// network 19 W. Devices 16 x 595 x 10 / 1000 = 95.2 kWh, hosts 16 x 345 x 10 / 1000 = 55.2,
    /// network 16 x 19 x 10 / 1000 = 3.04; IT 153.44 kWh, facility 0.2 x 153.44 = 30.688, all
    /// 1.2 x 153.44 = 184.128 kWh.
    #[test]
    fn energy_of_a_small_run_by_hand() {
        let mut trace = Trace::new(true);
        let e = energy(&gpu(Some(10_200.0)), &profile(), 16.0, 36_000.0, 1.2, &mut trace).unwrap();
        assert!(close(e.device_w, 595.0) && close(e.host_w, 345.0) && close(e.network_w, 19.0), "{e:?}");
        assert!(close(e.device_kwh, 95.2) && close(e.host_kwh, 55.2) && close(e.network_kwh, 3.04), "{e:?}");
        assert!(close(e.facility_kwh, 30.688) && close(e.kwh, 184.128), "{e:?}");
        assert!(close(system_w(&gpu(Some(10_200.0)), &profile()).unwrap(), 595.0 + 345.0 + 19.0));
        let (warnings, explain) = trace.finish();
        assert!(warnings.is_empty());
        for rule in ["energy.device_w", "energy.host_w", "energy.kwh"] {
            assert!(explain.iter().any(|x| x.rule == rule), "{rule} not explained");
        }
    }

    /// A DGX-1 V100 (3,500 W for 8 x 300 W) at the data's fractions draws 0.85 x 300 + 0.6 x
    /// (437.5 - 300) = 255 + 82.5 = 337.5 W per GPU, against the 330 W Patterson et al. 2021
    /// measured (Table 4): the rule, not a fit, lands within 3%.
    #[test]
    fn a_v100_node_draws_what_patterson_measured() {
        let mut v100 = gpu(Some(3_500.0));
        v100.tdp_w = Some(300.0);
        let p = profile();
        let system = 300.0 * p.power_fraction + host_w(&v100, &p).unwrap();
        assert!(close(system, 337.5), "{system}");
        assert!((system / 330.0 - 1.0).abs() < 0.03);
    }

    /// Without a node rating the hosts are not counted, and a warning says so; with no TDP
    /// there is no energy at all.
    #[test]
    fn no_node_rating_counts_no_host_and_warns() {
        let mut trace = Trace::new(true);
        let e = energy(&gpu(None), &profile(), 1.0, 3_600.0, 1.0, &mut trace).unwrap();
        assert_eq!(e.host_w, 0.0);
        assert!(close(e.kwh, (595.0 + 19.0) / 1000.0), "{e:?}");
        let (warnings, _) = trace.finish();
        assert!(warnings.iter().any(|w| w.code == "no-host-power"), "{warnings:?}");
        let mut no_tdp = gpu(Some(10_200.0));
        no_tdp.tdp_w = None;
        assert!(energy(&no_tdp, &profile(), 1.0, 3_600.0, 1.0, &mut Trace::new(true)).is_none());
    }
}
