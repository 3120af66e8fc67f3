//! Model and hardware references in requests: a catalog id, or an inline description.
//!
//! An inline model is a Hugging Face `config.json` object (what `POST /v1/models/import`
//! accepts); an inline device is an object with the catalog record's fields. Both go through the
//! same validation as catalog entries, with pointers under the field they came from.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::Error;
use super::config::{HfConfig, architecture_from_config};
use crate::catalog::hardware::DeviceRecord;
use crate::catalog::prices::Pricing;
use crate::catalog::{Catalog, CatalogDevice};
use crate::engine::anatomy::{Anatomy, anatomy};
use crate::engine::architecture::Architecture;
use crate::engine::device::Device;

/// A model: catalog id (or alias), or an inline Hugging Face `config.json` object.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ModelRef {
    /// Catalog id or alias.
    Id(String),
    /// An inline config.json.
    Inline(Map<String, Value>),
}

/// A device: catalog id (or alias), or an inline record with the catalog's fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HardwareRef {
    /// Catalog id or alias.
    Id(String),
    /// An inline device record.
    Inline(Box<DeviceRecord>),
}

/// `oneOf: [string id, <schema>]`, written by hand because utoipa's derive cannot describe an
/// untagged string-or-object enum with an example on the string.
fn id_or<T: ToSchema>(description: &str, example: &str) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new().schema_type(Type::String).examples([example]).description(Some("Catalog id or alias")),
        )
        .item(Ref::from_schema_name(T::name()))
        .description(Some(description))
        .into()
}

impl PartialSchema for ModelRef {
    fn schema() -> RefOr<Schema> {
        id_or::<HfConfig>("A catalog model id or alias, or an inline Hugging Face config.json object", "llama-3.1-70b")
    }
}

impl ToSchema for ModelRef {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((HfConfig::name().into(), HfConfig::schema()));
        <HfConfig as ToSchema>::schemas(schemas);
    }
}

impl PartialSchema for HardwareRef {
    fn schema() -> RefOr<Schema> {
        id_or::<DeviceRecord>(
            "A catalog device id or alias, or an inline device record with the catalog's fields",
            "nvidia-h100-sxm-80gb",
        )
    }
}

impl ToSchema for HardwareRef {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((DeviceRecord::name().into(), DeviceRecord::schema()));
        <DeviceRecord as ToSchema>::schemas(schemas);
    }
}

/// A resolved model.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// Catalog id, or `inline`.
    pub id: String,
    /// Architecture.
    pub architecture: Architecture,
    /// Anatomy.
    pub anatomy: Anatomy,
}

/// A resolved device.
#[derive(Debug, Clone)]
pub struct ResolvedDevice {
    /// Catalog id (or the inline record's id).
    pub id: String,
    /// Engine view.
    pub device: Device,
    /// Published prices: the catalog's own, shared (an inline record's are its own).
    pub pricing: Arc<Pricing>,
    /// The record's host link (`pcie-gen5-x16`, `nvlink-c2c`), if it names one.
    pub host_link: Option<String>,
    /// The record's microarchitecture (`Hopper`): which attention kernels run well on it.
    pub architecture: String,
}

impl From<&CatalogDevice> for ResolvedDevice {
    fn from(d: &CatalogDevice) -> Self {
        Self {
            id: d.record.id.clone(),
            device: d.device.clone(),
            pricing: Arc::clone(&d.pricing),
            host_link: d.record.host_link.clone(),
            architecture: d.record.architecture.clone(),
        }
    }
}

/// Resolves a model reference found at `pointer`.
pub fn model(catalog: &Catalog, reference: &ModelRef, pointer: &str) -> Result<ResolvedModel, Error> {
    match reference {
        ModelRef::Id(id) => {
            let m = catalog.model(id).map_err(|suggestions| Error::unknown_id("model", id, suggestions).at(pointer))?;
            Ok(ResolvedModel {
                id: m.record.id.clone(),
                architecture: m.architecture.clone(),
                anatomy: m.anatomy.clone(),
            })
        }
        ModelRef::Inline(config) => {
            let (_, architecture) = architecture_from_config(config, pointer)?;
            let anatomy = anatomy(&architecture);
            Ok(ResolvedModel { id: "inline".into(), architecture, anatomy })
        }
    }
}

