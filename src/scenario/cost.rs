//! The `cost` object of a request: rent (a provider and term, or the cheapest) or own (a
//! purchase spread over years, power and hosting), resolved against the device's catalog prices
//! into the price of one device-hour and an echo of every input used.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::range::{self, Checks};
use super::{Assumptions, Error};
use crate::catalog::hardware::Term;
use crate::catalog::prices::{OwnershipDefaults, Pricing};
use crate::engine::cost::Owned;

/// Rent or own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Pay a provider per device-hour.
    Rent,
    /// Buy the devices and pay their power and hosting.
    Own,
}

/// How devices are paid for. Every field is optional; the defaults used are echoed in the
/// answer's `cost.basis` and `assumptions`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"basis": "own", "electricity_usd_per_kwh": 0.2, "utilization": 0.5}))]
pub struct CostChoice {
    /// `rent` or `own` (default: rent when the device has a rental price or one is given,
    /// else own when it has a purchase price).
    pub basis: Option<Basis>,
    /// Rent from this provider (a slug of the device's rental prices, e.g. `aws`, `lambda`).
    pub provider: Option<String>,
    /// Rental commitment (default on-demand).
    pub term: Option<Term>,
    /// Price of one device-hour, USD (renting at your own rate).
    pub usd_per_device_hour: Option<f64>,
    /// Purchase price of one device, USD (default: the catalog's newest purchase price).
    pub purchase_usd: Option<f64>,
    /// Years a purchase is spread over (`amortisation_years` is read too: v1 spelled it so).
    #[serde(alias = "amortisation_years")]
    pub amortization_years: Option<f64>,
    /// Electricity, USD per kWh.
    pub electricity_usd_per_kwh: Option<f64>,
    /// Facility energy over device energy (1 = the device alone).
    pub pue: Option<f64>,
    /// Share of calendar hours the devices do this work, above 0 and at most 1 (`utilisation`
    /// is read too: v1 spelled it so).
    #[serde(alias = "utilisation")]
    pub utilization: Option<f64>,
    /// Space, cooling and networking per device and month, USD.
    pub hosting_usd_per_month: Option<f64>,
}

impl CostChoice {
    /// This body's fields, with `base`'s where this one is silent.
    pub fn over(&self, base: &CostChoice) -> CostChoice {
        CostChoice {
            basis: self.basis.or(base.basis),
            provider: self.provider.clone().or_else(|| base.provider.clone()),
            term: self.term.or(base.term),
            usd_per_device_hour: self.usd_per_device_hour.or(base.usd_per_device_hour),
            purchase_usd: self.purchase_usd.or(base.purchase_usd),
            amortization_years: self.amortization_years.or(base.amortization_years),
            electricity_usd_per_kwh: self.electricity_usd_per_kwh.or(base.electricity_usd_per_kwh),
            pue: self.pue.or(base.pue),
            utilization: self.utilization.or(base.utilization),
            hosting_usd_per_month: self.hosting_usd_per_month.or(base.hosting_usd_per_month),
        }
    }
}

/// How the device-hour price was reached: every input, given or defaulted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct CostBasis {
    /// `rent`, `own`, or `none` when no price is known.
    pub basis: &'static str,
    /// The price of one device-hour of use, USD (null when none is known).
    pub usd_per_device_hour: Option<f64>,
    /// Rental provider, when renting at a catalog price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Rental term, when renting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<&'static str>,
    /// What is rented or bought, when the source names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offering: Option<String>,
    /// Where the price was read (`request` when the request gave it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When the price was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_on: Option<String>,
    /// Owning: purchase price of one device, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_usd: Option<f64>,
    /// Owning: years the purchase is spread over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amortization_years: Option<f64>,
    /// Owning: share of calendar hours the devices work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
    /// Owning: draw of one device while working, watts (TDP x the engine's power fraction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    /// Owning: hosting per device and month, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosting_usd_per_month: Option<f64>,
    /// Owning: the purchase's share of a device-hour of use, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capital_usd_per_device_hour: Option<f64>,
    /// Owning: electricity per device-hour of use, PUE included, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub energy_usd_per_device_hour: Option<f64>,
    /// Owning: hosting's share of a device-hour of use, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosting_usd_per_device_hour: Option<f64>,
    /// Electricity price used to turn energy into money, USD per kWh.
    pub electricity_usd_per_kwh: f64,
    /// Facility overhead used to turn energy into money.
    pub pue: f64,
}

/// A resolved `cost` object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CostPlan {
    /// The echo, with the device-hour price.
    pub basis: CostBasis,
    /// The owned device, when owning.
    pub owned: Option<Owned>,
}

impl CostPlan {
    /// USD per device-hour of use.
    pub fn usd_per_device_hour(&self) -> Option<f64> {
        self.basis.usd_per_device_hour
    }

