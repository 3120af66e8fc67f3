//! The host this process runs on. The only module that touches `sysinfo` (and the CPU feature
//! probes of `std::arch`).

pub mod bench;
pub mod calibration;
#[cfg(feature = "transformer-bench")]
pub mod forward;

use serde::Serialize;
use utoipa::ToSchema;

use crate::catalog::Catalog;

/// What the operating system and the CPU say about this machine.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "cpu_brand": "AMD EPYC 9654 96-Core Processor", "cpu_vendor": "AuthenticAMD", "physical_cores": 96,
    "logical_cpus": 192, "frequency_mhz": 2400, "total_memory_bytes": 811748179968u64,
    "available_memory_bytes": 790000000000u64, "os": "Linux (Debian GNU/Linux 12)", "kernel": "6.1.0",
    "architecture": "x86_64", "cpu_features": ["avx2", "fma", "avx512f", "avx512bf16"],
    "catalog_device": "amd-epyc-9654"
}))]
pub struct HostDescription {
    /// CPU brand string.
    #[schema(example = "AMD EPYC 9B14")]
    pub cpu_brand: String,
    /// CPU vendor id.
    pub cpu_vendor: String,
    /// Physical cores (0 when the OS does not say).
    pub physical_cores: usize,
    /// Logical CPUs.
    pub logical_cpus: usize,
    /// Nominal frequency the OS reports, MHz (often the base clock, not the sustained one).
    pub frequency_mhz: u64,
    /// Total memory, bytes.
    pub total_memory_bytes: u64,
    /// Available memory, bytes.
    pub available_memory_bytes: u64,
    /// Operating system name and version.
    pub os: String,
    /// Kernel version.
    pub kernel: String,
    /// CPU architecture (`x86_64`, `aarch64`).
    pub architecture: &'static str,
    /// SIMD and matrix extensions detected at run time (`avx2`, `avx512f`, `avx512bf16`, `amx-bf16`, `neon`, ...).
    pub cpu_features: Vec<&'static str>,
    /// Catalog device whose name matches the CPU brand, if any.
    pub catalog_device: Option<String>,
}

/// Reads the machine. Never fails: what cannot be read is empty or zero.
pub fn describe(catalog: &Catalog) -> HostDescription {
    // sysinfo 0.40 reports an unsupported platform as an error; describe it as unknown.
    let system = sysinfo::System::new().ok().map(|mut s| {
        s.refresh_memory();
        s.refresh_cpu_all();
        s
    });
    let cpu = system.as_ref().and_then(|s| s.cpus().first());
    let cpu_brand = cpu.map(|c| c.brand().trim().to_owned()).unwrap_or_default();
    HostDescription {
        cpu_vendor: cpu.map(|c| c.vendor_id().to_owned()).unwrap_or_default(),
        physical_cores: sysinfo::System::physical_core_count().unwrap_or(0),
        logical_cpus: system.as_ref().map_or(0, |s| s.cpus().len()),
        frequency_mhz: cpu.map_or(0, sysinfo::Cpu::frequency),
        total_memory_bytes: system.as_ref().map_or(0, sysinfo::System::total_memory),
        available_memory_bytes: system.as_ref().map_or(0, sysinfo::System::available_memory),
        os: sysinfo::System::long_os_version().unwrap_or_default(),
        kernel: sysinfo::System::kernel_version().unwrap_or_default(),
        architecture: std::env::consts::ARCH,
        cpu_features: features(),
        catalog_device: matching_device(catalog, &cpu_brand),
        cpu_brand,
    }
}

/// The catalog device whose display name (without the vendor prefix) occurs in the brand string:
/// "AMD EPYC 9654 96-Core Processor" matches "AMD EPYC 9654".
fn matching_device(catalog: &Catalog, brand: &str) -> Option<String> {
    let brand = brand.to_ascii_lowercase().replace("(r)", "").replace("(tm)", "");
    catalog
        .devices()
        .iter()
        .filter(|d| {
            d.record.kind == crate::catalog::hardware::Kind::Cpu
                || d.record.kind == crate::catalog::hardware::Kind::AppleSoc
        })
        .filter_map(|d| {
            // "AMD EPYC 9654 (Genoa, per socket)" -> "epyc 9654".
            let name = d.record.name.split('(').next().unwrap_or("").to_ascii_lowercase();
            let model = name
                .split_whitespace()
                .filter(|w| !matches!(*w, "amd" | "intel" | "apple"))
                .collect::<Vec<_>>()
                .join(" ");
            (!model.is_empty() && brand.split_whitespace().collect::<Vec<_>>().join(" ").contains(&model))
                .then(|| (model.len(), d.record.id.clone()))
        })
        .max()
        .map(|(_, id)| id)
}

#[cfg(target_arch = "x86_64")]
fn features() -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! probe {
        ($($name:tt),*) => {$(
            if std::arch::is_x86_feature_detected!($name) {
                out.push($name);
            }
        )*};
    }
    probe!(
        "sse4.2",
        "avx",
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "avx512vnni",
        "avx512bf16",
        "avx512fp16"
    );
    // AMX detection is not stable in std yet; Linux lists it in /proc/cpuinfo.
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = flags.lines().find(|l| l.starts_with("flags")).unwrap_or("");
    for (flag, name) in [("amx_tile", "amx-tile"), ("amx_bf16", "amx-bf16"), ("amx_int8", "amx-int8")] {
        if flags.split_whitespace().any(|f| f == flag) {
            out.push(name);
        }
    }
    out
}

#[cfg(target_arch = "aarch64")]
fn features() -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! probe {
        ($($name:tt),*) => {$(
            if std::arch::is_aarch64_feature_detected!($name) {
                out.push($name);
            }
        )*};
    }
    probe!("neon", "fp16", "bf16", "i8mm", "sve", "sve2", "sme");
    out
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn features() -> Vec<&'static str> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_described_without_failing() {
        let catalog = Catalog::embedded().unwrap();
        let host = describe(&catalog);
        assert!(!host.architecture.is_empty());
        assert!(host.total_memory_bytes > 0, "{host:?}");
        assert!(host.logical_cpus >= 1);
    }

    #[test]
    fn cpu_brands_match_catalog_cpus() {
        let catalog = Catalog::embedded().unwrap();
        assert_eq!(matching_device(&catalog, "AMD EPYC 9654 96-Core Processor").as_deref(), Some("amd-epyc-9654"));
        assert_eq!(matching_device(&catalog, "Some Unknown CPU"), None);
    }
}
