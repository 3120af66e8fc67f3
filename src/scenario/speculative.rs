//! The deployment's `speculative` field: speculative decoding, parsed once into
//! [`crate::engine::speculative::Speculation`] for every door (inference, serving, check, plan,
//! CLI).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::range::{self, Checks};
use super::resolve::ResolvedModel;
use super::{Assumptions, Error};
use crate::catalog::Catalog;
use crate::engine::speculative::{Drafter, Method, Speculation};

/// Speculative decoding: a drafter proposes `tokens` tokens per step and the model verifies
/// them in one step.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"method": "draft", "draft_model": "llama-3.2-1b", "tokens": 4, "acceptance_rate": 0.75}))]
pub struct SpeculativeBody {
    /// Where draft tokens come from: `draft` (a smaller catalog model, `draft_model`), `eagle` or
    /// `eagle3` (an EAGLE head: one decoder layer and the model's LM head), `mtp` (DeepSeek-V3's
    /// multi-token-prediction module) or `ngram` (prompt lookup, no drafter cost).
    pub method: SpeculativeMethod,
    /// The draft model's catalog id, for `draft` (required there, refused otherwise): smaller
    /// than the model, with the same tokenizer (e.g. `llama-3.2-1b` for `llama-3.1-70b`).
    pub draft_model: Option<String>,
    /// Draft tokens per step, k, 1 to 16 (default: the method's, `data/speculative.toml`).
    pub tokens: Option<u32>,
    /// Probability that each draft token is accepted, above 0 and at most 0.99 (default: the
    /// method's published figure, `data/speculative.toml`).
    pub acceptance_rate: Option<f64>,
}

/// A speculation method on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SpeculativeMethod {
    /// A separate draft model.
    Draft,
    /// EAGLE heads.
    Eagle,
    /// EAGLE-3 heads.
    Eagle3,
    /// Multi-token prediction modules.
    Mtp,
    /// Prompt lookup.
    Ngram,
}

impl From<SpeculativeMethod> for Method {
    fn from(m: SpeculativeMethod) -> Self {
        match m {
            SpeculativeMethod::Draft => Method::Draft,
            SpeculativeMethod::Eagle => Method::Eagle,
            SpeculativeMethod::Eagle3 => Method::Eagle3,
            SpeculativeMethod::Mtp => Method::Mtp,
            SpeculativeMethod::Ngram => Method::Ngram,
        }
    }
}

/// The range checks of the field (collected with the request's others).
pub fn check(checks: &mut Checks, body: &SpeculativeBody, pointer: &str) -> (Option<u32>, Option<f64>) {
    let tokens = body.tokens.map(|k| checks.int32(format!("{pointer}/tokens"), range::SPECULATIVE_TOKENS, k));
    let rate = checks.number(format!("{pointer}/acceptance_rate"), range::ACCEPTANCE_RATE, body.acceptance_rate);
    (tokens, rate)
}

/// Parses the field at `pointer` for `model` stored in `weight_bits` (KV in `kv_bits`); the
/// defaults applied are listed in `assumed`.
#[allow(clippy::too_many_arguments)]
pub fn parse(
    catalog: &Catalog,
    body: &SpeculativeBody,
    checked: (Option<u32>, Option<f64>),
    model: &ResolvedModel,
    bits: (f64, f64),
    pointer: &str,
    assumed: &mut Assumptions,
) -> Result<Speculation, Error> {
    let method = Method::from(body.method);
    let defaults = catalog
        .speculative(method.as_str())
        .ok_or_else(|| Error::Internal(format!("speculation method {} missing from the catalog", method.as_str())))?;
    let field = pointer.trim_start_matches('/');
    let (tokens, rate) = checked;
    let tokens = assumed.or(
        tokens,
        &format!("{field}/tokens"),
        defaults.tokens,
        "the method's default draft length (data/speculative.toml, with its source)",
    );
    let acceptance_rate = assumed.or(
        rate,
        &format!("{field}/acceptance_rate"),
        defaults.acceptance_rate,
        "the method's published acceptance rate (data/speculative.toml, with its source); acceptance depends on the text, override it for yours",
    );
    let (weight_bits, kv_bits) = bits;
    let drafter = match (method, &body.draft_model) {
        (Method::Draft, None) => {
            return Err(Error::unprocessable(
                format!("{pointer}/draft_model"),
                "the draft method needs draft_model: a smaller catalog model with the same tokenizer",
            ));
        }
        (Method::Draft, Some(id)) => {
            let at = format!("{pointer}/draft_model");
            let draft = catalog.model(id).map_err(|suggestions| Error::unknown_id("model", id, suggestions).at(&at))?;
            if draft.anatomy.total >= model.anatomy.total {
                return Err(Error::unprocessable(
                    at,
                    format!(
                        "the draft model {} ({:.2}B parameters) is not smaller than the model ({:.2}B); a drafter must be much cheaper than the model it drafts for",
                        draft.record.id,
                        draft.anatomy.total.as_f64() / 1e9,
                        model.anatomy.total.as_f64() / 1e9
                    ),
                ));
            }
            Some(Drafter::model(&draft.architecture, &draft.anatomy, weight_bits, kv_bits))
        }
        (_, Some(_)) => {
            return Err(Error::unprocessable(
                format!("{pointer}/draft_model"),
                format!("draft_model applies to the draft method, not {}", method.as_str()),
            ));
        }
        (Method::Ngram, None) => None,
        (_, None) => Some(Drafter::head(method, &model.architecture, &model.anatomy, weight_bits, kv_bits)),
    };
    Ok(Speculation { method, tokens, acceptance_rate, drafter })
}