    /// The money for `kwh` of device energy at this plan's electricity price and PUE.
    pub fn energy_usd(&self, device_kwh: f64) -> f64 {
        crate::engine::cost::energy_usd(device_kwh, self.basis.electricity_usd_per_kwh, self.basis.pue)
    }
}

/// What the rest of the request says about cost.
pub struct Context<'a> {
    /// The pointer of the `cost` object (`/cost`, or `/items/2/inference/cost`).
    pub pointer: String,
    /// A price given the old way, `overrides.usd_per_device_hour`, and its pointer.
    pub legacy_price: Option<(f64, String)>,
    /// The device's prices.
    pub pricing: &'a Pricing,
    /// The device's draw while working, watts.
    pub power_w: Option<f64>,
    /// The catalog's defaults.
    pub defaults: OwnershipDefaults,
    /// A PUE the request gave elsewhere (training's `pue`), used when `cost.pue` is absent.
    pub pue: Option<f64>,
    /// Whether a provider or term the device is not rented at is an error (a request about
    /// this device) or leaves it unpriced (a plan-wide choice over many devices).
    pub strict: bool,
}

/// The ranges of `body`'s numbers, checked without a device (the scaling requests price many
/// runs from one `cost`, and refuse a bad one before running any): every bad field at once,
/// under `pointer`.
pub fn check_ranges(body: &CostChoice, pointer: &str) -> Result<(), Error> {
    let at = |field: &str| format!("{pointer}/{field}");
    let mut checks = Checks::default();
    checks.number(at("usd_per_device_hour"), range::USD_PER_DEVICE_HOUR, body.usd_per_device_hour);
    checks.number(at("purchase_usd"), range::PURCHASE_USD, body.purchase_usd);
    checks.number(at("amortization_years"), range::AMORTIZATION_YEARS, body.amortization_years);
    checks.number(at("electricity_usd_per_kwh"), range::USD_PER_KWH, body.electricity_usd_per_kwh);
    checks.number(at("pue"), range::PUE, body.pue);
    checks.number(at("utilization"), range::UTILIZATION, body.utilization);
    checks.number(at("hosting_usd_per_month"), range::HOSTING_USD_PER_MONTH, body.hosting_usd_per_month);
    checks.finish()
}

