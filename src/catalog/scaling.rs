//! Scaling-law fits: the schema of `data/scaling.toml` and its conversion into
//! [`crate::engine::scaling::Fit`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::scaling::{Fit, Law, Repetition};

/// The functional form of a fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FitForm {
    /// `L = E + A / N^alpha + B / D^beta` (Hoffmann et al. 2022, Eq. 2).
    Additive,
    /// `L = [(N_c / N)^(alpha_n / alpha_d) + D_c / D]^alpha_d` (Kaplan et al. 2020, Eq. 1.5).
    Kaplan,
}

/// Standard errors of an additive fit's constants.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandardErrors {
    /// Of E.
    pub e: f64,
    /// Of A.
    pub a: f64,
    /// Of B.
    pub b: f64,
    /// Of alpha.
    pub alpha: f64,
    /// Of beta.
    pub beta: f64,
}

/// 95% intervals of an additive fit's constants, `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Intervals {
    /// Of E.
    pub e: [f64; 2],
    /// Of A.
    pub a: [f64; 2],
    /// Of B.
    pub b: [f64; 2],
    /// Of alpha.
    pub alpha: [f64; 2],
    /// Of beta.
    pub beta: [f64; 2],
}

/// The repeated-data constants (Muennighoff et al. 2023).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepetitionRecord {
    /// `R_D*`, repetitions.
    pub r_d_star: f64,
    /// `R_N*`, repetitions.
    pub r_n_star: f64,
}

/// A published scaling-law fit, with what its loss is measured on.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingFitRecord {
    /// Fit id: first author and year.
    #[schema(example = "besiroglu2024")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// The fit requests use when they name none.
    #[serde(default)]
    pub default: bool,
    /// Functional form.
    pub form: FitForm,
    /// Irreducible loss E (additive form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<f64>,
    /// Parameter coefficient A (additive form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<f64>,
    /// Data coefficient B (additive form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<f64>,
    /// Parameter exponent (additive form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Data exponent (additive form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Parameter scale N_c (Kaplan form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_c: Option<f64>,
    /// Data scale D_c (Kaplan form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d_c: Option<f64>,
    /// Parameter exponent alpha_N (Kaplan form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_n: Option<f64>,
    /// Data exponent alpha_D (Kaplan form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_d: Option<f64>,
    /// Standard errors of the constants, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_error: Option<StandardErrors>,
    /// 95% intervals of the constants, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_95: Option<Intervals>,
    /// The repeated-data law, when the fit has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition: Option<RepetitionRecord>,
    /// What the loss is measured on (losses of different fits are not comparable).
    pub loss_measured_on: String,
    /// Which parameters N counts.
    pub parameters_counted: String,
    /// The paper.
    pub source: String,
    /// The equation or table the constants come from.
    pub equation: String,
    /// Caveats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl ScalingFitRecord {
    /// The engine's fit, or what is wrong with the record.
    pub fn to_engine(&self) -> Result<Fit, String> {
        let positive = |name: &str, v: Option<f64>| match v {
            Some(v) if v.is_finite() && v > 0.0 => Ok(v),
            Some(_) => Err(format!("{name} must be a positive number")),
            None => Err(format!("{name} is required for form {:?}", self.form)),
        };
        let law = match self.form {
            FitForm::Additive => Law::Additive {
                e: match self.e {
                    Some(e) if e.is_finite() && e >= 0.0 => e,
                    _ => return Err("e must be a number >= 0".into()),
                },
                a: positive("a", self.a)?,
                b: positive("b", self.b)?,
                alpha: positive("alpha", self.alpha)?,
                beta: positive("beta", self.beta)?,
            },
            FitForm::Kaplan => Law::Kaplan {
                n_c: positive("n_c", self.n_c)?,
                d_c: positive("d_c", self.d_c)?,
                alpha_n: positive("alpha_n", self.alpha_n)?,
                alpha_d: positive("alpha_d", self.alpha_d)?,
            },
        };
        let repetition = match self.repetition {
            Some(r) => Some(Repetition {
                r_d_star: positive("repetition.r_d_star", Some(r.r_d_star))?,
                r_n_star: positive("repetition.r_n_star", Some(r.r_n_star))?,
            }),
            None => None,
        };
        if self.source.is_empty() || self.equation.is_empty() || self.loss_measured_on.is_empty() {
            return Err("source, equation and loss_measured_on must not be empty".into());
        }
        Ok(Fit { law, repetition })
    }
}

/// A fit: its record and its engine form.
#[derive(Debug, Clone)]
pub struct CatalogFit {
    /// The record, with sources.
    pub record: ScalingFitRecord,
    /// The engine's view.
    pub fit: Fit,
}

/// The file `data/scaling.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScalingFile {
    pub fit: Vec<ScalingFitRecord>,
}
