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
    match syntax {
        Syntax::Json => from_json_slice(text.as_bytes()),
        Syntax::Toml => {
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| Error::MalformedJson { detail: e.message().to_owned(), pointer: String::new() })?;
            // TOML has `inf` and `nan`; JSON has neither, and the conversion would turn them
            // into null, which reads as absent (`input_tokens = inf` became the default 1024).
            let mut errors = Vec::new();
            for (key, value) in &table {
                non_finite(value, &format!("/{}", escape(key)), &mut errors);
            }
            if !errors.is_empty() {
                return Err(Error::InvalidRequest(errors));
            }
            let value = serde_json::to_value(table)
                .map_err(|e| Error::MalformedJson { detail: e.to_string(), pointer: String::new() })?;
            from_value(value)
        }
    }
}

/// A JSON pointer's reference token for `key` (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every non-finite float in a TOML value, with its pointer.
fn non_finite(value: &toml::Value, pointer: &str, errors: &mut Vec<crate::scenario::FieldError>) {
    match value {
        toml::Value::Float(x) if !x.is_finite() => errors.push(crate::scenario::FieldError::new(
            pointer,
            format!("must be a finite number, got {x} (JSON has no infinity or NaN, so neither is accepted)"),
        )),
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                non_finite(item, &format!("{pointer}/{i}"), errors);
            }
        }
        toml::Value::Table(table) => {
            for (key, item) in table {
                non_finite(item, &format!("{pointer}/{}", escape(key)), errors);
            }
        }
        _ => {}
    }
}

/// Parses JSON bytes into `T`, refusing anything but whitespace after the document (`{...}xyz`
/// is not a JSON text, and two concatenated objects are not one request).
///
/// Enumerated values are case-insensitive on input (`"BF16"`, `"FSDP"`, `"GPU"`): a value that
/// names a variant in another case is rewritten to the canonical spelling and read again, so the
/// wire types keep one spelling each and answers echo the canonical one.
pub fn from_json_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let first = serde_path_to_error::deserialize(&mut deserializer);
    let value = match first {
        Ok(value) => value,
        Err(error) => {
            let Some(fix) = case_fix(&error) else { return Err(from_json_error(error)) };
            // Only a document that parsed this far is worth a second reading.
            let mut tree: serde_json::Value = serde_json::from_slice(bytes).map_err(syntax_error)?;
            apply(&mut tree, &fix);
            return from_value(tree);
        }
    };
    deserializer.end().map_err(syntax_error)?;
    Ok(value)
}

/// Deserialises an already parsed value into `T`, enumerated values in any case (see
/// [`from_json_slice`]). Each rewrite fixes one value; a document has a bounded number of them.
pub fn from_value<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, Error> {
    const MAX_REWRITES: usize = 64;
    for _ in 0..MAX_REWRITES {
        match serde_path_to_error::deserialize(&value) {
            Ok(parsed) => return Ok(parsed),
            Err(error) => match case_fix(&error) {
                Some(fix) if apply(&mut value, &fix) => {}
                _ => return Err(from_json_error(error)),
            },
        }
    }
    serde_path_to_error::deserialize(value).map_err(from_json_error)
}

/// A value to rewrite: where it is, and the canonical variant it names.
struct CaseFix {
    pointer: String,
    canonical: String,
}

/// The canonical variant an "unknown variant" error's value names in another case, if any.
fn case_fix(error: &serde_path_to_error::Error<serde_json::Error>) -> Option<CaseFix> {
    let message = error.inner().to_string();
    // A nested deserialisation (a check's `inference`) prefixes its own path to the message.
    let (nested, inner) = crate::wire::split_nested(&message);
    let canonical = canonical_variant(inner)?;
    let mut pointer = to_pointer(&error.path().to_string());
    if let Some(path) = nested {
        pointer.push_str(&to_pointer(path));
    }
    Some(CaseFix { pointer, canonical })
}

/// From serde's "unknown variant `Bf16`, expected one of `fp32`, `bf16`" (or "expected `a` or
/// `b`"), the expected variant equal to the given one ignoring ASCII case.
pub fn canonical_variant(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (given, expected) = rest.split_once('`')?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|candidate| candidate.eq_ignore_ascii_case(given) && *candidate != given)
        .map(str::to_owned)
}

