//! Requests as the domain sees them: each request kind is parsed once, here, from its wire type
//! into engine inputs, whoever asks (HTTP, the CLI, a TOML plan, a batch item, a validation
//! point, a planner candidate, a calibration point).
//!
//! A parser resolves model and hardware references, applies defaults (and lists each one it
//! applied as an [`Assumption`]), checks every range against its single declaration in
//! [`range`], and checks the layout rules in [`layout`]. It returns a scenario the engine cannot
//! fail on. Errors carry JSON pointers; this module knows nothing of actix or status codes (the
//! API maps [`Error`] to problem+json in `api::problem`).
//!
//! Table of contents:
//! - [`inference`], [`training`]: the estimate requests and their scenarios.
//! - [`check`]: a capacity check's plan.
//! - [`requirements`]: the limits a check or a plan holds a scenario to; [`plan`]: a planning
//!   request's search space; [`plan_training`]: a training planning request's.
//! - [`resolve`]: model and hardware references (catalog id or inline object); [`config`]:
//!   an inline Hugging Face `config.json`.
//! - [`range`]: every numeric range of every request, declared once.
//! - [`layout`]: the parallel-layout rules, shared by inference and training.
//! - [`training_layout`]: the automatic training layout (devices given, layout left out).
//! - [`document`]: reading a request document (JSON or TOML) with pointer errors.

/// Displays wire enums by the id a client sends (their serde name), so an assumption reads
/// `"weights": "bf16"` and never a Rust variant name.
macro_rules! display_as_wire {
    ($($t:ty),* $(,)?) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match serde_json::to_value(self) {
                    Ok(serde_json::Value::String(name)) => f.write_str(&name),
                    _ => Err(std::fmt::Error),
                }
            }
        }
    )*};
}

pub mod check;
pub mod config;
pub mod cost;
pub mod deployment;
pub mod disaggregation;
pub mod document;
pub mod engine_profile;
pub mod inference;
pub mod kv_offload;
pub mod layout;
pub mod moe_defaults;
pub mod plan;
pub mod plan_training;
pub mod range;
pub mod requirements;
pub mod resolve;
pub mod scaling;
pub mod serving;
pub mod speculative;
pub mod training;
pub mod training_defaults;
pub mod training_layout;

use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"pointer": "/devices", "detail": "must be an integer from 1 to 65536"}))]
pub struct FieldError {
    /// RFC 6901 JSON pointer to the offending value (`""` is the whole document; for query
    /// parameters the pointer is `/<parameter name>`).
    pub pointer: String,
    /// What was wrong and what is accepted, lowercase, no trailing period.
    pub detail: String,
    /// An id the catalog does not know, as sent (only on unknown-id errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "h100")]
    pub unknown_id: Option<String>,
    /// Catalog ids close to `unknown_id`, best first (the "did you mean" of `detail`, for a
    /// client to offer as choices); absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

impl FieldError {
    /// A field error at `pointer`.
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), detail: detail.into(), unknown_id: None, suggestions: Vec::new() }
    }
}

