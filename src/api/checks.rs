//! Range checks for request values, collecting every problem with its pointer.

use super::problem::{ApiError, FieldError};

/// Collects field errors; [`Checks::finish`] turns them into one 400.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// Checks an optional number lies in `[min, max]` and is finite.
    pub fn number(&mut self, pointer: &str, value: Option<f64>, min: f64, max: f64) -> Option<f64> {
        let value = value?;
        if value.is_finite() && value >= min && value <= max {
            Some(value)
        } else {
            self.0.push(FieldError::new(pointer, format!("must be a number from {min} to {max}, got {value}")));
            None
        }
    }

    /// Records an error.
    pub fn push(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.0.push(FieldError::new(pointer, detail));
    }

    /// `Ok` when nothing was recorded.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(ApiError::InvalidRequest(self.0)) }
    }
}
