//! Hosted-API prices: the schema of `data/prices/api.toml`, for the self-host vs API comparison,
//! and the dated exchange rates of `data/prices/exchange_rates.toml` that answer prices published
//! in another currency in USD.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::scenario::Assumption;

/// Why a price published in another currency is answered in USD.
pub const CONVERSION_REASON: &str = "the price is published in another currency; it is answered in USD at the catalog's dated, sourced exchange rate (data/prices/exchange_rates.toml)";

/// One provider's price for one model, dated and sourced, as answered: always in USD, with the
/// published figures and the conversion beside them when the provider publishes another currency.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct ApiPriceRecord {
    /// `provider/model`, what a plan's `api_price` names.
    #[schema(example = "deepinfra/llama-3.1-70b")]
    pub id: String,
    /// Provider name.
    pub provider: String,
    /// The model: a catalog model id for open weights, the vendor's name otherwise.
    pub model: String,
    /// Whether the weights are published (then `model` is a catalog id and the model can be
    /// self-hosted); closed models are priced for comparison only.
    pub open_weights: bool,
    /// USD per million prompt tokens (converted at `exchange_rate` when `currency` is not USD).
    pub usd_per_million_input_tokens: f64,
    /// USD per million generated tokens (converted at `exchange_rate` when `currency` is not USD).
    pub usd_per_million_output_tokens: f64,
    /// The currency the provider publishes the price in (ISO 4217: `USD`, `CNY`).
    #[serde(default = "usd")]
    #[schema(example = "USD")]
    pub currency: String,
    /// The published price per million prompt tokens, in `currency`.
    #[serde(default)]
    pub per_million_input_tokens: f64,
    /// The published price per million generated tokens, in `currency`.
    #[serde(default)]
    pub per_million_output_tokens: f64,
    /// The rate the USD figures were converted at; absent for prices published in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<ExchangeRate>,
    /// First day the price applied (`YYYY-MM-DD` or `YYYY-MM`), when the source dates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// Day the price stopped applying (superseded or withdrawn); absent while it applies, as far
    /// as the source says. Dated history (GPT-3 davinci, the GPT-3.5 Turbo cuts) carries both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// When the price was read (prices change often).
    pub as_of: String,
    /// Where.
    pub source: String,
    /// Whether the figure was read from the source (false: unverified, see notes).
    pub verified: bool,
    /// Serving variant and caveats.
    #[serde(default)]
    pub notes: String,
    /// What the answer assumed: the currency conversion, when there is one.
    #[serde(default, skip_deserializing)]
    pub assumptions: Vec<Assumption>,
}

/// A dated, sourced exchange rate: how many units of `currency` one US dollar bought.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRate {
    /// ISO 4217 code of the foreign currency.
    #[schema(example = "CNY")]
    pub currency: String,
    /// Units of `currency` per US dollar.
    #[schema(example = 7.2734)]
    pub units_per_usd: f64,
    /// The date or period the rate is for (`YYYY-MM-DD`, or `YYYY-MM` for a monthly average).
    pub as_of: String,
    /// Where the rate was read and what it is (daily, monthly average...).
    pub source: String,
}

impl ExchangeRate {
    /// Problems with the rate.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.units_per_usd.is_finite() && (1e-6..=1e6).contains(&self.units_per_usd)) {
            return Err(format!("units_per_usd must be from 1e-6 to 1e6, got {}", self.units_per_usd));
        }
        if !is_currency(&self.currency) || self.currency == "USD" {
            return Err(format!("currency must be a 3-letter code other than USD, got {:?}", self.currency));
        }
        if self.source.is_empty() || !is_date(&self.as_of) {
            return Err("source and as_of (YYYY-MM-DD or YYYY-MM) are required".into());
        }
        Ok(())
    }
}

/// One `[[price]]` of `data/prices/api.toml` as written: USD prices in the `usd_per_million_*`
/// fields, other currencies in `per_million_*` with `currency`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiPriceEntry {
    id: String,
    provider: String,
    model: String,
    #[serde(default = "open_weights")]
    open_weights: bool,
    #[serde(default = "usd")]
    currency: String,
    usd_per_million_input_tokens: Option<f64>,
    usd_per_million_output_tokens: Option<f64>,
    per_million_input_tokens: Option<f64>,
    per_million_output_tokens: Option<f64>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    as_of: String,
    source: String,
    verified: bool,
    #[serde(default)]
    notes: String,
}

