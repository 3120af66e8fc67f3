//! Model descriptions from outside: Hugging Face `config.json`, safetensors and GGUF headers.
//!
//! Parsers here are bounded: every length read from input is checked against the bytes present
//! and a cap before anything is allocated, so hostile input yields an [`ImportError`], never a
//! panic or a huge allocation. No HTTP here; the API maps [`ImportError`] to problems.

pub mod benchmarks;
pub mod finetune;
pub mod gguf;
pub mod hf_config;
pub mod safetensors;

/// Why a model file header could not be read. Every variant is a client error.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImportError {
    /// The input ends before the header does.
    #[error("file is truncated: {0}")]
    Truncated(String),
    /// The header is not what the format says.
    #[error("malformed header: {0}")]
    Malformed(String),
    /// A length or count exceeds a cap.
    #[error("header exceeds a limit: {0}")]
    TooLarge(String),
    /// A valid file this service does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
}
