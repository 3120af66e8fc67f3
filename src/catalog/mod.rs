//! The catalog: devices, models and number formats, parsed from TOML and validated into engine
//! types.
//!
//! Files come from the copy embedded at build time ([`Catalog::embedded`]) or from a directory
//! with the same layout ([`Catalog::from_dir`]). Loading is all-or-nothing and fails fast with the
//! file and entry named. After loading, the catalog is read-only; lookups resolve ids and aliases
//! case-insensitively and suggest close matches for unknown ids.
//!
//! This module does file parsing and validation only: no HTTP, no estimates.

pub mod api_prices;
pub mod engines;
pub mod formats;
pub mod hardware;
pub mod lookup;
pub mod models;
pub mod networks;
pub mod prices;
pub mod scaling;
pub mod speculative;
pub mod tool_names;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::engine::anatomy::{Anatomy, anatomy};
use crate::engine::architecture::Architecture;
use crate::engine::device::Device;
use crate::engine::profile::EngineProfile;
use crate::engine::training::TrainingProfile;
use api_prices::{ApiPriceEntry, ApiPriceRecord, ExchangeRate};
use engines::{EngineRecord, TrainingRecord};
use formats::FormatRecord;
use hardware::DeviceRecord;
use models::ModelRecord;
use prices::{OwnershipDefaults, Pricing};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_catalog.rs"));
}

/// A catalog file or entry that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    /// File, relative to the data directory.
    pub file: String,
    /// Entry id (or `#index`), when the problem is inside one entry.
    pub entry: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(entry) => write!(f, "{}: entry {entry}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for CatalogError {}

/// A device: its record as stored and its engine form.
#[derive(Debug, Clone)]
pub struct CatalogDevice {
    /// The record, with sources.
    pub record: DeviceRecord,
    /// The engine's view.
    pub device: Device,
    /// The record's prices, built once when the catalog loads; a resolved device shares them.
    pub pricing: Arc<Pricing>,
}

/// Which catalog devices a list or a search covers; every field narrows it. The one device
/// filter, used by `GET /v1/hardware`, the deployment planner and the training planner.
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    /// Only this vendor (case-insensitive).
    pub vendor: Option<String>,
    /// Only these kinds (empty: every kind).
    pub kinds: Vec<hardware::Kind>,
    /// Only devices with at least this much memory, GiB.
    pub min_memory_gib: Option<f64>,
    /// Only devices with at most this much memory, GiB.
    pub max_memory_gib: Option<f64>,
}

impl DeviceFilter {
    /// Whether `record` passes.
    pub fn matches(&self, record: &DeviceRecord) -> bool {
        self.vendor.as_ref().is_none_or(|v| record.vendor.eq_ignore_ascii_case(v))
            && (self.kinds.is_empty() || self.kinds.contains(&record.kind))
            && self.min_memory_gib.is_none_or(|m| record.memory_gib >= m)
            && self.max_memory_gib.is_none_or(|m| record.memory_gib <= m)
    }
}

/// A model: its record, its engine architecture and its anatomy (computed once at load).
#[derive(Debug, Clone)]
pub struct CatalogModel {
    /// The record, with sources.
    pub record: ModelRecord,
    /// The engine's view.
    pub architecture: Architecture,
    /// Parameter anatomy.
    pub anatomy: Anatomy,
}

impl CatalogModel {
    /// Published pre-training tokens per parameter the anatomy computes (total parameters, all
    /// experts of a mixture counted): `training_tokens / total`; `None` where the record has no
    /// published token count.
    pub fn tokens_per_parameter(&self) -> Option<f64> {
        let total = self.anatomy.total.0;
        self.record.training_tokens.filter(|_| total > 0).map(|tokens| tokens / total as f64)
    }
}

/// An engine profile: its record and its engine form.
#[derive(Debug, Clone)]
pub struct CatalogEngine {
    /// The record, with sources and what it was fitted on.
    pub record: EngineRecord,
    /// The engine's view.
    pub profile: EngineProfile,
}

/// A training profile: its record and its engine form.
#[derive(Debug, Clone)]
pub struct CatalogTraining {
    /// The record.
    pub record: TrainingRecord,
    /// The engine's view.
    pub profile: TrainingProfile,
}

