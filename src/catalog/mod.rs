//! The catalog: devices, models and number formats, parsed from TOML and validated into engine
//! types.
//!
//! Files come from the copy embedded at build time ([`Catalog::embedded`]) or from a directory
//! with the same layout ([`Catalog::from_dir`]). Loading is all-or-nothing and fails fast with the
//! file and entry named. After loading, the catalog is read-only; lookups resolve ids and aliases
//! case-insensitively and suggest close matches for unknown ids.
//!
//! This module does file parsing and validation only: no HTTP, no estimates.

pub mod formats;
pub mod hardware;
pub mod lookup;
pub mod models;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::engine::anatomy::{Anatomy, anatomy};
use crate::engine::architecture::Architecture;
use crate::engine::device::Device;
use formats::FormatRecord;
use hardware::DeviceRecord;
use models::ModelRecord;

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

/// The loaded, validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    devices: Vec<CatalogDevice>,
    models: Vec<CatalogModel>,
    formats: Vec<FormatRecord>,
    device_index: lookup::Index,
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
struct FormatsFile {
    format: Vec<FormatRecord>,
}

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::from_files(embedded::FILES.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())))
    }

    /// Loads `dir/hardware/*.toml`, `dir/models/*.toml` and `dir/formats.toml`.
    pub fn from_dir(dir: &Path) -> Result<Self, CatalogError> {
        let mut files = Vec::new();
        for sub in ["hardware", "models"] {
            let folder = dir.join(sub);
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
        Self::from_files(files)
    }

    /// Parses and validates `(path relative to data/, contents)` pairs.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Self, CatalogError> {
        let mut devices = Vec::new();
        let mut models = Vec::new();
        let mut formats = Vec::new();
        for (name, text) in files {
            let fail = |message: String| CatalogError { file: name.clone(), entry: None, message };
            if name.starts_with("hardware/") {
                let file: HardwareFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for record in file.device {
                    let device =
                        record.to_engine().map_err(|problems| entry_error(&name, &record.id, problems.join("; ")))?;
                    devices.push(CatalogDevice { record, device });
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
                    if record.sources.is_empty() {
                        return Err(entry_error(&name, &record.id, "sources must not be empty".into()));
                    }
                    let anatomy = anatomy(&architecture);
                    models.push(CatalogModel { record, architecture, anatomy });
                }
            } else if name == "formats.toml" {
                let file: FormatsFile = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
                for record in file.format {
                    record.validate().map_err(|m| entry_error(&name, &record.id, m))?;
                    formats.push(record);
                }
            } else {
                return Err(fail(
                    "not a catalog file (expected hardware/*.toml, models/*.toml or formats.toml)".into(),
                ));
            }
        }
        devices.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        models.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        let device_index =
            lookup::Index::build(devices.iter().map(|d| (d.record.id.as_str(), d.record.aliases.as_slice())))
                .map_err(|m| CatalogError { file: "hardware/".into(), entry: None, message: m })?;
        let model_index = lookup::Index::build(models.iter().map(|m| (m.record.id.as_str(), model_aliases(&m.record))))
            .map_err(|m| CatalogError { file: "models/".into(), entry: None, message: m })?;
        Ok(Self { devices, models, formats, device_index, model_index })
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

    /// The device with this id or alias, or close matches.
    pub fn device(&self, id: &str) -> Result<&CatalogDevice, Vec<String>> {
        self.device_index.resolve(id).and_then(|i| self.devices.get(i).ok_or_default())
    }

    /// The model with this id or alias, or close matches.
    pub fn model(&self, id: &str) -> Result<&CatalogModel, Vec<String>> {
        self.model_index.resolve(id).and_then(|i| self.models.get(i).ok_or_default())
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
fn model_aliases(record: &ModelRecord) -> Vec<String> {
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
