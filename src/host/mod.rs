//! The host this process runs on. The only module that touches `sysinfo`.

/// A short description of the host, for logs (issue-level detail lives in later host endpoints).
#[derive(Debug, Clone, PartialEq)]
pub struct HostSummary {
    /// CPU brand string.
    pub cpu_brand: String,
    /// Physical cores.
    pub physical_cores: usize,
    /// Total memory, GiB.
    pub total_memory_gib: f64,
}

/// Reads the CPU and memory from the operating system.
pub fn describe() -> HostSummary {
    // sysinfo 0.40 reports an unsupported platform as an error; describe it as unknown.
    let Ok(mut system) = sysinfo::System::new() else {
        return HostSummary { cpu_brand: "unknown".into(), physical_cores: 0, total_memory_gib: 0.0 };
    };
    system.refresh_memory();
    system.refresh_cpu_all();
    let cpu_brand = system.cpus().first().map(|c| c.brand().trim().to_owned()).unwrap_or_default();
    #[allow(clippy::cast_precision_loss)]
    let total_memory_gib = system.total_memory() as f64 / f64::from(1u32 << 30);
    HostSummary { cpu_brand, physical_cores: sysinfo::System::physical_core_count().unwrap_or(0), total_memory_gib }
}
