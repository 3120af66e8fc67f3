//! Serde helpers for strict wire formats.
//!
//! serde's derived `Deserialize` for a struct also accepts a JSON array of its fields in order
//! (`[null, null]` for a two-field struct). Our schemas say "object", so nested structs in
//! requests and data files go through [`object`] / [`optional_object`] / [`objects`], which
//! reject anything but an object before deserialising it.

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Marks the path inside a nested object at the start of an error message: the nested value is
/// deserialised on its own, so serde's path tracking stops at the object. The marker carries the
/// inner path out; [`split_nested`] (used by the API's error mapping) joins it to the outer one.
const NESTED: char = '\u{1}';

fn from_object<T: DeserializeOwned, E: Error>(value: Value) -> Result<T, E> {
    match value {
        Value::Object(_) => serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            // A deeper object already marked its own path: put ours in front.
            let (inner, message) = split_nested(&message);
            let joined = match (path.as_str(), inner) {
                (".", None) => return E::custom(message),
                (".", Some(inner)) => inner.to_owned(),
                (outer, None) => outer.to_owned(),
                (outer, Some(inner)) => format!("{outer}.{inner}"),
            };
            E::custom(format!("{NESTED}{joined}{NESTED}{message}"))
        }),
        other => Err(E::custom(format!("expected an object, got {}", kind(&other)))),
    }
}

/// Splits a message made by a nested deserialisation into (path inside the nested object in
/// serde's dotted form, the message itself).
pub fn split_nested(message: &str) -> (Option<&str>, &str) {
    message
        .strip_prefix(NESTED)
        .and_then(|rest| rest.split_once(NESTED))
        .map_or((None, message), |(path, rest)| (Some(path), rest))
}

/// What a JSON value is, for an error message (`a number`, `an object`, ...).
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A required struct that must be written as an object.
pub fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<T, D::Error> {
    from_object(Value::deserialize(deserializer)?)
}

/// An optional struct: `null` or absent is `None`, otherwise it must be an object.
pub fn optional_object<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Option<T>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value => from_object(value).map(Some),
    }
}

/// Reads one JSON object into two structs: `A` takes the keys of its fields, `B` those of its
/// (each refusing its own unknown nested fields, at their pointers); a key neither knows is
/// refused at its own pointer, naming every key the object takes. The error is a message for
/// `serde::de::Error::custom`, its path marked as nested objects mark theirs.
pub fn split_object<A: DeserializeOwned, B: DeserializeOwned>(value: Value) -> Result<(A, B), String> {
    let (a_keys, b_keys) = (struct_fields::<A>(), struct_fields::<B>());
    let Value::Object(map) = value else {
        return Err(format!("expected an object, got {}", kind(&value)));
    };
    let (mut a, mut b) = (serde_json::Map::new(), serde_json::Map::new());
    for (key, value) in map {
        if a_keys.contains(&key.as_str()) {
            a.insert(key, value);
        } else if b_keys.contains(&key.as_str()) {
            b.insert(key, value);
        } else {
            let known: Vec<String> = a_keys.iter().chain(b_keys).map(|k| format!("`{k}`")).collect();
            return Err(format!("{NESTED}{key}{NESTED}unknown field `{key}`, expected one of {}", known.join(", ")));
        }
    }
    let a = from_object::<A, serde_json::Error>(Value::Object(a)).map_err(|e| e.to_string())?;
    let b = from_object::<B, serde_json::Error>(Value::Object(b)).map_err(|e| e.to_string())?;
    Ok((a, b))
}

/// The field names of a struct deriving `Deserialize`, in declaration order (as its
/// `deserialize_struct` call names them).
pub fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::value::Error as PlainError;
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Fields<'_> {
        type Error = PlainError;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, PlainError> {
            Err(PlainError::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, PlainError> {
            *self.0 = fields;
            Err(PlainError::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// A list of structs, each written as an object.
pub fn objects<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Vec<T>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Array(items) => items.into_iter().map(from_object).collect(),
        other => Err(D::Error::custom(format!("expected an array, got {}", kind(&other)))),
    }
}

/// Writes a byte count as a whole number: the engine computes in `f64` (a fraction of a byte
/// means nothing on the wire, and `12240656793.599998` reads like a bug). Negative or non-finite
/// values, which the engine never produces, are written as 0.
pub fn whole_bytes<S: serde::Serializer>(bytes: &f64, s: S) -> Result<S::Ok, S::Error> {
    let whole = if bytes.is_finite() && *bytes > 0.0 { bytes.round().min(u64::MAX as f64) as u64 } else { 0 };
    s.serialize_u64(whole)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        a: Option<u32>,
        b: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        #[serde(default, deserialize_with = "super::optional_object")]
        inner: Option<Inner>,
    }

    #[test]
    fn arrays_are_not_structs() {
        assert!(serde_json::from_str::<Outer>(r#"{"inner": [null, null]}"#).is_err());
        assert!(serde_json::from_str::<Outer>(r#"{"inner": {"a": 1}}"#).unwrap().inner.is_some());
        assert!(serde_json::from_str::<Outer>(r#"{"inner": null}"#).unwrap().inner.is_none());
        assert!(serde_json::from_str::<Outer>(r#"{}"#).unwrap().inner.is_none());
    }

    #[test]
    fn an_object_splits_into_two_structs_by_key() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Other {
            c: Option<u32>,
        }
        assert_eq!(super::struct_fields::<Inner>(), ["a", "b"]);
        let (inner, other): (Inner, Other) = super::split_object(serde_json::json!({"a": 1, "c": 3})).unwrap();
        assert_eq!((inner.a, inner.b, other.c), (Some(1), None, Some(3)));
        let error = super::split_object::<Inner, Other>(serde_json::json!({"a": 1, "d": 3})).unwrap_err();
        assert_eq!(super::split_nested(&error), (Some("d"), "unknown field `d`, expected one of `a`, `b`, `c`"));
        let error = super::split_object::<Inner, Other>(serde_json::json!({"a": "x"})).unwrap_err();
        assert_eq!(super::split_nested(&error).0, Some("a"));
    }

    #[test]
    fn byte_counts_are_written_whole() {
        #[derive(serde::Serialize)]
        struct B(#[serde(serialize_with = "super::whole_bytes")] f64);
        for (bytes, text) in [(12_240_656_793.599_998, "12240656794"), (0.4, "0"), (-3.0, "0"), (f64::NAN, "0")] {
            assert_eq!(serde_json::to_string(&B(bytes)).unwrap(), text);
        }
    }
}