/// The loaded, validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    training: Vec<CatalogTraining>,
    speculative: Vec<speculative::SpeculativeRecord>,
    networks: Vec<networks::CatalogNetwork>,
    scaling_fits: Vec<scaling::CatalogFit>,
    api_prices: Vec<ApiPriceRecord>,
    exchange_rates: Vec<ExchangeRate>,
    ownership: OwnershipDefaults,
    devices: Vec<CatalogDevice>,
    models: Vec<CatalogModel>,
    formats: Vec<FormatRecord>,
    engines: Vec<CatalogEngine>,
    device_index: lookup::Index,
    /// Whether this is the catalog compiled into the binary (its validation report is then the
    /// same every time, and is computed once per process).
    embedded: bool,
    model_index: lookup::Index,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HardwareFile {
    device: Vec<DeviceRecord>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsFile {
    model: Vec<ModelRecord>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EnginesFile {
    #[serde(default)]
    engine: Vec<EngineRecord>,
    #[serde(default)]
    training: Vec<TrainingRecord>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiPricesFile {
    price: Vec<ApiPriceEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeRatesFile {
    exchange_rate: Vec<ExchangeRate>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatsFile {
    format: Vec<FormatRecord>,
}

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::from_files(embedded::FILES.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())))
            .map(|c| Self { embedded: true, ..c })
    }

    /// Whether this is the catalog compiled into the binary.
    pub fn is_embedded(&self) -> bool {
        self.embedded
    }

    /// Loads `dir/hardware/*.toml`, `dir/models/*.toml`, `dir/engines/*.toml`,
    /// `dir/formats.toml` and, when present, `dir/prices/*.toml`.
    pub fn from_dir(dir: &Path) -> Result<Self, CatalogError> {
        let mut files = Vec::new();
        for sub in ["hardware", "models", "engines", "prices"] {
            let folder = dir.join(sub);
            // Prices are optional: a catalog without them answers every cost with null.
            if sub == "prices" && !folder.is_dir() {
                continue;
            }
            let entries = std::fs::read_dir(&folder).map_err(|e| CatalogError {
                file: folder.display().to_string(),
                entry: None,
                message: format!("cannot read directory: {e}"),
            })?;
            let mut paths: Vec<_> =
                entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
            paths.sort();
            for path in paths {
                let name = format!("{sub}/{}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
                files.push((name, read(&path)?));
            }
        }
        files.push(("formats.toml".to_owned(), read(&dir.join("formats.toml"))?));
        // Scaling-law fits are published constants, not site data: a directory without its own
        // file uses the embedded one.
        let scaling = dir.join("scaling.toml");
        let scaling_text = if scaling.is_file() {
            read(&scaling)?
        } else {
            embedded::FILES.iter().find(|(n, _)| *n == "scaling.toml").map(|(_, t)| (*t).to_owned()).unwrap_or_default()
        };
        files.push(("scaling.toml".to_owned(), scaling_text));
        // Speculation defaults are published figures too: the embedded ones unless the
        // directory has its own.
        let speculative = dir.join("speculative.toml");
        let speculative_text = if speculative.is_file() {
            read(&speculative)?
        } else {
            embedded::FILES
                .iter()
                .find(|(n, _)| *n == "speculative.toml")
                .map(|(_, t)| (*t).to_owned())
                .unwrap_or_default()
        };
        files.push(("speculative.toml".to_owned(), speculative_text));
        // Networks, like the fits, are published figures: the embedded file unless the directory
        // has its own.
        let networks = dir.join("networks.toml");
        let networks_text = if networks.is_file() {
            read(&networks)?
        } else {
            embedded::FILES
                .iter()
                .find(|(n, _)| *n == "networks.toml")
                .map(|(_, t)| (*t).to_owned())
                .unwrap_or_default()
        };
        files.push(("networks.toml".to_owned(), networks_text));
        Self::from_files(files)
    }

    /// Parses and validates `(path relative to data/, contents)` pairs.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Self, CatalogError> {
        let mut devices = Vec::new();
        let mut models = Vec::new();
        let mut formats = Vec::new();
        let mut engines = Vec::new();
        let mut training = Vec::new();
        let mut api_entries = Vec::new();
        let mut exchange_rates: Vec<ExchangeRate> = Vec::new();
        let mut device_prices = Vec::new();
        let mut ownership = OwnershipDefaults::default();
        let mut scaling_fits = Vec::new();
        let mut speculative = Vec::new();
        let mut network_list: Vec<networks::CatalogNetwork> = Vec::new();
        for (name, text) in files {
            let fail = |message: String| CatalogError { file: name.clone(), entry: None, message };
            if name.starts_with("hardware/") {
                let file: HardwareFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for base in file.device {
                    for record in std::iter::once(base.clone()).chain(base.variants()) {
                        let device = record
                            .to_engine()
                            .map_err(|problems| entry_error(&name, &record.id, problems.join("; ")))?;
                        devices.push(CatalogDevice { record, device, pricing: Arc::default() });
                    }
                }
            } else if name.starts_with("models/") {
                let file: ModelsFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for record in file.model {
                    let architecture = record.architecture.to_engine().map_err(|problems| {
                        let detail: Vec<String> =
                            problems.iter().map(|(p, d)| format!("architecture{p} {d}")).collect();
                        entry_error(&name, &record.id, detail.join("; "))
                    })?;
                    if record.exact_parameters.is_some() && record.exact_parameters_source.is_none() {
                        return Err(entry_error(
                            &name,
                            &record.id,
                            "exact_parameters needs exact_parameters_source".into(),
                        ));
                    }
                    if let Some(tokens) = record.training_tokens {
                        let unsourced = record.training_tokens_source.as_deref().is_none_or(|s| s.trim().is_empty());
                        if !(tokens.is_finite() && tokens >= 1.0) || unsourced {
                            return Err(entry_error(
                                &name,
                                &record.id,
                                "training_tokens must be a positive count with training_tokens_source".into(),
                            ));
                        }
                    }
                    if record.sources.is_empty() {
                        return Err(entry_error(&name, &record.id, "sources must not be empty".into()));
                    }
                    let anatomy = anatomy(&architecture);
                    models.push(CatalogModel { record, architecture, anatomy });
                }
            } else if name.starts_with("engines/") {
                let file: EnginesFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for record in file.engine {
                    let fail = |problems: Vec<String>| entry_error(&name, &record.id, problems.join("; "));
                    let mut profile = record.to_engine().map_err(fail)?;
                    let mut releases = Vec::new();
                    for release in record.releases().map_err(fail)? {
                        let release_profile = release.record.to_engine().map_err(fail)?;
                        if release.latest {
                            // The plain id means the latest release.
                            profile = EngineProfile { id: record.id.clone(), ..release_profile.clone() };
                        }
                        releases.push(CatalogEngine { record: release.record, profile: release_profile });
                    }
                    engines.push(CatalogEngine { record, profile });
                    engines.extend(releases);
                }
                for record in file.training {
                    let profile =
                        record.to_engine().map_err(|problems| entry_error(&name, &record.id, problems.join("; ")))?;
                    training.push(CatalogTraining { record, profile });
                }
            } else if name == "formats.toml" {
                let file: FormatsFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for record in file.format {
                    record.validate().map_err(|m| entry_error(&name, &record.id, m))?;
                    formats.push(record);
                }
            } else if name == "scaling.toml" {
                let file: scaling::ScalingFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for record in file.fit {
                    let fit = record.to_engine().map_err(|m| entry_error(&name, &record.id, m))?;
                    scaling_fits.push(scaling::CatalogFit { record, fit });
                }
                if scaling_fits.iter().filter(|f| f.record.default).count() != 1 {
                    return Err(fail("exactly one fit must be the default".into()));
                }
            } else if name == "speculative.toml" {
                let file: speculative::SpeculativeFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for record in file.method {
                    record.validate().map_err(|m| entry_error(&name, &record.id, m))?;
                    if speculative.iter().any(|r: &speculative::SpeculativeRecord| r.id == record.id) {
                        return Err(entry_error(&name, &record.id, "one entry per method".into()));
                    }
                    speculative.push(record);
                }
            } else if name == "networks.toml" {
                let file: networks::NetworksFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for record in file.network {
                    let network = record.to_engine().map_err(|m| entry_error(&name, &record.id, m))?;
                    if network_list.iter().any(|n| n.record.id == record.id) {
                        return Err(entry_error(&name, &record.id, "duplicate network id".into()));
                    }
                    network_list.push(networks::CatalogNetwork { record, network });
                }
                if network_list.iter().filter(|n| n.record.default).count() != 1 {
                    return Err(fail("exactly one network must be the default".into()));
                }
            } else if name == "prices/api.toml" {
                let file: ApiPricesFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                // Resolved below, once the exchange rates are read whatever the file order.
                api_entries.extend(file.price);
            } else if name == "prices/exchange_rates.toml" {
                let file: ExchangeRatesFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for rate in file.exchange_rate {
                    rate.validate().map_err(|m| entry_error(&name, &rate.currency, m))?;
                    if exchange_rates.iter().any(|r| r.currency == rate.currency) {
                        return Err(entry_error(&name, &rate.currency, "one rate per currency".into()));
                    }
                    exchange_rates.push(rate);
                }
            } else if name == "prices/ownership.toml" {
                let file: prices::OwnershipFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                file.ownership.validate().map_err(fail)?;
                ownership = file.ownership;
            } else if name.starts_with("prices/") {
                let file: prices::PricesFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                let entries = file.entries().map_err(|(entry, m)| entry_error(&name, &entry, m))?;
                device_prices.extend(entries.into_iter().map(|e| (name.clone(), e)));
            } else {
                return Err(fail(
                    "not a catalog file (expected hardware/*.toml, models/*.toml, engines/*.toml, prices/*.toml, formats.toml, networks.toml, scaling.toml or speculative.toml)"
                        .into(),
                ));
            }
        }
        let mut api_prices = Vec::with_capacity(api_entries.len());
        for entry in api_entries {
            let id = entry.id().to_owned();
            api_prices.push(entry.resolve(&exchange_rates).map_err(|m| entry_error("prices/api.toml", &id, m))?);
        }
        devices.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        models.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        for (file, entry) in device_prices {
            let id = match &entry {
                prices::Entry::Rental(id, _) | prices::Entry::Purchase(id, _) => id.clone(),
            };
            let Some(device) = devices.iter_mut().find(|d| d.record.id == id) else {
                return Err(entry_error(
                    &file,
                    &id,
                    "unknown device id (prices name devices by exact catalog id)".into(),
                ));
            };
            match entry {
                prices::Entry::Rental(_, price) => device.record.price.push(price),
                prices::Entry::Purchase(_, purchase) => device.record.purchase.push(purchase),
            }
            // Validates the attached prices with the record's own rules.
            device.record.to_engine().map_err(|problems| entry_error(&file, &id, problems.join("; ")))?;
        }
        for device in &mut devices {
            device.pricing = Arc::new(Pricing::of(&device.record));
        }
        let device_index =
            lookup::Index::build(devices.iter().map(|d| (d.record.id.as_str(), d.record.aliases.as_slice())))
                .map_err(|m| CatalogError { file: "hardware/".into(), entry: None, message: m })?;
        let model_index = lookup::Index::build(models.iter().map(|m| (m.record.id.as_str(), model_aliases(&m.record))))
            .map_err(|m| CatalogError { file: "models/".into(), entry: None, message: m })?;
        for (kind, ids) in [
            ("format", formats.iter().map(|f| f.id.as_str()).collect::<Vec<_>>()),
            ("engine", engines.iter().map(|e| e.record.id.as_str()).collect()),
        ] {
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            if let Some(pair) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(CatalogError {
                    file: format!("{kind}s"),
                    entry: Some(pair[0].to_owned()),
                    message: format!("duplicate {kind} id"),
                });
            }
        }
        for price in api_prices.iter().filter(|p| p.open_weights) {
            if model_index.resolve(&price.model).is_err() {
                return Err(entry_error("prices/api.toml", &price.id, format!("unknown model {}", price.model)));
            }
        }
        Ok(Self {
            training,
            speculative,
            networks: network_list,
            scaling_fits,
            api_prices,
            exchange_rates,
            ownership,
            devices,
            models,
            formats,
            engines,
            device_index,
            model_index,
            embedded: false,
        })
    }

    /// The speculative-decoding defaults of a method (`data/speculative.toml`).
    pub fn speculative(&self, method: &str) -> Option<&speculative::SpeculativeRecord> {
        self.speculative.iter().find(|r| r.id == method)
    }

    /// Scale-out networks, in file order.
    pub fn networks(&self) -> &[networks::CatalogNetwork] {
        &self.networks
    }

    /// The network with this id (case-insensitive).
    pub fn network(&self, id: &str) -> Option<&networks::CatalogNetwork> {
        self.networks.iter().find(|n| n.record.id.eq_ignore_ascii_case(id))
    }

    /// The network requests assume when they name none (a catalog without networks has none).
    pub fn default_network(&self) -> Option<&networks::CatalogNetwork> {
        self.networks.iter().find(|n| n.record.default)
    }

    /// Scaling-law fits, in file order.
    pub fn scaling_fits(&self) -> &[scaling::CatalogFit] {
        &self.scaling_fits
    }

    /// The fit with this id (case-insensitive).
    pub fn scaling_fit(&self, id: &str) -> Option<&scaling::CatalogFit> {
        self.scaling_fits.iter().find(|f| f.record.id.eq_ignore_ascii_case(id))
    }

    /// The fit requests use when they name none (a catalog without fits has none).
    pub fn default_scaling_fit(&self) -> Option<&scaling::CatalogFit> {
        self.scaling_fits.iter().find(|f| f.record.default)
    }

    /// Hosted-API prices.
    pub fn api_prices(&self) -> &[ApiPriceRecord] {
        &self.api_prices
    }

    /// The dated exchange rates prices in other currencies are converted at.
    pub fn exchange_rates(&self) -> &[ExchangeRate] {
        &self.exchange_rates
    }

    /// The defaults of owning a device.
    pub fn ownership(&self) -> OwnershipDefaults {
        self.ownership
    }

    /// The API price with this id.
    pub fn api_price(&self, id: &str) -> Option<&ApiPriceRecord> {
        self.api_prices.iter().find(|p| p.id.eq_ignore_ascii_case(id))
    }

    /// The devices `filter` passes, sorted by id.
    pub fn devices_matching<'a>(&'a self, filter: &'a DeviceFilter) -> impl Iterator<Item = &'a CatalogDevice> + 'a {
        self.devices.iter().filter(|d| filter.matches(&d.record))
    }

    /// All devices, sorted by id.
    pub fn devices(&self) -> &[CatalogDevice] {
        &self.devices
    }

    /// All models, sorted by id.
    pub fn models(&self) -> &[CatalogModel] {
        &self.models
    }

    /// All weight formats, in file order.
    pub fn formats(&self) -> &[FormatRecord] {
        &self.formats
    }

    /// All engine profiles, in file order.
    pub fn engines(&self) -> &[CatalogEngine] {
        &self.engines
    }

    /// The engine profile with this id.
    pub fn engine(&self, id: &str) -> Option<&CatalogEngine> {
        self.engines.iter().find(|e| e.record.id.eq_ignore_ascii_case(id))
    }

    /// All training profiles, in file order.
    pub fn training_profiles(&self) -> &[CatalogTraining] {
        &self.training
    }

    /// The training profile with this id.
    pub fn training_profile(&self, id: &str) -> Option<&CatalogTraining> {
        self.training.iter().find(|e| e.record.id.eq_ignore_ascii_case(id))
    }

    /// The weight format with this id.
    pub fn format(&self, id: &str) -> Option<&FormatRecord> {
        self.formats.iter().find(|f| f.id.eq_ignore_ascii_case(id))
    }

    /// The device with this id or alias, or as a tool writes its name (`NVIDIA H100 80GB HBM3`,
    /// see [`tool_names`]), or close matches.
    pub fn device(&self, id: &str) -> Result<&CatalogDevice, Vec<String>> {
        self.device_index.resolve(id).and_then(|i| self.devices.get(i).ok_or_default()).or_else(|suggestions| {
            self.device_as_written(id).ok_or_else(|| {
                // The suggestions for a tool's spelling come from its core (`NVIDIA H20` ->
                // `h20`, close to the H200) before those for the name as written.
                tool_names::device_candidates(id)
                    .iter()
                    // Not the prefixed ones: `nvidia-zzz` is close to `nvidia-a10`.
                    .filter(|c| !c.name.starts_with("nvidia-") && !c.name.starts_with("amd-"))
                    .filter_map(|c| self.device_index.resolve(&c.name).err())
                    .find(|s| !s.is_empty())
                    .unwrap_or(suggestions)
            })
        })
    }

    /// The device a tool's spelling of a name means, by [`tool_names::device_candidates`]: `None`
    /// when no candidate is listed, or the one listed has another memory size than the name says.
    pub fn device_as_written(&self, name: &str) -> Option<&CatalogDevice> {
        tool_names::device_candidates(name).into_iter().find_map(|c| {
            let device = self.devices.get(self.device_index.resolve(&c.name).ok()?)?;
            match c.memory_gb {
                Some(gb) if !tool_names::memory_agrees(device.record.memory_gib, gb) => None,
                _ => Some(device),
            }
        })
    }

    /// The model with this id or alias, or the base of an `-Instruct`/`-Chat`/`-it` fine-tune of
    /// it (see [`Catalog::model_fine_tune`]), or close matches.
    pub fn model(&self, id: &str) -> Result<&CatalogModel, Vec<String>> {
        self.model_index
            .resolve(id)
            .and_then(|i| self.models.get(i).ok_or_default())
            .or_else(|suggestions| self.model_fine_tune(id).ok_or(suggestions))
    }

    /// The base model a fine-tune's name resolves to, when the name itself is not listed (an
    /// assumption: the fine-tune has the base's architecture). `None` for a listed name.
    pub fn model_fine_tune(&self, name: &str) -> Option<&CatalogModel> {
        if self.model_index.resolve(name).is_ok() {
            return None;
        }
        let base = tool_names::model_base(name)?;
        self.models.get(self.model_index.resolve(&base).ok()?)
    }

    /// Count of entries per section, for readiness and logs.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            ("hardware", self.devices.len()),
            ("models", self.models.len()),
            ("formats", self.formats.len()),
        ])
    }
}

