//! Structure-aware mutators for the JSON and TOML targets: half the time libFuzzer's own byte
//! mutation (with the target's dictionary), half the time the input is parsed and one node of
//! its tree is changed, then written back.
//!
//! Byte mutations rarely keep a document valid, and coverage does not guide them to numbers
//! at the edges of a range (no branch tells `0.5` from `5e-324`); these mutators put range
//! edges, float extremes, known field names and catalog ids straight into valid documents.

use std::sync::OnceLock;

use serde_json::{Map, Number, Value};

/// The quoted tokens of the request dictionary: field names, enum values, catalog ids.
fn request_words() -> &'static [&'static str] {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| words(include_str!("../dict/request.dict")))
}

/// The quoted tokens of the safetensors dictionary: keys and dtype names.
fn safetensors_words() -> &'static [&'static str] {
    static WORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| words(include_str!("../dict/safetensors.dict")))
}

/// Numbers at the edges of the declared ranges, of the integer types and of f64.
const NUMBERS: &[f64] = &[
    0.0,
    1.0,
    -1.0,
    2.0,
    0.5,
    0.01,
    0.999_999,
    1e-9,
    5e-324,
    2.225_073_858_507_201_4e-308,
    1e-300,
    1e300,
    f64::MAX,
    255.0,
    256.0,
    1024.0,
    1025.0,
    65_535.0,
    65_536.0,
    1_048_576.0,
    1_048_577.0,
    16_777_216.0,
    16_777_217.0,
    4_294_967_295.0,
    4_294_967_296.0,
    1e16,
    9e15,
];

/// A small deterministic generator seeded by libFuzzer (so a run can be reproduced).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn words(dict: &'static str) -> Vec<&'static str> {
    dict.lines()
        .filter_map(|l| l.strip_prefix("\"\\x22").and_then(|l| l.strip_suffix("\\x22\"")))
        .filter(|w| !w.contains('\\'))
        .collect()
}

