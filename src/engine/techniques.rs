//! Serving techniques beyond plain decoding, one field each, all off by default: every place that
//! builds an [`super::inference::InferenceInput`] without naming them (`..` or
//! `Techniques::default()`) runs plain decoding.

use super::speculative::Speculation;

/// The serving techniques a deployment uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Techniques {
    /// Speculative decoding: a drafter proposes tokens, the model verifies them in one step.
    pub speculation: Option<Speculation>,
}
