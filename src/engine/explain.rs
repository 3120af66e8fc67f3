//! Explanations: every number the engine returns comes with the rule that made it.

/// One step of an estimate: which rule, its formula in words, the inputs it used and the result.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Stable rule id, e.g. `memory.kv_cache`.
    pub rule: &'static str,
    /// The formula in words, with its source or assumption.
    pub formula: &'static str,
    /// Named inputs, in the units their names give.
    pub inputs: Vec<(&'static str, f64)>,
    /// The result.
    pub value: f64,
    /// Unit of `value`.
    pub unit: &'static str,
}

/// Something the caller should know about an estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Stable machine code, e.g. `does-not-fit`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

/// Collects explanations as rules fire, returning each value so formulas read naturally, and
/// the warnings. A silent trace (`Trace::new(false)`) keeps neither and allocates nothing: the
/// planner evaluates millions of configurations and only needs the numbers.
#[derive(Debug)]
pub struct Trace {
    explanations: Vec<Explanation>,
    warnings: Vec<Warning>,
    detailed: bool,
}

impl Trace {
    /// A trace that keeps explanations and warnings when `detailed`.
    pub fn new(detailed: bool) -> Self {
        Self { explanations: Vec::new(), warnings: Vec::new(), detailed }
    }

    /// Records `value` under `rule` and returns it.
    pub fn record(
        &mut self,
        rule: &'static str,
        formula: &'static str,
        inputs: &[(&'static str, f64)],
        value: f64,
        unit: &'static str,
    ) -> f64 {
        // Non-finite values never leave the engine; a formula that produced one reports zero.
        let value = if value.is_finite() { value } else { 0.0 };
        if self.detailed {
            self.explanations.push(Explanation { rule, formula, inputs: inputs.to_vec(), value, unit });
        }
        value
    }

    /// Adds a warning; the message is only formatted when the trace is detailed.
    pub fn warn(&mut self, code: &'static str, message: impl FnOnce() -> String) {
        if self.detailed {
            self.warnings.push(Warning { code, message: message() });
        }
    }

    /// The warnings and explanations collected.
    pub fn finish(self) -> (Vec<Warning>, Vec<Explanation>) {
        (self.warnings, self.explanations)
    }
}