fn open_weights() -> bool {
    true
}

fn usd() -> String {
    "USD".into()
}

fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// `YYYY-MM-DD` or `YYYY-MM`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    match b.len() {
        7 => digits(0..4) && b[4] == b'-' && digits(5..7),
        10 => digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10),
        _ => false,
    }
}

fn amount(name: &str, v: f64) -> Result<f64, String> {
    if v.is_finite() && (0.0..=100_000.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{name} must be from 0 to 100000, got {v}"))
    }
}

impl ApiPriceEntry {
    /// The entry's id, for error messages.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The answered record: USD as published, or converted at the rate for the entry's currency.
    pub fn resolve(self, rates: &[ExchangeRate]) -> Result<ApiPriceRecord, String> {
        if self.source.is_empty() || self.as_of.is_empty() {
            return Err("source and as_of are required".into());
        }
        for (name, date) in [("valid_from", &self.valid_from), ("valid_until", &self.valid_until)] {
            if date.as_ref().is_some_and(|d| !is_date(d)) {
                return Err(format!("{name} must be YYYY-MM-DD or YYYY-MM"));
            }
        }
        if let (Some(from), Some(until)) = (&self.valid_from, &self.valid_until)
            && from > until
        {
            return Err(format!("valid_from {from} is after valid_until {until}"));
        }
        let (usd_in, usd_out, published_in, published_out, rate) = if self.currency == "USD" {
            let (Some(i), Some(o)) = (self.usd_per_million_input_tokens, self.usd_per_million_output_tokens) else {
                return Err("a USD price needs usd_per_million_input_tokens and usd_per_million_output_tokens".into());
            };
            if self.per_million_input_tokens.is_some() || self.per_million_output_tokens.is_some() {
                return Err("a USD price gives usd_per_million_*, not per_million_*".into());
            }
            let (i, o) = (amount("usd_per_million_input_tokens", i)?, amount("usd_per_million_output_tokens", o)?);
            (i, o, i, o, None)
        } else {
            if !is_currency(&self.currency) {
                return Err(format!("currency must be a 3-letter ISO 4217 code, got {:?}", self.currency));
            }
            if self.usd_per_million_input_tokens.is_some() || self.usd_per_million_output_tokens.is_some() {
                return Err(format!(
                    "a {} price is stored as published (per_million_input_tokens, per_million_output_tokens); the USD figures are computed",
                    self.currency
                ));
            }
            let (Some(i), Some(o)) = (self.per_million_input_tokens, self.per_million_output_tokens) else {
                return Err(format!(
                    "a {} price needs per_million_input_tokens and per_million_output_tokens",
                    self.currency
                ));
            };
            let (i, o) = (amount("per_million_input_tokens", i)?, amount("per_million_output_tokens", o)?);
            let rate = rates
                .iter()
                .find(|r| r.currency == self.currency)
                .ok_or_else(|| format!("no exchange rate for {} in prices/exchange_rates.toml", self.currency))?;
            (i / rate.units_per_usd, o / rate.units_per_usd, i, o, Some(rate.clone()))
        };
        let assumptions = rate
            .as_ref()
            .map(|r| {
                vec![Assumption {
                    field: "usd_per_million_input_tokens".into(),
                    value: format!(
                        "{published_in} {c} in, {published_out} {c} out per million tokens / {} {c} per USD (as of {}, {}) = {} USD in, {} USD out",
                        r.units_per_usd,
                        r.as_of,
                        r.source,
                        round4(usd_in),
                        round4(usd_out),
                        c = r.currency
                    ),
                    reason: CONVERSION_REASON,
                }]
            })
            .unwrap_or_default();
        Ok(ApiPriceRecord {
            id: self.id,
            provider: self.provider,
            model: self.model,
            open_weights: self.open_weights,
            usd_per_million_input_tokens: usd_in,
            usd_per_million_output_tokens: usd_out,
            currency: self.currency,
            per_million_input_tokens: published_in,
            per_million_output_tokens: published_out,
            exchange_rate: rate,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            as_of: self.as_of,
            source: self.source,
            verified: self.verified,
            notes: self.notes,
            assumptions,
        })
    }
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

impl ApiPriceRecord {
    /// The source as a plan's comparison cites it: where, when, whether verified, and the
    /// conversion when the price was published in another currency.
    pub fn citation(&self) -> String {
        let conversion = match &self.exchange_rate {
            Some(r) => format!(
                "; published in {} ({} in, {} out per million tokens), converted at {} {} per USD as of {}",
                self.currency,
                self.per_million_input_tokens,
                self.per_million_output_tokens,
                r.units_per_usd,
                r.currency,
                r.as_of
            ),
            None => String::new(),
        };
        format!(
            "{} (as of {}{}{})",
            self.source,
            self.as_of,
            if self.verified { "" } else { ", unverified" },
            conversion
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(toml: &str) -> ApiPriceEntry {
        toml::from_str(toml).unwrap()
    }

    const BASE: &str = "id = \"x/y\"\nprovider = \"X\"\nmodel = \"y\"\nopen_weights = false\nas_of = \"2025-01-01\"\nsource = \"https://example\"\nverified = true\n";

    fn cny() -> ExchangeRate {
        ExchangeRate { currency: "CNY".into(), units_per_usd: 8.0, as_of: "2025-02".into(), source: "test".into() }
    }

    #[test]
    fn usd_prices_pass_through_and_other_currencies_are_converted_with_the_rate_shown() {
        let usd = entry(&format!("{BASE}usd_per_million_input_tokens = 1.5\nusd_per_million_output_tokens = 2\n"))
            .resolve(&[])
            .unwrap();
        assert_eq!((usd.usd_per_million_input_tokens, usd.per_million_output_tokens), (1.5, 2.0));
        assert!(usd.exchange_rate.is_none() && usd.assumptions.is_empty());
        let yuan =
            entry(&format!("{BASE}currency = \"CNY\"\nper_million_input_tokens = 4\nper_million_output_tokens = 16\n"))
                .resolve(&[cny()])
                .unwrap();
        assert_eq!((yuan.usd_per_million_input_tokens, yuan.usd_per_million_output_tokens), (0.5, 2.0));
        assert_eq!(yuan.exchange_rate, Some(cny()));
        assert!(yuan.assumptions[0].value.contains("/ 8 CNY per USD"), "{:?}", yuan.assumptions);
        assert!(yuan.citation().contains("converted at 8 CNY per USD as of 2025-02"));
    }

    #[test]
    fn inconsistent_entries_are_refused() {
        for (extra, rates, wants) in [
            (
                "currency = \"CNY\"\nper_million_input_tokens = 4\nper_million_output_tokens = 16\n",
                vec![],
                "no exchange rate",
            ),
            (
                "currency = \"CNY\"\nusd_per_million_input_tokens = 4\nusd_per_million_output_tokens = 16\n",
                vec![cny()],
                "computed",
            ),
            ("usd_per_million_input_tokens = 4\n", vec![], "needs"),
            ("usd_per_million_input_tokens = -1\nusd_per_million_output_tokens = 1\n", vec![], "from 0"),
            (
                "usd_per_million_input_tokens = 1\nusd_per_million_output_tokens = 1\nvalid_from = \"2024-01-01\"\nvalid_until = \"2023-01-01\"\n",
                vec![],
                "after",
            ),
            (
                "usd_per_million_input_tokens = 1\nusd_per_million_output_tokens = 1\nvalid_from = \"March 2023\"\n",
                vec![],
                "YYYY",
            ),
            ("currency = \"yuan\"\nper_million_input_tokens = 4\nper_million_output_tokens = 16\n", vec![cny()], "ISO"),
        ] {
            let e = entry(&format!("{BASE}{extra}")).resolve(&rates).unwrap_err();
            assert!(e.contains(wants), "{extra}: {e}");
        }
        assert!(ExchangeRate { units_per_usd: f64::NAN, ..cny() }.validate().is_err());
        assert!(ExchangeRate { currency: "USD".into(), ..cny() }.validate().is_err());
        assert!(ExchangeRate { as_of: "Feb".into(), ..cny() }.validate().is_err());
        assert!(cny().validate().is_ok());
    }
}
