//! Device prices and the defaults of owning hardware: the schema of `data/prices/rental.toml`,
//! `data/prices/purchase.toml` and `data/prices/ownership.toml`.
//!
//! Prices live apart from the specifications because they change on another clock: a device's
//! figures are fixed at launch, its prices are samples with a date. Each entry names its device
//! by catalog id (variants included) and is attached to that record when the catalog loads.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::hardware::{DeviceRecord, Price, Purchase, PurchaseKind, Term};

/// One entry of `rental.toml` or `purchase.toml`: a device id and the price fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PricesFile {
    #[serde(default)]
    rental: Vec<toml::Table>,
    #[serde(default)]
    purchase: Vec<toml::Table>,
}

/// A price and the device it belongs to.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    Rental(String, Price),
    Purchase(String, Purchase),
}

impl PricesFile {
    /// The entries, or the index and problem of the first bad one.
    pub(super) fn entries(self) -> Result<Vec<Entry>, (String, String)> {
        let split = |mut table: toml::Table, index: usize, what: &str| {
            let device = match table.remove("device") {
                Some(toml::Value::String(id)) => id,
                _ => return Err((format!("{what}#{index}"), "device (a catalog id) is required".to_owned())),
            };
            Ok((device, table))
        };
        let mut out = Vec::new();
        for (i, table) in self.rental.into_iter().enumerate() {
            let (device, rest) = split(table, i, "rental")?;
            let price: Price =
                rest.try_into().map_err(|e: toml::de::Error| (device.clone(), e.message().to_owned()))?;
            out.push(Entry::Rental(device, price));
        }
        for (i, table) in self.purchase.into_iter().enumerate() {
            let (device, rest) = split(table, i, "purchase")?;
            let purchase: Purchase =
                rest.try_into().map_err(|e: toml::de::Error| (device.clone(), e.message().to_owned()))?;
            out.push(Entry::Purchase(device, purchase));
        }
        Ok(out)
    }
}

/// What owning a device costs beyond its price when a request does not say: the defaults of the
/// cost model, each with its source in `data/prices/ownership.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnershipDefaults {
    /// Electricity, USD per kWh.
    pub electricity_usd_per_kwh: f64,
    /// Power usage effectiveness: facility energy over device energy (1 = the device alone).
    pub pue: f64,
    /// Years over which a purchase is spread.
    pub amortization_years: f64,
    /// Share of the hours the device does this work (1 = around the clock).
    pub utilization: f64,
    /// Space, cooling and networking per device and month, USD.
    pub hosting_usd_per_month: f64,
}

impl Default for OwnershipDefaults {
    /// Values for a catalog without `ownership.toml` (tests); the shipped file overrides them.
    fn default() -> Self {
        Self {
            electricity_usd_per_kwh: 0.15,
            pue: 1.0,
            amortization_years: 3.0,
            utilization: 1.0,
            hosting_usd_per_month: 0.0,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OwnershipFile {
    pub(super) ownership: OwnershipDefaults,
}

impl OwnershipDefaults {
    /// Problems with the figures.
    pub fn validate(&self) -> Result<(), String> {
        let checks = [
            ("electricity_usd_per_kwh", self.electricity_usd_per_kwh, 0.0, 10.0),
            ("pue", self.pue, 1.0, 5.0),
            ("amortization_years", self.amortization_years, 0.1, 30.0),
            ("utilization", self.utilization, 0.001, 1.0),
            ("hosting_usd_per_month", self.hosting_usd_per_month, 0.0, 1e6),
        ];
        for (name, v, lo, hi) in checks {
            if !(v.is_finite() && v >= lo && v <= hi) {
                return Err(format!("{name} must be from {lo} to {hi}, got {v}"));
            }
        }
        Ok(())
    }
}

/// A device's published prices, as resolution hands them on: built once per catalog device
/// when the catalog loads (shared, not copied, by every request that names the device).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pricing {
    /// Rental prices.
    pub rentals: Vec<Price>,
    /// Purchase prices.
    pub purchases: Vec<Purchase>,
}

impl Pricing {
    /// The prices of a device record.
    pub fn of(record: &DeviceRecord) -> Self {
        Self { rentals: record.price.clone(), purchases: record.purchase.clone() }
    }

    /// The purchase price used when a request gives none: the newest, a street price winning a
    /// tie with the list price.
    pub fn newest_purchase(&self) -> Option<&Purchase> {
        self.purchases.iter().max_by(|a, b| {
            (a.checked_on.as_str(), a.kind == PurchaseKind::Street)
                .cmp(&(b.checked_on.as_str(), b.kind == PurchaseKind::Street))
        })
    }

    /// The cheapest rental of `term`, from `provider` when given.
    pub fn cheapest_rental(&self, provider: Option<&str>, term: Term) -> Option<&Price> {
        self.rentals
            .iter()
            .filter(|p| p.term == term && provider.is_none_or(|want| p.provider.eq_ignore_ascii_case(want)))
            .min_by(|a, b| a.usd_per_hour.total_cmp(&b.usd_per_hour))
    }
}