/// Replaces the string at `fix.pointer`; false when there is none (nothing to retry).
fn apply(value: &mut serde_json::Value, fix: &CaseFix) -> bool {
    match value.pointer_mut(&fix.pointer) {
        Some(target @ serde_json::Value::String(_)) => {
            *target = serde_json::Value::String(fix.canonical.clone());
            true
        }
        _ => false,
    }
}

/// A JSON text that does not parse, said in plain words with where it breaks.
fn syntax_error(error: serde_json::Error) -> Error {
    Error::MalformedJson { detail: syntax_detail(&error), pointer: String::new() }
}

/// "the body ends before its JSON document does (line 1, column 12)" rather than serde's
/// "EOF while parsing a value at line 1 column 12".
fn syntax_detail(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let reason = message.rsplit_once(" at line ").map_or(message.as_str(), |(reason, _)| reason);
    let reason = match error.classify() {
        serde_json::error::Category::Eof => "the JSON text ends before its document does".to_owned(),
        _ if reason.starts_with("trailing characters") => {
            "there is more after the JSON document (send one object)".to_owned()
        }
        _ => format!("this is not valid JSON: {}", clean_serde_message(reason)),
    };
    if error.line() == 0 { reason } else { format!("{reason} (line {}, column {})", error.line(), error.column()) }
}

/// Converts a `serde_path_to_error` failure into the problem it means: a syntax error is
/// malformed JSON, anything else (wrong type, missing field, unknown variant) is a field error
/// at the path where deserialisation stopped; a missing field's pointer names the field itself.
pub fn from_json_error(error: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let mut pointer = to_pointer(&error.path().to_string());
    let inner = error.into_inner();
    if matches!(
        inner.classify(),
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io
    ) {
        return Error::MalformedJson { detail: syntax_detail(&inner), pointer: String::new() };
    }
    let message = inner.to_string();
    // A nested object's own path travels in its message (see `wire`).
    let (nested, message) = crate::wire::split_nested(&message);
    if let Some(path) = nested {
        pointer.push_str(&to_pointer(path));
    }
    // A data error's position in the text adds nothing to its pointer.
    let message = message.rsplit_once(" at line ").map_or(message, |(reason, _)| reason);
    if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        pointer.push('/');
        pointer.push_str(&field.replace('~', "~0").replace('/', "~1"));
        return Error::field(pointer, format!("`{field}` is required"));
    }
    Error::field(pointer, clean_serde_message(message))
}