/// Model aliases plus the Hugging Face repo name, with and without its organisation.
pub fn model_aliases(record: &ModelRecord) -> Vec<String> {
    let mut names = record.aliases.clone();
    if let Some(repo) = &record.hf_repo {
        names.push(repo.to_ascii_lowercase());
        if let Some((_, name)) = repo.rsplit_once('/') {
            names.push(name.to_ascii_lowercase());
        }
    }
    names
}

trait OkOrDefault<T> {
    fn ok_or_default(self) -> Result<T, Vec<String>>;
}

impl<T> OkOrDefault<T> for Option<T> {
    fn ok_or_default(self) -> Result<T, Vec<String>> {
        self.ok_or_else(Vec::new)
    }
}

fn entry_error(file: &str, id: &str, message: String) -> CatalogError {
    CatalogError { file: file.to_owned(), entry: Some(id.to_owned()), message }
}

fn read(path: &Path) -> Result<String, CatalogError> {
    std::fs::read_to_string(path).map_err(|e| CatalogError {
        file: path.display().to_string(),
        entry: None,
        message: format!("cannot read: {e}"),
    })
}

/// Whether a parameter count agrees with a figure published in billions as printed (`"5.13"`,
/// `"37"`): within one unit of the figure's last digit, because publishers round (DeepSeek-V3's
/// 36.6B is "37B") or truncate (Qwen3-30B-A3B's 3.35B is "3.3B"). The tolerance is therefore as
/// tight as the card: 0.2% for gpt-oss's "5.13", 4% for "2.4", 6% for "17".
#[cfg(test)]
pub(crate) fn agrees_with_published(count: u64, billions: &str) -> bool {
    let figure: f64 = billions.parse().unwrap_or_else(|_| panic!("not a number: {billions}"));
    let decimals = billions.split_once('.').map_or(0, |(_, fraction)| fraction.len());
    let unit = 10f64.powi(-i32::try_from(decimals).unwrap_or(i32::MAX));
    (count as f64 / 1e9 - figure).abs() <= unit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::embedded().unwrap_or_else(|e| panic!("{e}"))
    }

    /// An architecture a training profile names must be one the devices use (a typo would
    /// silently fall back to the default share), and it applies to exactly those devices.
    #[test]
    fn efficiencies_by_architecture_name_real_architectures() {
        let c = catalog();
        for t in c.training_profiles() {
            let p = &t.profile;
            // Each named architecture has devices, and on every one of them the share applies.
            let check = |by_architecture: &[(String, f64)], on: &dyn Fn(&str) -> f64| {
                for (architecture, share) in by_architecture {
                    let devices: Vec<_> =
                        c.devices().iter().filter(|d| &d.record.architecture == architecture).collect();
                    assert!(!devices.is_empty(), "{}: no device of architecture {architecture}", p.id);
                    for d in devices {
                        assert_eq!(on(&d.record.architecture), *share);
                    }
                }
            };
            check(&p.attention_by_architecture, &|a| p.attention_efficiency_on(a));
            check(&p.compute_by_architecture, &|a| p.compute_efficiency_on(a));
        }
        let foundry = &c.training_profile("llm-foundry").expect("in the catalog").profile;
        let hopper = &c.device("nvidia-h100-sxm-80gb").expect("in the catalog").record.architecture;
        let ampere = &c.device("nvidia-a100-sxm4-80gb").expect("in the catalog").record.architecture;
        assert!(foundry.attention_efficiency_on(hopper) < foundry.attention_efficiency_on(ampere));
        assert_eq!(foundry.attention_efficiency_on(ampere), foundry.attention_efficiency);
    }

    #[test]
    fn the_real_data_loads_with_the_required_coverage() {
        let c = catalog();
        assert!(c.devices().len() >= 60, "{} devices", c.devices().len());
        assert!(c.models().len() >= 60, "{} models", c.models().len());
        for id in [
            "nvidia-b200",
            "nvidia-gb200-gpu",
            "nvidia-h200-sxm-141gb",
            "nvidia-h100-sxm-80gb",
            "nvidia-h100-pcie-80gb",
            "nvidia-h100-nvl-94gb",
            "nvidia-gh200-144gb",
            "nvidia-a100-sxm4-80gb",
            "nvidia-a100-sxm4-40gb",
            "nvidia-a100-pcie-80gb",
            "nvidia-a100-pcie-40gb",
            "nvidia-l40s",
            "nvidia-l40",
            "nvidia-l4",
            "nvidia-a10",
            "nvidia-a10g",
            "nvidia-t4",
            "nvidia-v100-sxm2-32gb",
            "nvidia-rtx-3090",
            "nvidia-rtx-4090",
            "nvidia-rtx-5090",
            "nvidia-rtx-6000-ada",
            "nvidia-rtx-a6000",
            "nvidia-rtx-pro-6000-blackwell-server",
            "nvidia-gb10-dgx-spark",
            "amd-mi300x",
            "amd-mi325x",
            "amd-mi250x",
            "intel-gaudi2",
            "intel-gaudi3",
            "google-tpu-v4",
            "google-tpu-v5e",
            "google-tpu-v5p",
            "google-tpu-v6e",
            "apple-m1",
            "apple-m1-pro",
            "apple-m1-max",
            "apple-m1-ultra",
            "apple-m2-ultra",
            "apple-m3-max",
            "apple-m4-max",
            "intel-xeon-platinum-8480plus",
            "intel-xeon-platinum-8592plus",
            "intel-xeon-6980p",
            "amd-epyc-9654",
            "amd-epyc-9754",
            "amd-epyc-9175f",
            "amd-ryzen-9-7950x",
        ] {
            assert!(c.device(id).is_ok(), "missing device {id}");
        }
        for id in [
            "gpt2",
            "gpt2-medium",
            "gpt2-large",
            "gpt2-xl",
            "gpt-3-125m",
            "gpt-3-350m",
            "gpt-3-760m",
            "gpt-3-1.3b",
            "gpt-3-2.7b",
            "gpt-3-6.7b",
            "gpt-3-13b",
            "gpt-3-175b",
            "gpt3",
            "llama-2-7b",
            "llama-2-13b",
            "llama-2-70b",
            "llama2-70b",
            "llama-7b",
            "llama-3-8b",
            "llama-3.1-70b",
            "llama-3.1-405b",
            "llama-3.2-1b",
            "llama-3.3-70b",
            "mistral-7b",
            "mixtral-8x7b",
            "mixtral-8x22b",
            "qwen2.5-72b",
            "qwen3-30b-a3b",
            "qwen3-235b-a22b",
            "deepseek-v3",
            "deepseek-v2",
            "deepseek-v2-lite",
            "gpt-oss-20b",
            "gpt-oss-120b",
            "gemma-2-9b",
            "gemma-3-27b",
            "phi-4",
            "falcon-180b",
            "bloom",
            "opt-175b",
            "gpt-j-6b",
            "mpt-7b",
            "mpt-30b",
            "bert-base-uncased",
            "all-minilm-l6-v2",
            "meta-llama/Llama-2-7b-hf",
        ] {
            assert!(c.model(id).is_ok(), "missing model {id}");
        }
    }

    /// Every published exact count in the catalog is reproduced to the parameter by the anatomy
    /// computed from the architecture.
    #[test]
    fn published_exact_counts_are_reproduced() {
        let c = catalog();
        let mut rows = Vec::new();
        let mut mismatches = Vec::new();
        for model in c.models() {
            if let Some(exact) = model.record.exact_parameters {
                let computed = model.anatomy.total.0;
                rows.push(format!("{:<32} {:>18} {:>18}", model.record.id, exact, computed));
                if computed != exact {
                    mismatches.push(model.record.id.clone());
                }
            }
        }
        println!("{:<32} {:>18} {:>18}\n{}", "model", "published", "computed", rows.join("\n"));
        assert!(rows.len() >= 15, "only {} published counts", rows.len());
        assert!(mismatches.is_empty(), "computed != published for {mismatches:?}");
    }

    /// How a model card counts active parameters: this crate's rule leaves out the embedding
    /// tables a token only looks up ([`crate::engine::anatomy::Anatomy::active_per_token`]);
    /// some publishers add the input table back.
    #[derive(Debug, Clone, Copy)]
    enum Counts {
        WithoutInputTable,
        WithInputTable,
    }

    /// Active (and, where the card gives it, total) parameters against the model cards, in
    /// billions as printed. The convention column is the card's, read off the figures only one
    /// reading reproduces: Mixtral-8x7B's 12.9B (12.88 with the input table, 12.75 without),
    /// Qwen3-30B-A3B's 3.3B (3.35 / 3.04), Llama 4's 17B (17.17 rounds to it, 16.14 does not),
    /// gpt-oss's 5.13B (5.71 / 5.13), DeepSeek-V2-Lite's 2.4B (2.66 / 2.45); where both readings
    /// fit, the publisher's other card decides.
    #[test]
    fn active_parameters_match_the_model_cards() {
        use Counts::{WithInputTable, WithoutInputTable};
        #[rustfmt::skip]
        let cards = [
            // (model, card active, card total, convention, source)
            ("gpt-oss-120b", "5.13", Some("116.83"), WithoutInputTable, "arXiv 2508.10925 table 1"),
            ("gpt-oss-20b", "3.61", Some("20.91"), WithoutInputTable, "arXiv 2508.10925 table 1"),
            ("deepseek-v3", "37", Some("671"), WithoutInputTable, "arXiv 2412.19437 abstract"),
            ("deepseek-v2", "21", Some("236"), WithoutInputTable, "arXiv 2405.04434 abstract"),
            ("deepseek-v2-lite", "2.4", Some("15.7"), WithoutInputTable, "huggingface.co/deepseek-ai/DeepSeek-V2-Lite"),
            ("mixtral-8x7b", "12.9", Some("46.7"), WithInputTable, "mistral.ai/news/mixtral-of-experts"),
            ("mixtral-8x22b", "39", Some("141"), WithInputTable, "mistral.ai/news/mixtral-8x22b"),
            ("qwen3-30b-a3b", "3.3", Some("30.5"), WithInputTable, "huggingface.co/Qwen/Qwen3-30B-A3B"),
            ("qwen3-235b-a22b", "22", Some("235"), WithInputTable, "huggingface.co/Qwen/Qwen3-235B-A22B"),
            ("ernie-4.5-300b-a47b-pt", "47", Some("300"), WithoutInputTable, "huggingface.co/baidu/ERNIE-4.5-300B-A47B-PT"),
            ("ernie-4.5-21b-a3b-pt", "3", Some("21"), WithoutInputTable, "huggingface.co/baidu/ERNIE-4.5-21B-A3B-PT"),
            // The card's 109B and 400B totals include the vision encoder, which is not modelled.
            ("llama-4-scout-17b-16e", "17", None, WithInputTable, "huggingface.co/meta-llama/Llama-4-Scout-17B-16E"),
            ("llama-4-maverick-17b-128e", "17", None, WithInputTable, "huggingface.co/meta-llama/Llama-4-Maverick-17B-128E"),
        ];
        let c = catalog();
        let mut failures = Vec::new();
        for (id, active, total, counts, source) in cards {
            let a = &c.model(id).unwrap_or_else(|_| panic!("no model {id}")).anatomy;
            let ours = match counts {
                WithoutInputTable => a.active_per_token,
                WithInputTable => a.active_per_token + a.lookup_tables(),
            };
            println!(
                "{id:<28} active {:>8.3}B (card {active}B, {counts:?}) total {:>8.2}B ({source})",
                ours.0 as f64 / 1e9,
                a.total.0 as f64 / 1e9
            );
            if !agrees_with_published(ours.0, active) {
                failures.push(format!("{id}: active {ours:?} vs card {active}B"));
            }
            if let Some(total) = total.filter(|t| !agrees_with_published(a.total.0, t)) {
                failures.push(format!("{id}: total {:?} vs card {total}B", a.total));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    /// Every published training-token figure has its source, lies in a sane range and gives a
    /// sane tokens-per-parameter ratio; the families the scaling view marks carry one, and the
    /// two papers-only models (Gopher, Chinchilla) compute to their nominal sizes.
    #[test]
    fn training_tokens_are_sourced_and_sane() {
        let c = catalog();
        let mut with_tokens = 0;
        for m in c.models() {
            let Some(tokens) = m.record.training_tokens else {
                assert!(m.tokens_per_parameter().is_none(), "{}", m.record.id);
                continue;
            };
            with_tokens += 1;
            let source = m.record.training_tokens_source.as_deref().unwrap_or_default();
            assert!(source.len() > 20 && source.contains("http"), "{}: source {source:?}", m.record.id);
            assert!((1e9..=1e14).contains(&tokens), "{}: {tokens}", m.record.id);
            // From GPT-3 175B's 1.7 to the small over-trained models: Qwen3-0.6B's 36T tokens on
            // 0.6B parameters are 60,000 per parameter.
            let ratio = m.tokens_per_parameter().unwrap();
            assert!(ratio > 0.1 && ratio < 100_000.0, "{}: {ratio} tokens per parameter", m.record.id);
            assert!((ratio - tokens / m.anatomy.total.0 as f64).abs() < 1e-12, "{}", m.record.id);
        }
        assert!(with_tokens >= 60, "only {with_tokens} models carry training tokens");
        #[rustfmt::skip]
        let published = [
            ("gpt-3-175b", 300e9), ("gpt-3-125m", 300e9), ("llama-7b", 1.0e12), ("llama-65b", 1.4e12),
            ("llama-2-7b", 2.0e12), ("llama-2-70b", 2.0e12), ("llama-3-8b", 15e12), ("llama-3.1-405b", 15e12),
            ("llama-3.2-1b", 9e12), ("llama-4-scout-17b-16e", 40e12), ("llama-4-maverick-17b-128e", 22e12),
            ("qwen2.5-72b", 18e12), ("qwen3-8b", 36e12), ("gemma-7b", 6e12), ("gemma-2-27b", 13e12),
            ("gemma-3-1b", 2e12), ("deepseek-v3", 14.8e12), ("deepseek-v2-lite", 5.7e12),
            ("olmo-2-1124-13b", 5e12), ("falcon-180b", 3.5e12), ("gpt-j-6b", 402e9),
            ("stablelm-3b-4e1t", 4e12), ("chinchilla-70b", 1.4e12), ("gopher-280b", 300e9),
        ];
        for (id, tokens) in published {
            assert_eq!(c.model(id).unwrap().record.training_tokens, Some(tokens), "{id}");
        }
        // Not published (Mistral), or not as tokens (GPT-2's WebText is 40 GB of text).
        for id in ["mistral-7b-v0.1", "gpt2-xl"] {
            assert_eq!(c.model(id).unwrap().record.training_tokens, None, "{id}");
        }
        for (id, nominal) in [("chinchilla-70b", 70e9), ("gopher-280b", 280e9)] {
            let total = c.model(id).unwrap().anatomy.total.0 as f64;
            assert!((total / nominal - 1.0).abs() < 0.005, "{id}: {total}");
        }
        let chinchilla = c.model("chinchilla-70b").unwrap().tokens_per_parameter().unwrap();
        assert!((19.9..20.1).contains(&chinchilla), "{chinchilla}");
    }

    #[test]
    fn training_tokens_need_a_source_and_a_positive_count() {
        let text = include_str!("../../data/models/deepmind.toml");
        let load = |text: String| Catalog::from_files([("models/deepmind.toml".to_owned(), text)]);
        assert!(load(text.to_owned()).is_ok());
        let unsourced: String =
            text.lines().filter(|l| !l.starts_with("training_tokens_source")).map(|l| format!("{l}\n")).collect();
        let blank: String = text
            .lines()
            .map(|l| if l.starts_with("training_tokens_source") { "training_tokens_source = \" \"" } else { l })
            .map(|l| format!("{l}\n"))
            .collect();
        let negative = text.replace("training_tokens = 300e9", "training_tokens = -300e9");
        let infinite = text.replace("training_tokens = 300e9", "training_tokens = inf");
        for bad in [unsourced, blank, negative, infinite] {
            let error = load(bad).unwrap_err();
            assert_eq!(error.file, "models/deepmind.toml");
            assert!(error.message.contains("training_tokens"), "{error}");
        }
    }

    #[test]
    fn nominal_sizes_are_near_the_computed_totals() {
        // "175B" and the architecture agree within the rounding publishers use; a few models are
        // named by their non-embedding size, and their notes say so.
        let c = catalog();
        let gpt3 = c.model("gpt-3-175b").unwrap();
        let billions = gpt3.anatomy.total.0 as f64 / 1e9;
        assert!((174.5..175.5).contains(&billions), "{billions}");
        for id in ["gpt2-xl", "llama-2-7b", "llama-2-13b", "llama-2-70b"] {
            let m = c.model(id).unwrap();
            let nominal: f64 = m.record.nominal_size.trim_end_matches(['B', 'M']).parse().unwrap();
            let scale = if m.record.nominal_size.ends_with('M') { 1e6 } else { 1e9 };
            let ratio = m.anatomy.total.0 as f64 / (nominal * scale);
            assert!((0.95..1.05).contains(&ratio), "{id}: {ratio}");
        }
    }

    #[test]
    fn every_device_is_sourced_and_cpu_peaks_follow_their_derivation() {
        for d in catalog().devices() {
            assert!(!d.record.sources.is_empty(), "{}", d.record.id);
            // Hybrid CPUs (P- and E-cores) have two FLOP/cycle figures; their derivation sums both
            // and cannot be rechecked from the single per-core field.
            if let Some(cpu) = d.record.cpu.as_ref().filter(|c| !c.peak_derivation.contains("E-cores")) {
                let derived = f64::from(cpu.cores) * cpu.base_clock_ghz * cpu.fp32_flops_per_cycle_per_core / 1e3;
                let stated = d.record.dense_tflops.fp32.unwrap_or_default();
                assert!((derived / stated - 1.0).abs() < 0.02, "{}: derived {derived} vs {stated}", d.record.id);
            }
        }
    }

    #[test]
    fn loading_from_a_directory_matches_the_embedded_copy() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let from_dir = Catalog::from_dir(&dir).unwrap();
        assert_eq!(from_dir.counts(), catalog().counts());
    }

    #[test]
    fn errors_name_the_file_and_the_entry() {
        let bad = r#"
            [[device]]
            id = "broken-gpu"
            name = "Broken"
            vendor = "nobody"
            kind = "gpu"
            architecture = "none"
            release_year = 2020
            memory_gib = -1.0
            memory_type = "none"
            memory_bandwidth_gb_per_s = 1.0
            unified_memory = false
            unverified = []
            sources = ["test"]
            [device.dense_tflops]
            fp32 = 1.0
        "#;
        let error = Catalog::from_files([("hardware/test.toml".to_owned(), bad.to_owned())]).unwrap_err();
        assert_eq!(error.file, "hardware/test.toml");
        assert_eq!(error.entry.as_deref(), Some("broken-gpu"));
        assert!(error.message.contains("memory_gib"), "{error}");

        let unknown_field = "[[model]]\nid = \"x\"\nsurprise = 1\n";
        let error = Catalog::from_files([("models/x.toml".to_owned(), unknown_field.to_owned())]).unwrap_err();
        assert!(error.to_string().contains("models/x.toml"), "{error}");
    }
}