/// A JSON document: libFuzzer's mutation, or one tree edit of a parsed document.
pub fn json(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng(u64::from(seed));
    if rng.next() % 2 == 0 {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(&data[..size]) else {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    };
    edit(&mut value, &mut rng, request_words());
    match serde_json::to_vec(&value) {
        Ok(out) if out.len() <= max_size => {
            data[..out.len()].copy_from_slice(&out);
            out.len()
        }
        _ => libfuzzer_sys::fuzzer_mutate(data, size, max_size),
    }
}

/// A TOML document, read and written through the same tree (TOML has no null: an edit that
/// makes one is dropped when the document is written back).
pub fn toml(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    toml_after(0, data, size, max_size, seed)
}

/// A TOML document after `skip` bytes that are kept as they are (the catalog target's kind
/// byte).
pub fn toml_after(skip: usize, data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng(u64::from(seed));
    if rng.next() % 2 == 0 || size < skip {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    let parsed = std::str::from_utf8(&data[skip..size]).ok().and_then(|t| ::toml::from_str::<Value>(t).ok());
    let Some(mut value) = parsed else {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    };
    edit(&mut value, &mut rng, request_words());
    drop_nulls(&mut value);
    match ::toml::to_string(&value) {
        Ok(out) if skip + out.len() <= max_size => {
            data[skip..skip + out.len()].copy_from_slice(out.as_bytes());
            skip + out.len()
        }
        _ => libfuzzer_sys::fuzzer_mutate(data, size, max_size),
    }
}

/// A safetensors file: its JSON header edited, the length prefix rewritten to match, and the
/// bytes after the header kept.
pub fn safetensors(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng(u64::from(seed));
    let header = data[..size.min(8)].try_into().map(u64::from_le_bytes).ok().and_then(|n| usize::try_from(n).ok());
    let end = header.and_then(|n| n.checked_add(8)).filter(|&end| end <= size);
    let parsed = end.and_then(|end| serde_json::from_slice::<Value>(&data[8..end]).ok().map(|v| (end, v)));
    let Some((end, mut value)) = parsed.filter(|_| rng.next() % 2 == 1) else {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    };
    edit(&mut value, &mut rng, safetensors_words());
    let Ok(json) = serde_json::to_vec(&value) else { return libfuzzer_sys::fuzzer_mutate(data, size, max_size) };
    let tail = data[end..size].to_vec();
    let new_size = 8 + json.len() + tail.len();
    if new_size > max_size {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    data[..8].copy_from_slice(&(json.len() as u64).to_le_bytes());
    data[8..8 + json.len()].copy_from_slice(&json);
    data[8 + json.len()..new_size].copy_from_slice(&tail);
    new_size
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => {
            items.retain(|v| !v.is_null());
            items.iter_mut().for_each(drop_nulls);
        }
        _ => {}
    }
}

/// Pre-order indices of the numbers in `value`.
fn numbers(value: &Value) -> Vec<usize> {
    fn walk(value: &Value, next: &mut usize, out: &mut Vec<usize>) {
        if value.is_number() {
            out.push(*next);
        }
        *next += 1;
        match value {
            Value::Object(map) => map.values().for_each(|v| walk(v, next, out)),
            Value::Array(items) => items.iter().for_each(|v| walk(v, next, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut 0, &mut out);
    out
}

fn count(value: &Value) -> usize {
    1 + match value {
        Value::Object(map) => map.values().map(count).sum(),
        Value::Array(items) => items.iter().map(count).sum(),
        _ => 0,
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && (0.0..1.8e19).contains(&n) {
        Value::Number(Number::from(n as u64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// One edit at a random node: a new number, string, word, type or key, a deletion, or a copy
/// of another node.
fn edit(root: &mut Value, rng: &mut Rng, words: &[&str]) {
    let total = count(root);
    let donor = {
        let mut copy = root.clone();
        node_at(&mut copy, rng.below(total)).clone()
    };
    // Number edits go to a number when the document has one: range edges are where the
    // interesting arithmetic is, and no coverage signal leads there.
    let numbers = numbers(root);
    let choice = rng.below(8);
    let index = if choice < 3 && !numbers.is_empty() { *rng.pick(&numbers) } else { rng.below(total) };
    let target = node_at(root, index);
    match choice {
        0..=2 => {
            let current = target.as_f64().unwrap_or(1.0);
            let n = match rng.below(3) {
                0 => *rng.pick(NUMBERS),
                1 => *rng.pick(&[current * 2.0, current / 2.0, current + 1.0, current - 1.0, -current]),
                _ => *rng.pick(&[current * 1e6, current / 1e6, current.floor(), current + 0.5]),
            };
            *target = number(n);
        }
        3 => *target = Value::String((*rng.pick(words)).to_owned()),
        4 => {
            *target = match rng.below(6) {
                0 => Value::Null,
                1 => Value::Bool(rng.below(2) == 0),
                2 => Value::String(String::new()),
                3 => Value::Array(vec![target.clone()]),
                4 => Value::Object(Map::new()),
                _ => Value::String("max".to_owned()),
            }
        }
        5 | 6 => match target {
            Value::Object(map) if rng.below(2) == 0 && !map.is_empty() => {
                let key = map.keys().nth(rng.below(map.len())).cloned().unwrap_or_default();
                map.remove(&key);
            }
            Value::Object(map) => {
                map.insert((*rng.pick(words)).to_owned(), donor);
            }
            Value::Array(items) if rng.below(2) == 0 && !items.is_empty() => {
                let at = rng.below(items.len());
                items.remove(at);
            }
            Value::Array(items) => items.push(donor),
            other => *other = donor,
        },
        _ => *target = donor,
    }
}

/// The `index`-th node in pre-order (the root when out of range).
fn node_at(value: &mut Value, index: usize) -> &mut Value {
    let mut index = index;
    let mut current = value;
    loop {
        if index == 0 {
            return current;
        }
        index -= 1;
        // Find the child whose subtree holds `index`.
        let children: Vec<usize> = match &*current {
            Value::Object(map) => map.values().map(count).collect(),
            Value::Array(items) => items.iter().map(count).collect(),
            _ => return current,
        };
        let mut child = None;
        for (i, size) in children.into_iter().enumerate() {
            if index < size {
                child = Some(i);
                break;
            }
            index -= size;
        }
        let Some(i) = child else { return current };
        current = match current {
            Value::Object(map) => map.values_mut().nth(i).expect("child exists"),
            Value::Array(items) => &mut items[i],
            _ => unreachable!("only containers have children"),
        };
    }
}