/// Resolves a device reference found at `pointer`.
pub fn hardware(catalog: &Catalog, reference: &HardwareRef, pointer: &str) -> Result<ResolvedDevice, Error> {
    let (record, pricing) = match reference {
        HardwareRef::Id(id) => {
            let d =
                catalog.device(id).map_err(|suggestions| Error::unknown_id("hardware", id, suggestions).at(pointer))?;
            (&d.record, Arc::clone(&d.pricing))
        }
        HardwareRef::Inline(record) => (record.as_ref(), Arc::new(Pricing::of(record))),
    };
    let device = record
        .to_engine()
        .map_err(|problems| Error::Unprocessable { detail: problems.join("; "), pointer: Some(pointer.to_owned()) })?;
    Ok(ResolvedDevice {
        id: record.id.clone(),
        device,
        pricing,
        host_link: record.host_link.clone(),
        architecture: record.architecture.clone(),
    })
}

/// Resolves a request's `model` and `hardware` fields (raw JSON, so both the id and the inline
/// form are accepted) found under `prefix`.
pub fn references(
    catalog: &Catalog,
    model_value: &Value,
    hardware_value: &Value,
    prefix: &str,
) -> Result<(ResolvedModel, ResolvedDevice), Error> {
    let model_ref: ModelRef = serde_json::from_value(model_value.clone())
        .map_err(|_| Error::field(format!("{prefix}/model"), "must be a model id string or a config.json object"))?;
    let hardware_ref = match hardware_value {
        Value::String(id) => HardwareRef::Id(id.clone()),
        Value::Object(_) => {
            HardwareRef::Inline(Box::new(serde_path_to_error::deserialize(hardware_value.clone()).map_err(|e| {
                Error::field(
                    format!("{prefix}/hardware{}", super::document::to_pointer(&e.path().to_string())),
                    e.into_inner().to_string(),
                )
            })?))
        }
        _ => {
            return Err(Error::field(
                format!("{prefix}/hardware"),
                "must be a device id string or a device record object",
            ));
        }
    };
    Ok((
        model(catalog, &model_ref, &format!("{prefix}/model"))?,
        hardware(catalog, &hardware_ref, &format!("{prefix}/hardware"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog device's prices are built once, when the catalog loads, with every attached
    /// price entry; each resolution (by id, or from the catalog device as the planners do)
    /// shares them, and an inline record brings its own.
    #[test]
    fn resolved_devices_share_the_catalog_prices() {
        let catalog = Catalog::embedded().unwrap();
        let id = "nvidia-h100-sxm-80gb";
        let listed = catalog.device(id).unwrap();
        assert!(!listed.pricing.rentals.is_empty() && !listed.pricing.purchases.is_empty());
        assert_eq!(*listed.pricing, Pricing::of(&listed.record));
        let by_id = |r: &str| hardware(&catalog, &HardwareRef::Id(r.into()), "/hardware").unwrap();
        let (first, second) = (by_id(id), by_id("h100"));
        assert!(Arc::ptr_eq(&first.pricing, &listed.pricing) && Arc::ptr_eq(&second.pricing, &listed.pricing));
        assert!(Arc::ptr_eq(&ResolvedDevice::from(listed).pricing, &listed.pricing));
        let mut record = listed.record.clone();
        record.price.truncate(1);
        let inline = hardware(&catalog, &HardwareRef::Inline(Box::new(record.clone())), "/hardware").unwrap();
        assert_eq!(*inline.pricing, Pricing::of(&record));
        assert_eq!(inline.pricing.rentals.len(), 1);
    }
}

/// A resolved network between nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedNetwork {
    /// Catalog id.
    pub id: String,
    /// Engine view.
    pub engine: crate::engine::network::Network,
}

/// The network a request names at `pointer` (a catalog id, any case), or the catalog's default;
/// `None` only for a catalog without networks.
pub fn network(catalog: &Catalog, id: Option<&str>, pointer: &str) -> Result<Option<ResolvedNetwork>, Error> {
    let found = match id {
        Some(id) => Some(catalog.network(id).ok_or_else(|| {
            let known: Vec<&str> = catalog.networks().iter().map(|n| n.record.id.as_str()).collect();
            Error::unprocessable(
                pointer.to_owned(),
                format!("unknown network {id:?}; known networks: {} (GET /v1/networks)", known.join(", ")),
            )
        })?),
        None => catalog.default_network(),
    };
    Ok(found.map(|n| ResolvedNetwork { id: n.record.id.clone(), engine: n.network }))
}