/// Resolves `body` for a device; a request that names a provider or term the device is not
/// rented at is a 422 that lists the ones it is.
pub fn resolve(body: &CostChoice, cx: &Context<'_>, assumed: &mut Assumptions) -> Result<CostPlan, Error> {
    let at = |field: &str| format!("{}/{field}", cx.pointer);
    // Assumptions name fields relative to the request, as every other assumption does.
    let relative = cx.pointer.rsplit_once('/').map_or(cx.pointer.as_str(), |(_, last)| last).to_owned();
    let named = |field: &str| format!("{relative}/{field}");
    let mut checks = Checks::default();
    let given_price = checks.number(at("usd_per_device_hour"), range::USD_PER_DEVICE_HOUR, body.usd_per_device_hour);
    let purchase = checks.number(at("purchase_usd"), range::PURCHASE_USD, body.purchase_usd);
    let years = checks.number(at("amortization_years"), range::AMORTIZATION_YEARS, body.amortization_years);
    let electricity = checks.number(at("electricity_usd_per_kwh"), range::USD_PER_KWH, body.electricity_usd_per_kwh);
    let pue = checks.number(at("pue"), range::PUE, body.pue);
    let utilization = checks.number(at("utilization"), range::UTILIZATION, body.utilization);
    let hosting = checks.number(at("hosting_usd_per_month"), range::HOSTING_USD_PER_MONTH, body.hosting_usd_per_month);
    checks.finish()?;
    let given_price = match (given_price, &cx.legacy_price) {
        (Some(a), Some((b, pointer))) if a != *b => {
            return Err(Error::unprocessable(
                pointer.clone(),
                format!(
                    "two prices per device-hour were given ({b} here and {a} at cost/usd_per_device_hour); give one"
                ),
            ));
        }
        (Some(a), _) => Some(a),
        (None, legacy) => legacy.as_ref().map(|(p, _)| *p),
    };
    let d = cx.defaults;
    let electricity = electricity.unwrap_or_else(|| {
        assumed.push(
            named("electricity_usd_per_kwh"),
            d.electricity_usd_per_kwh,
            "the catalog's default electricity price",
        );
        d.electricity_usd_per_kwh
    });
    let pue = pue.or(cx.pue).unwrap_or_else(|| {
        assumed.push(named("pue"), d.pue, "the catalog's default facility overhead");
        d.pue
    });
    let rental = cx.pricing.cheapest_rental(body.provider.as_deref(), body.term.unwrap_or_default());
    // A provider, term or hourly price means renting; otherwise a device with no rental price
    // (or a request with a purchase price) is owned.
    let wants_rent = body.provider.is_some() || body.term.is_some() || given_price.is_some();
    let owning = match body.basis {
        Some(basis) => basis == Basis::Own,
        None => !wants_rent && (purchase.is_some() || rental.is_none()),
    };
    let mut echo = CostBasis { electricity_usd_per_kwh: electricity, pue, ..CostBasis::default() };
    if !owning {
        if body.basis.is_none() {
            assumed.push(
                named("basis"),
                "rent",
                "renting: a price per device-hour was given or the device has a rental price",
            );
        }
        echo.basis = "rent";
        echo.term = Some(body.term.unwrap_or_default().as_str());
        if let Some(price) = given_price {
            echo.usd_per_device_hour = Some(price);
            echo.source = Some("request".into());
        } else if let Some(price) = rental {
            echo.usd_per_device_hour = Some(price.usd_per_hour);
            echo.provider = Some(price.provider.clone());
            echo.offering.clone_from(&price.offering);
            echo.source = Some(price.source.clone());
            echo.checked_on = Some(price.checked_on.clone());
            if body.provider.is_none() {
                assumed.push(named("provider"), &price.provider, "the cheapest published rental price of this term");
            }
        } else if cx.strict && (body.provider.is_some() || body.term.is_some()) {
            return Err(unrented(cx, &at(if body.provider.is_some() { "provider" } else { "term" })));
        } else {
            echo.basis = "none";
            assumed.push(named("usd_per_device_hour"), "none", "the catalog has no rental price for this device");
        }
        return Ok(CostPlan { basis: echo, owned: None });
    }
    if given_price.is_some() {
        return Err(Error::unprocessable(
            at("usd_per_device_hour"),
            "a price per device-hour is a rental price; owning is priced by purchase_usd, power and hosting",
        ));
    }
    if body.basis.is_none() {
        assumed.push(named("basis"), "own", "owning: a purchase price was given or the device has no rental price");
    }
    echo.basis = "own";
    let catalog_purchase = cx.pricing.newest_purchase();
    let purchase_usd = match (purchase, catalog_purchase) {
        (Some(usd), _) => {
            echo.source = Some("request".into());
            usd
        }
        (None, Some(p)) => {
            echo.offering = Some(p.product.clone());
            echo.source = Some(p.source.clone());
            echo.checked_on = Some(p.checked_on.clone());
            assumed.push(named("purchase_usd"), p.usd, "the catalog's newest purchase price for this device");
            p.usd
        }
        (None, None) => {
            echo.basis = "none";
            assumed.push(named("purchase_usd"), "none", "the catalog has no purchase price for this device");
            return Ok(CostPlan { basis: echo, owned: None });
        }
    };
    let mut default = |given: Option<f64>, field: &str, value: f64, why: &'static str| {
        given.unwrap_or_else(|| {
            assumed.push(named(field), value, why);
            value
        })
    };
    let owned = Owned {
        purchase_usd,
        amortization_years: default(
            years,
            "amortization_years",
            d.amortization_years,
            "the catalog's default useful life",
        ),
        power_w: cx.power_w,
        utilization: default(utilization, "utilization", d.utilization, "the catalog's default share of hours in use"),
        electricity_usd_per_kwh: electricity,
        pue,
        hosting_usd_per_month: default(
            hosting,
            "hosting_usd_per_month",
            d.hosting_usd_per_month,
            "the catalog's default hosting cost",
        ),
    };
    if cx.power_w.is_none() {
        assumed.push(named("power_w"), "none", "the device has no power figure: electricity is not counted");
    }
    let hour = owned.per_hour_used();
    echo.usd_per_device_hour = Some(hour.total_usd());
    echo.purchase_usd = Some(owned.purchase_usd);
    echo.amortization_years = Some(owned.amortization_years);
    echo.utilization = Some(owned.utilization);
    echo.power_w = owned.power_w;
    echo.hosting_usd_per_month = Some(owned.hosting_usd_per_month);
    echo.capital_usd_per_device_hour = Some(hour.capital_usd);
    echo.energy_usd_per_device_hour = Some(hour.energy_usd);
    echo.hosting_usd_per_device_hour = Some(hour.hosting_usd);
    Ok(CostPlan { basis: echo, owned: Some(owned) })
}

/// The 422 for a provider or term the device is not rented at.
fn unrented(cx: &Context<'_>, pointer: &str) -> Error {
    let mut offers: Vec<String> =
        cx.pricing.rentals.iter().map(|p| format!("{} {}", p.provider, p.term.as_str())).collect();
    offers.sort();
    offers.dedup();
    let known = if offers.is_empty() { "none".to_owned() } else { offers.join(", ") };
    Error::unprocessable(pointer, format!("no published rental price matches; this device is rented as: {known}"))
}