/// Why a request cannot become a scenario.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The document is not syntactically valid JSON or TOML.
    #[error("request body is not valid JSON: {detail}")]
    MalformedJson {
        /// The parser's message, with line and column.
        detail: String,
        /// Where parsing stopped.
        pointer: String,
    },
    /// Some fields are missing, mistyped or out of range.
    #[error("{}", invalid_summary(.0))]
    InvalidRequest(Vec<FieldError>),
    /// An id names no catalog entry.
    #[error("unknown {kind} \"{id}\"{}", suggestion(.suggestions))]
    UnknownId {
        /// What kind of entry: `hardware`, `model`, `api price`.
        kind: &'static str,
        /// The id the client sent.
        id: String,
        /// Close matches, best first.
        suggestions: Vec<String>,
        /// The body field that named it (none for an id in the path).
        pointer: Option<String>,
    },
    /// Valid fields that describe something impossible (a layout the model cannot take, an
    /// unsupported model type, a search space over the server's cap).
    #[error("{detail}")]
    Unprocessable {
        /// What could not be processed.
        detail: String,
        /// The field it came from, when there is one.
        pointer: Option<String>,
    },
    /// A parallel layout the model cannot take (a check reports it as a failed rule).
    #[error("{0}")]
    Layout(layout::LayoutError),
    /// A bug (for example a catalog missing an id the wire enum names).
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// A single-field validation error.
    pub fn field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::InvalidRequest(vec![FieldError::new(pointer, detail)])
    }

    /// An id that names no catalog entry of `kind` (the id is clipped to 100 characters).
    pub fn unknown_id(kind: &'static str, id: &str, suggestions: Vec<String>) -> Self {
        Self::UnknownId { kind, id: id.chars().take(100).collect(), suggestions, pointer: None }
    }

    /// This error, about the body field at `pointer` (an unknown id named in a body).
    #[must_use]
    pub fn at(self, at: impl Into<String>) -> Self {
        match self {
            Self::UnknownId { kind, id, suggestions, .. } => {
                Self::UnknownId { kind, id, suggestions, pointer: Some(at.into()) }
            }
            other => other,
        }
    }

    /// A valid field that describes something impossible.
    pub fn unprocessable(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Unprocessable { detail: detail.into(), pointer: Some(pointer.into()) }
    }

    /// The pointer and detail of every field this error is about.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::MalformedJson { detail, pointer } => vec![FieldError::new(pointer.clone(), detail.clone())],
            Self::InvalidRequest(errors) => errors.clone(),
            Self::Unprocessable { detail, pointer: Some(pointer) } => {
                vec![FieldError::new(pointer.clone(), detail.clone())]
            }
            Self::Layout(e) => vec![FieldError::new(e.pointer.clone(), e.detail.clone())],
            Self::UnknownId { pointer: Some(pointer), id, suggestions, .. } => vec![FieldError {
                unknown_id: Some(id.clone()),
                suggestions: suggestions.clone(),
                ..FieldError::new(pointer.clone(), self.to_string())
            }],
            _ => Vec::new(),
        }
    }
}

impl From<layout::LayoutError> for Error {
    fn from(error: layout::LayoutError) -> Self {
        Self::Layout(error)
    }
}

/// "1 field" names it; more are counted.
pub(crate) fn invalid_summary(errors: &[FieldError]) -> String {
    match errors {
        [one] => format!("{}: {}", display_pointer(&one.pointer), one.detail),
        many => format!("{} fields are invalid", many.len()),
    }
}

fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() { "request body" } else { pointer }
}

/// "; did you mean a or b?" for close matches, nothing without.
pub(crate) fn suggestion(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        many => format!("; did you mean {}?", many.join(" or ")),
    }
}

/// A default the parser applied because the request left a field out, so a dashboard can show
/// what was assumed next to the number.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"field": "weights", "value": "bf16", "reason": "the default weight format"}))]
pub struct Assumption {
    /// Request field (a path relative to the request, `/`-separated) the default stands for.
    pub field: String,
    /// The value used, as text.
    pub value: String,
    /// Why this value.
    pub reason: &'static str,
}

/// The assumptions of one parse, in the order they were made.
#[derive(Debug, Clone, Default)]
pub struct Assumptions(pub Vec<Assumption>);

impl Assumptions {
    /// Records that `field` defaulted to `value`.
    pub fn push(&mut self, field: impl Into<String>, value: impl ToString, reason: &'static str) {
        self.0.push(Assumption { field: field.into(), value: value.to_string(), reason });
    }

    /// `given`, or `default` recorded as an assumption.
    pub fn or<T: ToString>(&mut self, given: Option<T>, field: &str, default: T, reason: &'static str) -> T {
        match given {
            Some(v) => v,
            None => {
                self.push(field, default.to_string(), reason);
                default
            }
        }
    }
}
