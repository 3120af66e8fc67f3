//! Reading a request document: JSON text, TOML text or an already parsed JSON value, into a
//! wire type, with every failure at a JSON pointer.
//!
//! The HTTP extractor, the CLI's `--request FILE` and the plan files of `hwcost check` and
//! `hwcost plan` all come through here, so a document is accepted or refused the same way
//! wherever it arrives.

use serde::de::DeserializeOwned;

use super::Error;

/// How a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON.
    Json,
    /// TOML (tables for objects; the same field names as JSON).
    Toml,
}

impl Syntax {
    /// TOML for a `.toml` path, JSON otherwise.
    pub fn of_path(path: &std::path::Path) -> Self {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) { Self::Toml } else { Self::Json }
    }
}

/// Parses `text` written in `syntax` into `T`.
pub fn parse<T: DeserializeOwned>(text: &str, syntax: Syntax) -> Result<T, Error> {
    let value: serde_json::Value = match syntax {
        Syntax::Json => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let value = serde_path_to_error::deserialize(&mut deserializer).map_err(from_json_error)?;
            deserializer.end().map_err(|e| Error::MalformedJson {
                detail: clean_serde_message(&e.to_string()),
                pointer: String::new(),
            })?;
            value
        }
        Syntax::Toml => toml::from_str(text)
            .map_err(|e| Error::MalformedJson { detail: e.message().to_owned(), pointer: String::new() })?,
    };
    from_value(value)
}

/// Deserialises an already parsed value into `T`.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(from_json_error)
}

/// Converts a `serde_path_to_error` failure into the problem it means: a syntax error is
/// malformed JSON, anything else (wrong type, missing field, unknown variant) is a field error
/// at the path where deserialisation stopped.
pub fn from_json_error(error: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let mut pointer = to_pointer(&error.path().to_string());
    let inner = error.into_inner();
    let message = inner.to_string();
    // A nested object's own path travels in its message (see `wire`).
    let (nested, message) = crate::wire::split_nested(&message);
    if let Some(path) = nested {
        pointer.push_str(&to_pointer(path));
    }
    let detail = clean_serde_message(message);
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
            Error::MalformedJson { detail, pointer }
        }
        serde_json::error::Category::Data => Error::field(pointer, detail),
    }
}

/// Turns serde_path_to_error's `a.b[0].c` path into an RFC 6901 pointer `/a/b/0/c`.
///
/// The path `.` means the root; map keys containing `.` are rare in our requests, so the dotted
/// form is unambiguous enough. `~` and `/` in keys are escaped as RFC 6901 requires.
pub fn to_pointer(path: &str) -> String {
    if path == "." || path.is_empty() {
        return String::new();
    }
    let mut pointer = String::new();
    for segment in path.split('.') {
        let mut rest = segment;
        // A segment is `name` followed by zero or more `[index]`.
        let name_end = rest.find('[').unwrap_or(rest.len());
        let (name, tail) = rest.split_at(name_end);
        if !name.is_empty() {
            pointer.push('/');
            pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        rest = tail;
        while let Some(open) = rest.find('[') {
            let Some(close) = rest[open..].find(']') else { break };
            pointer.push('/');
            pointer.push_str(&rest[open + 1..open + close]);
            rest = &rest[open + close + 1..];
        }
    }
    pointer
}

/// serde's messages end with " at line 1 column 12"; keep that (it helps with syntax errors) but
/// lowercase the first letter so messages read the same everywhere.
fn clean_serde_message(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