/// Turns serde_path_to_error's `a.b[0].c` path into an RFC 6901 pointer `/a/b/0/c`.
///
/// The path `.` means the root; map keys containing `.` are rare in our requests, so the dotted
/// form is unambiguous enough. `~` and `/` in keys are escaped as RFC 6901 requires.
pub fn to_pointer(path: &str) -> String {
    // `?` is serde_path_to_error's "no path yet" (an error before the first key).
    if path == "." || path == "?" || path.is_empty() {
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
/// lowercase the first letter so messages read the same everywhere, and say what was expected
/// in the terms of the API rather than of Rust: clients never see a Rust type name.
pub fn clean_serde_message(message: &str) -> String {
    let message = rust_types_to_wire(message);
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Rewrites the Rust-side words serde puts in messages: `expected u32` (a whole number),
/// `expected struct TokensSpec` (an object), `data did not match any variant of untagged enum
/// BatchSize` (none of the accepted forms).
fn rust_types_to_wire(message: &str) -> String {
    const UNTAGGED: &str = "data did not match any variant of untagged enum ";
    if let Some(start) = message.find(UNTAGGED) {
        let rest = &message[start + UNTAGGED.len()..];
        let name_end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        return format!(
            "{}the value matches none of the forms this field accepts (see the schema){}",
            &message[..start],
            &rest[name_end..]
        );
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("expected ") {
        let (before, after) = rest.split_at(at + "expected ".len());
        out.push_str(before);
        let word_end = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        let (word, tail) = after.split_at(word_end);
        let wire = match word {
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => Some("a whole number of 0 or more"),
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => Some("a whole number"),
            "f32" | "f64" => Some("a number"),
            "struct" | "enum" | "tuple" => None,
            _ => {
                out.push_str(word);
                rest = tail;
                continue;
            }
        };
        match wire {
            Some(wire) => {
                out.push_str(wire);
                rest = tail;
            }
            // `struct Name`, `enum Name`: drop the Rust name as well.
            None => {
                let tail = tail.strip_prefix(' ').unwrap_or(tail);
                let name_end = tail.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(tail.len());
                out.push_str(match word {
                    "struct" => "an object",
                    "enum" => "one of the named values",
                    _ => "a list",
                });
                rest = &tail[name_end..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_no_rust_types() {
        for (serde, wire) in [
            (
                "invalid type: string \"x\", expected u32",
                "invalid type: string \"x\", expected a whole number of 0 or more",
            ),
            (
                "invalid value: integer `-1`, expected u64 at line 1",
                "invalid value: integer `-1`, expected a whole number of 0 or more at line 1",
            ),
            ("invalid type: map, expected f64", "invalid type: map, expected a number"),
            (
                "invalid type: string \"a\", expected struct TokensSpec",
                "invalid type: string \"a\", expected an object",
            ),
            (
                "data did not match any variant of untagged enum BatchSize",
                "the value matches none of the forms this field accepts (see the schema)",
            ),
            ("expected `,` or `}` at line 1 column 9", "expected `,` or `}` at line 1 column 9"),
            ("unknown variant `x`, expected one of `a`, `b`", "unknown variant `x`, expected one of `a`, `b`"),
        ] {
            assert_eq!(clean_serde_message(serde), wire);
        }
    }

    #[test]
    fn trailing_data_is_refused() {
        let error = from_json_slice::<serde_json::Value>(b"{\"a\": 1} xyz").unwrap_err();
        assert!(matches!(error, Error::MalformedJson { .. }), "{error:?}");
        let error = from_json_slice::<serde_json::Value>(b"{} {}").unwrap_err();
        assert!(matches!(error, Error::MalformedJson { .. }), "{error:?}");
        assert!(from_json_slice::<serde_json::Value>(b" {\"a\": 1}\n\t ").is_ok());
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case")]
    enum Precision {
        Bf16,
        Fp8,
        AdamW8bit,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request {
        model: String,
        precision: Option<Precision>,
        others: Option<Vec<Precision>>,
    }

    #[test]
    fn enumerated_values_are_read_in_any_case() {
        let r: Request =
            from_json_slice(br#"{"model": "m", "precision": "BF16", "others": ["FP8", "Adam-W8BIT"]}"#).unwrap();
        assert_eq!((r.model.as_str(), r.precision), ("m", Some(Precision::Bf16)));
        assert_eq!(r.others, Some(vec![Precision::Fp8, Precision::AdamW8bit]));
        let error = from_json_slice::<Request>(br#"{"model": "m", "precision": "fp7"}"#).unwrap_err();
        assert_eq!(error.field_errors()[0].pointer, "/precision");
        assert_eq!(canonical_variant("unknown variant `Fp8`, expected one of `bf16`, `fp8`"), Some("fp8".into()));
        assert_eq!(canonical_variant("unknown variant `fp7`, expected `bf16` or `fp8`"), None);
    }

    #[test]
    fn a_missing_field_is_reported_at_its_own_pointer_in_plain_words() {
        let error = from_json_slice::<Request>(br#"{"precision": "bf16"}"#).unwrap_err();
        let field = &error.field_errors()[0];
        assert_eq!((field.pointer.as_str(), field.detail.as_str()), ("/model", "`model` is required"));
        let error = from_json_slice::<Request>(br#"{"model": "#).unwrap_err();
        let Error::MalformedJson { detail, pointer } = error else { panic!("{error:?}") };
        assert!(
            pointer.is_empty() && detail.starts_with("the JSON text ends") && detail.contains("line 1, column"),
            "{detail}"
        );
    }
}
