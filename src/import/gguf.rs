//! Reads the header of a GGUF file (llama.cpp's model format) into counts:
//! parameters, bytes and bits per weight by ggml type, scalar metadata, and the
//! architecture numbers (layers, widths, heads, experts) the metadata states.
//!
//! This module owns the GGUF byte layout (versions 2 and 3, little-endian) and the
//! table of ggml type block sizes. It must not read or need tensor data (a client
//! may send only the header), must not allocate in proportion to a count or length
//! field before checking it against a cap and against the bytes present, must not
//! keep array values (a tokenizer's token list can be megabytes), and must not
//! panic on any input: every input is treated as hostile.

use std::collections::{BTreeMap, HashSet};

use super::ImportError;

/// Most tensors accepted. The largest real models have tens of thousands.
pub const MAX_TENSORS: u64 = 1_000_000;
/// Most metadata key/value pairs accepted. Real files have a few dozen.
pub const MAX_KV: u64 = 100_000;
/// Longest string (key, value, tensor name or array element) accepted, in bytes.
pub const MAX_STRING_BYTES: u64 = 1024 * 1024;
/// Most elements in one metadata array. Token lists are about 250,000 long.
pub const MAX_ARRAY_LEN: u64 = 10_000_000;
/// Deepest nesting of arrays inside arrays accepted (1 = a plain array).
pub const MAX_ARRAY_DEPTH: u32 = 4;
/// Most dimensions a tensor may have. ggml uses 4; the slack costs nothing.
pub const MAX_DIMS: u32 = 8;
/// Characters of a string metadata value kept in the summary; the rest is cut.
pub const MAX_KEPT_STRING_CHARS: usize = 256;

/// What one GGUF header says about the model in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufSummary {
    /// GGUF format version (2 or 3).
    pub version: u32,
    /// `general.architecture`, e.g. `"llama"`.
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// `general.file_type`: llama.cpp's `llama_ftype` (e.g. 15 = mostly `Q4_K_M`).
    pub file_type: Option<u32>,
    /// Number of tensors in the file.
    pub tensor_count: u64,
    /// Elements over all tensors.
    pub total_parameters: u64,
    /// Tensor data bytes computed from the types' block sizes.
    pub total_bytes: u64,
    /// `total_bytes * 8 / total_parameters`; 0 when there are no parameters.
    pub bits_per_weight: f64,
    /// Counts per ggml type, sorted by parameters (largest first), then name.
    pub by_type: Vec<GgufTypeCount>,
    /// Metadata in file order. Strings are cut to [`MAX_KEPT_STRING_CHARS`]
    /// characters; arrays keep only their element type and length.
    pub metadata: Vec<(String, MetadataValue)>,
    /// Architecture numbers read from `{architecture}.*` keys.
    pub architecture_hints: ArchitectureHints,
    /// Bytes the header took, up to the end of the last tensor info (before the
    /// alignment padding that precedes tensor data): the least a client must send.
    pub header_bytes: u64,
}

/// Totals for one ggml type in a GGUF header.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufTypeCount {
    /// Type name as ggml spells it in upper case (`"Q4_K"`).
    pub ggml_type: String,
    /// Elements of all tensors of this type.
    pub parameters: u64,
    /// Data bytes of those tensors.
    pub bytes: u64,
    /// Number of tensors of this type.
    pub tensors: u64,
    /// `bytes * 8 / parameters`; 0 for no parameters.
    pub bits_per_weight: f64,
}

/// Model shape numbers as the GGUF metadata states them. Each is `None` when the
/// key is absent or not a single non-negative integer (some architectures store
/// per-layer arrays, e.g. head counts that vary by layer).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ArchitectureHints {
    /// `{arch}.block_count`: transformer layers.
    pub block_count: Option<u64>,
    /// `{arch}.embedding_length`: hidden size.
    pub embedding_length: Option<u64>,
    /// `{arch}.feed_forward_length`: MLP inner size.
    pub feed_forward_length: Option<u64>,
    /// `{arch}.attention.head_count`.
    pub head_count: Option<u64>,
    /// `{arch}.attention.head_count_kv`.
    pub head_count_kv: Option<u64>,
    /// `{arch}.context_length`: trained context window.
    pub context_length: Option<u64>,
    /// Length of `tokenizer.ggml.tokens`, else `{arch}.vocab_size`.
    pub vocab_size: Option<u64>,
    /// `{arch}.expert_count`.
    pub expert_count: Option<u64>,
    /// `{arch}.expert_used_count`: experts active per token.
    pub expert_used_count: Option<u64>,
}

/// A metadata value as kept in a summary. Integers widen to 64 bits and floats to
/// `f64`; arrays are not kept, only described.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    /// Any unsigned integer type.
    U64(u64),
    /// Any signed integer type.
    I64(i64),
    /// `f32` or `f64`.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// A string, cut to [`MAX_KEPT_STRING_CHARS`] characters.
    String(String),
    /// An array: its element type name (`"u32"`, `"string"`, `"array"`, ...) and
    /// length; the elements are checked and skipped.
    Array {
        /// Element type name.
        elem_type: String,
        /// Number of elements.
        len: u64,
    },
}

/// Block size (elements per block) and bytes per block of one ggml type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgmlType {
    /// Upper-case name, e.g. `"Q8_0"`.
    pub name: &'static str,
    /// Elements stored together in one block.
    pub block_size: u64,
    /// Bytes one block takes.
    pub type_size: u64,
}

/// ggml tensor types by id: (id, name, block size, bytes per block). Checked
/// against ggml's `type_traits` table in `ggml/src/ggml.c` and the block structs
/// with their `static_assert`ed sizes in `ggml/src/ggml-common.h` (llama.cpp,
/// 2026). Ids 4, 5, 31-33 and 36-38 were removed from ggml and are "unknown".
/// `Q8_1` is 36 bytes (two f16 + 32 int8), as ggml says; gguf-py's
/// `GGML_QUANT_SIZES` still lists 40 from an older layout.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
];

/// The block layout of ggml type `id`, or `None` for an id this module does not
/// know (removed, or newer than this table).
#[must_use]
pub fn ggml_type(id: u32) -> Option<GgmlType> {
    GGML_TYPES.iter().find(|(i, ..)| *i == id).map(|&(_, name, block_size, type_size)| GgmlType {
        name,
        block_size,
        type_size,
    })
}

/// GGUF metadata value types, by their on-disk id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    fn from_id(id: u32) -> Result<Self, ImportError> {
        Ok(match id {
            0 => Self::U8,
            1 => Self::I8,
            2 => Self::U16,
            3 => Self::I16,
            4 => Self::U32,
            5 => Self::I32,
            6 => Self::F32,
            7 => Self::Bool,
            8 => Self::String,
            9 => Self::Array,
            10 => Self::U64,
            11 => Self::I64,
            12 => Self::F64,
            _ => {
                return Err(ImportError::Malformed(format!("unknown metadata value type {id}")));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::U8 => "u8",
            Self::I8 => "i8",
            Self::U16 => "u16",
            Self::I16 => "i16",
            Self::U32 => "u32",
            Self::I32 => "i32",
            Self::F32 => "f32",
            Self::Bool => "bool",
            Self::String => "string",
            Self::Array => "array",
            Self::U64 => "u64",
            Self::I64 => "i64",
            Self::F64 => "f64",
        }
    }

    /// Fewest bytes one value of this type takes: a string is at least its 8-byte
    /// length, an array its 4-byte element type and 8-byte count. Used to reject
    /// an array count the remaining bytes cannot hold before looping over it.
    fn min_size(self) -> u64 {
        match self {
            Self::U8 | Self::I8 | Self::Bool => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 | Self::String => 8,
            Self::Array => 12,
        }
    }
}

/// A forward-only view of the input that reports running out of bytes as
/// [`ImportError::Truncated`], so every read is bounds-checked in one place.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> u64 {
        // usize is at most 64 bits on every target Rust supports.
        u64::try_from(self.rest.len()).unwrap_or(u64::MAX)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ImportError> {
        let (head, tail) = self.rest.split_first_chunk::<N>().ok_or_else(|| truncated(what))?;
        self.rest = tail;
        Ok(*head)
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<&'a [u8], ImportError> {
        let n = usize::try_from(n).map_err(|_| truncated(what))?;
        let (head, tail) = self.rest.split_at_checked(n).ok_or_else(|| truncated(what))?;
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self, what: &str) -> Result<u8, ImportError> {
        self.array::<1>(what).map(u8::from_le_bytes)
    }
    fn u32(&mut self, what: &str) -> Result<u32, ImportError> {
        self.array::<4>(what).map(u32::from_le_bytes)
    }
    fn u64(&mut self, what: &str) -> Result<u64, ImportError> {
        self.array::<8>(what).map(u64::from_le_bytes)
    }

    /// A GGUF string: u64 byte length, then UTF-8 without a terminator. The length
    /// is checked against the cap first (an absurd length is a bad file, not a
    /// short upload), then against the bytes present.
    fn string(&mut self, what: &str) -> Result<&'a str, ImportError> {
        let len = self.u64(what)?;
        if len > MAX_STRING_BYTES {
            return Err(ImportError::TooLarge(format!("{what}: string of {len} bytes exceeds {MAX_STRING_BYTES}")));
        }
        let raw = self.bytes(len, what)?;
        std::str::from_utf8(raw).map_err(|e| ImportError::Malformed(format!("{what}: string is not UTF-8: {e}")))
    }
}

fn truncated(what: &str) -> ImportError {
    ImportError::Truncated(format!("input ends inside {what}"))
}

/// Reads a GGUF header. `bytes` is the start of the file: at least everything up
/// to the end of the tensor infos; tensor data after that is ignored.
///
/// Each tensor's byte size comes from its ggml type: its first dimension must be
/// a whole number of blocks (as ggml requires of every row), else the header is
/// malformed. A tensor of a type this module does not know is refused: its size,
/// and so the file's bytes and bits per weight, would be unknown.
///
/// # Errors
///
/// [`ImportError::Truncated`] when `bytes` ends inside the header;
/// [`ImportError::TooLarge`] when a count, length, dimension count, nesting depth
/// or number of distinct tensor types exceeds this module's caps;
/// [`ImportError::Unsupported`] for GGUF version 1, unknown versions,
/// big-endian files and unknown ggml tensor types; [`ImportError::Malformed`] for a wrong magic, invalid UTF-8,
/// unknown value types, duplicate keys or tensor names, and shapes that overflow
/// or split a block.
pub fn parse(bytes: &[u8]) -> Result<GgufSummary, ImportError> {
    let mut r = Reader { rest: bytes };

    let magic = r.array::<4>("the magic number")?;
    if &magic != b"GGUF" {
        return Err(ImportError::Malformed("not a GGUF file: it does not start with \"GGUF\"".to_owned()));
    }
    let version = r.u32("the version")?;
    match version {
        2 | 3 => {}
        1 => {
            return Err(ImportError::Unsupported("GGUF version 1 (32-bit counts; re-convert the model)".to_owned()));
        }
        // A big-endian file's version reads byte-swapped here.
        v if matches!(v.swap_bytes(), 2 | 3) => {
            return Err(ImportError::Unsupported("big-endian GGUF files".to_owned()));
        }
        v => return Err(ImportError::Unsupported(format!("GGUF version {v}"))),
    }
    let tensor_count = r.u64("the tensor count")?;
    if tensor_count > MAX_TENSORS {
        return Err(ImportError::TooLarge(format!("{tensor_count} tensors exceeds {MAX_TENSORS}")));
    }
    let kv_count = r.u64("the metadata count")?;
    if kv_count > MAX_KV {
        return Err(ImportError::TooLarge(format!("{kv_count} metadata entries exceeds {MAX_KV}")));
    }

    // Counts are capped but may still exceed what the bytes could hold, so no
    // capacity is reserved from them: vectors grow only as entries are read.
    let mut metadata: Vec<(String, MetadataValue)> = Vec::new();
    let mut seen_keys: HashSet<&str> = HashSet::new();
    for _ in 0..kv_count {
        let key = r.string("a metadata key")?;
        // llama.cpp refuses duplicate keys; which value would it mean?
        if !seen_keys.insert(key) {
            return Err(ImportError::Malformed(clip(&format!("duplicate metadata key {key:?}"))));
        }
        let value_type = ValueType::from_id(r.u32("a metadata value type")?)?;
        let value = read_value(&mut r, value_type)?;
        metadata.push((key.to_owned(), value));
    }

    let mut by_type: BTreeMap<&'static str, TypeTally> = BTreeMap::new();
    let mut seen_names: HashSet<&str> = HashSet::new();
    for _ in 0..tensor_count {
        let name = r.string("a tensor name")?;
        if !seen_names.insert(name) {
            return Err(ImportError::Malformed(clip(&format!("duplicate tensor name {name:?}"))));
        }
        let n_dims = r.u32("a tensor's dimension count")?;
        if n_dims > MAX_DIMS {
            return Err(ImportError::TooLarge(clip(&format!(
                "tensor {name:?} has {n_dims} dimensions, over {MAX_DIMS}"
            ))));
        }
        let mut first_dim = 1u64;
        let mut numel = 1u64;
        for i in 0..n_dims {
            let dim = r.u64("a tensor dimension")?;
            if i == 0 {
                first_dim = dim;
            }
            numel = numel
                .checked_mul(dim)
                .ok_or_else(|| ImportError::Malformed(clip(&format!("tensor {name:?} has more than 2^64 elements"))))?;
        }
        // ggml counts elements in int64_t.
        if i64::try_from(numel).is_err() {
            return Err(ImportError::Malformed(clip(&format!(
                "tensor {name:?} has {numel} elements, more than ggml can index"
            ))));
        }
        let type_id = r.u32("a tensor type")?;
        // The data offset is not needed: sizes come from shapes and types.
        r.u64("a tensor data offset")?;

        let Some(t) = ggml_type(type_id) else {
            return Err(ImportError::Unsupported(clip(&format!(
                "tensor {name:?} has ggml type {type_id}, which this reader does not know (removed from ggml, or newer than it)"
            ))));
        };
        let tensor_bytes = tensor_bytes(name, t, first_dim, numel)?;
        // Keyed by the known type, so the summary has at most one row per table entry.
        by_type.entry(t.name).or_default().add(numel, tensor_bytes)?;
    }
    let header_bytes = u64::try_from(bytes.len().saturating_sub(r.rest.len())).unwrap_or(u64::MAX);

    summarise(version, tensor_count, metadata, by_type, header_bytes)
}

/// Bytes of one tensor of known type: whole blocks along the first dimension, as
/// ggml lays out every row.
fn tensor_bytes(name: &str, t: GgmlType, first_dim: u64, numel: u64) -> Result<u64, ImportError> {
    if !first_dim.is_multiple_of(t.block_size) {
        return Err(ImportError::Malformed(clip(&format!(
            "tensor {name:?}: first dimension {first_dim} is not a multiple of the {} block size {}",
            t.name, t.block_size
        ))));
    }
    // first_dim is a multiple of the block size, so numel is too.
    numel
        .checked_div(t.block_size)
        .and_then(|blocks| blocks.checked_mul(t.type_size))
        .ok_or_else(|| ImportError::Malformed(clip(&format!("tensor {name:?}: byte size overflows 64 bits"))))
}

/// Running totals for one ggml type id.
#[derive(Default)]
struct TypeTally {
    parameters: u64,
    bytes: u64,
    tensors: u64,
}

impl TypeTally {
    fn add(&mut self, parameters: u64, bytes: u64) -> Result<(), ImportError> {
        self.parameters = add_or_overflow(self.parameters, parameters, "parameter count")?;
        self.bytes = add_or_overflow(self.bytes, bytes, "byte count")?;
        self.tensors = add_or_overflow(self.tensors, 1, "tensor count")?;
        Ok(())
    }
}

/// Reads one metadata value of the given type. Arrays are walked and checked but
/// only described, never kept.
fn read_value(r: &mut Reader<'_>, t: ValueType) -> Result<MetadataValue, ImportError> {
    const WHAT: &str = "a metadata value";
    Ok(match t {
        ValueType::U8 => MetadataValue::U64(u64::from(r.u8(WHAT)?)),
        ValueType::I8 => MetadataValue::I64(i64::from(i8::from_le_bytes(r.array::<1>(WHAT)?))),
        ValueType::U16 => MetadataValue::U64(u64::from(u16::from_le_bytes(r.array::<2>(WHAT)?))),
        ValueType::I16 => MetadataValue::I64(i64::from(i16::from_le_bytes(r.array::<2>(WHAT)?))),
        ValueType::U32 => MetadataValue::U64(u64::from(r.u32(WHAT)?)),
        ValueType::I32 => MetadataValue::I64(i64::from(i32::from_le_bytes(r.array::<4>(WHAT)?))),
        ValueType::F32 => MetadataValue::F64(f64::from(f32::from_le_bytes(r.array::<4>(WHAT)?))),
        ValueType::U64 => MetadataValue::U64(r.u64(WHAT)?),
        ValueType::I64 => MetadataValue::I64(i64::from_le_bytes(r.array::<8>(WHAT)?)),
        ValueType::F64 => MetadataValue::F64(f64::from_le_bytes(r.array::<8>(WHAT)?)),
        ValueType::Bool => match r.u8(WHAT)? {
            0 => MetadataValue::Bool(false),
            1 => MetadataValue::Bool(true),
            b => {
                return Err(ImportError::Malformed(format!("boolean metadata value is {b}, not 0 or 1")));
            }
        },
        ValueType::String => MetadataValue::String(r.string(WHAT)?.chars().take(MAX_KEPT_STRING_CHARS).collect()),
        ValueType::Array => {
            let (elem_type, len) = skip_array(r, 1)?;
            MetadataValue::Array { elem_type: elem_type.name().to_owned(), len }
        }
    })
}

/// Walks an array (element type, count, elements) without keeping it; returns
/// its element type and length. `depth` is 1 for a top-level array.
fn skip_array(r: &mut Reader<'_>, depth: u32) -> Result<(ValueType, u64), ImportError> {
    if depth > MAX_ARRAY_DEPTH {
        return Err(ImportError::TooLarge(format!("arrays nested more than {MAX_ARRAY_DEPTH} deep")));
    }
    let elem = ValueType::from_id(r.u32("an array element type")?)?;
    let len = r.u64("an array length")?;
    if len > MAX_ARRAY_LEN {
        return Err(ImportError::TooLarge(format!("array of {len} elements exceeds {MAX_ARRAY_LEN}")));
    }
    // Every element takes at least min_size bytes, so a count the rest of the
    // input cannot hold is caught here, before any per-element work.
    let least = len.saturating_mul(elem.min_size());
    if least > r.remaining() {
        return Err(ImportError::Truncated(format!(
            "array of {len} {} elements needs at least {least} bytes, {} remain",
            elem.name(),
            r.remaining()
        )));
    }
    match elem {
        ValueType::String => {
            for _ in 0..len {
                r.string("an array string")?;
            }
        }
        ValueType::Array => {
            for _ in 0..len {
                skip_array(r, depth.saturating_add(1))?;
            }
        }
        ValueType::Bool => {
            if r.bytes(len, "an array")?.iter().any(|&b| b > 1) {
                return Err(ImportError::Malformed("boolean array element is not 0 or 1".to_owned()));
            }
        }
        // Fixed-size elements: min_size is their exact size, checked above.
        _ => {
            r.bytes(least, "an array")?;
        }
    }
    Ok((elem, len))
}

/// Turns the raw counts into the public summary.
fn summarise(
    version: u32,
    tensor_count: u64,
    metadata: Vec<(String, MetadataValue)>,
    by_type: BTreeMap<&'static str, TypeTally>,
    header_bytes: u64,
) -> Result<GgufSummary, ImportError> {
    let mut total_parameters = 0u64;
    let mut total_bytes = 0u64;
    let mut rows = Vec::with_capacity(by_type.len());
    for (name, t) in by_type {
        total_parameters = add_or_overflow(total_parameters, t.parameters, "parameter count")?;
        total_bytes = add_or_overflow(total_bytes, t.bytes, "byte count")?;
        let bits = bits_per_weight(t.bytes, t.parameters);
        rows.push(GgufTypeCount {
            ggml_type: name.to_owned(),
            parameters: t.parameters,
            bytes: t.bytes,
            tensors: t.tensors,
            bits_per_weight: bits,
        });
    }
    rows.sort_by(|a, b| b.parameters.cmp(&a.parameters).then_with(|| a.ggml_type.cmp(&b.ggml_type)));

    let get = |key: &str| metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let string = |key: &str| match get(key) {
        Some(MetadataValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let integer = |key: &str| match get(key) {
        Some(MetadataValue::U64(v)) => Some(*v),
        Some(MetadataValue::I64(v)) => u64::try_from(*v).ok(),
        _ => None,
    };
    let architecture = string("general.architecture");
    let hints = match &architecture {
        Some(arch) => {
            let hint = |suffix: &str| integer(&format!("{arch}.{suffix}"));
            let tokens = match get("tokenizer.ggml.tokens") {
                Some(MetadataValue::Array { len, .. }) => Some(*len),
                _ => None,
            };
            ArchitectureHints {
                block_count: hint("block_count"),
                embedding_length: hint("embedding_length"),
                feed_forward_length: hint("feed_forward_length"),
                head_count: hint("attention.head_count"),
                head_count_kv: hint("attention.head_count_kv"),
                context_length: hint("context_length"),
                vocab_size: tokens.or_else(|| hint("vocab_size")),
                expert_count: hint("expert_count"),
                expert_used_count: hint("expert_used_count"),
            }
        }
        None => ArchitectureHints::default(),
    };

    Ok(GgufSummary {
        version,
        name: string("general.name"),
        file_type: integer("general.file_type").and_then(|v| u32::try_from(v).ok()),
        architecture,
        tensor_count,
        total_parameters,
        total_bytes,
        bits_per_weight: bits_per_weight(total_bytes, total_parameters),
        by_type: rows,
        metadata,
        architecture_hints: hints,
        header_bytes,
    })
}

/// `bytes * 8 / parameters` as a float; 0 when there are no parameters.
// a ratio for display; 2^53 is plenty
fn bits_per_weight(bytes: u64, parameters: u64) -> f64 {
    if parameters == 0 { 0.0 } else { bytes as f64 * 8.0 / parameters as f64 }
}

fn add_or_overflow(a: u64, b: u64, what: &str) -> Result<u64, ImportError> {
    a.checked_add(b).ok_or_else(|| ImportError::Malformed(format!("{what} overflows 64 bits")))
}

/// Keeps error messages short: they go back to a client and may quote names an
/// attacker chose (up to [`MAX_STRING_BYTES`] long).
fn clip(message: &str) -> String {
    const MAX_CHARS: usize = 300;
    let mut chars = message.chars();
    let head: String = chars.by_ref().take(MAX_CHARS).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &[u8] = include_bytes!("../../tests/fixtures/tiny_llama.gguf");
    /// End of the tensor infos in the fixture, as gguf-py's reader found it.
    const TINY_HEADER_END: usize = 7529;

    /// Builds GGUF bytes by hand for hostile cases.
    #[derive(Default)]
    struct Gguf(Vec<u8>);

    impl Gguf {
        fn header(version: u32, tensors: u64, kvs: u64) -> Self {
            let mut g = Self(b"GGUF".to_vec());
            g.u32(version).u64(tensors).u64(kvs);
            g
        }
        fn u32(&mut self, v: u32) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn u64(&mut self, v: u64) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn raw(&mut self, b: &[u8]) -> &mut Self {
            self.0.extend_from_slice(b);
            self
        }
        fn str(&mut self, s: &str) -> &mut Self {
            self.u64(s.len() as u64).raw(s.as_bytes())
        }
        fn tensor(&mut self, name: &str, dims: &[u64], ty: u32) -> &mut Self {
            self.str(name).u32(dims.len() as u32);
            for &d in dims {
                self.u64(d);
            }
            self.u32(ty).u64(0)
        }
    }

    #[test]
    fn tiny_llama_counts() {
        // Numbers printed by tests/fixtures/make_fixtures.py.
        let s = parse(TINY).unwrap();
        assert_eq!(s.version, 3);
        assert_eq!(s.architecture.as_deref(), Some("llama"));
        assert_eq!(s.name.as_deref(), Some("tiny-llama-fixture"));
        assert_eq!(s.file_type, Some(7));
        assert_eq!(s.tensor_count, 21);
        assert_eq!(s.total_parameters, 106_816);
        assert_eq!(s.total_bytes, 152_832);
        assert_eq!(s.bits_per_weight, 152_832.0 * 8.0 / 106_816.0);
        assert!((s.bits_per_weight - 11.446_375).abs() < 1e-6);
        assert_eq!(s.header_bytes, TINY_HEADER_END as u64);
        assert_eq!(
            s.by_type,
            vec![
                GgufTypeCount {
                    ggml_type: "Q8_0".into(),
                    parameters: 65_536,
                    bytes: 69_632,
                    tensors: 7,
                    bits_per_weight: 8.5,
                },
                GgufTypeCount {
                    ggml_type: "F16".into(),
                    parameters: 40_960,
                    bytes: 81_920,
                    tensors: 9,
                    bits_per_weight: 16.0,
                },
                GgufTypeCount {
                    ggml_type: "F32".into(),
                    parameters: 320,
                    bytes: 1_280,
                    tensors: 5,
                    bits_per_weight: 32.0,
                },
            ]
        );
        assert_eq!(
            s.architecture_hints,
            ArchitectureHints {
                block_count: Some(2),
                embedding_length: Some(64),
                feed_forward_length: Some(128),
                head_count: Some(4),
                head_count_kv: Some(2),
                context_length: Some(128),
                vocab_size: Some(256),
                expert_count: None,
                expert_used_count: None,
            }
        );
        assert_eq!(s.metadata.len(), 18);
        let meta = |k: &str| s.metadata.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(meta("tokenizer.ggml.tokens"), Some(MetadataValue::Array { elem_type: "string".into(), len: 256 }));
        assert_eq!(meta("tokenizer.ggml.scores"), Some(MetadataValue::Array { elem_type: "f32".into(), len: 256 }));
        assert_eq!(meta("llama.rope.freq_base"), Some(MetadataValue::F64(10_000.0)));
        assert_eq!(meta("tokenizer.ggml.model"), Some(MetadataValue::String("llama".into())));
    }

    #[test]
    fn header_prefix_is_enough_and_every_shorter_prefix_is_truncated() {
        assert_eq!(parse(&TINY[..TINY_HEADER_END]).unwrap(), parse(TINY).unwrap());
        for len in 0..TINY_HEADER_END {
            let got = parse(&TINY[..len]);
            assert!(matches!(got, Err(ImportError::Truncated(_))), "prefix {len}: {got:?}");
        }
    }

    #[test]
    fn type_table_is_consistent() {
        let ids: Vec<u32> = GGML_TYPES.iter().map(|t| t.0).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids sorted and unique");
        for &(id, name, block, size) in GGML_TYPES {
            assert!(block > 0 && size > 0, "{name}");
            assert_eq!(ggml_type(id).unwrap().name, name);
        }
        // Spot checks against ggml-common.h's static_asserts.
        assert_eq!(ggml_type(12).unwrap(), GgmlType { name: "Q4_K", block_size: 256, type_size: 144 });
        assert_eq!(ggml_type(9).unwrap().type_size, 36);
        assert_eq!(ggml_type(39).unwrap(), GgmlType { name: "MXFP4", block_size: 32, type_size: 17 });
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, 42, u32::MAX] {
            assert_eq!(ggml_type(removed), None);
        }
    }

    #[test]
    fn unknown_type_is_refused() {
        // A type's size comes from its block layout; without it the bytes and bits per
        // weight would be silently wrong, so the file is refused rather than half counted.
        for id in [4242, 65535, 4] {
            let mut g = Gguf::header(3, 2, 0);
            g.tensor("a", &[256, 2], 12).tensor("b", &[100], id);
            let error = err(&g.0);
            assert!(
                matches!(&error, ImportError::Unsupported(m) if m.contains(&format!("ggml type {id}"))),
                "{error:?}"
            );
        }
    }

    #[test]
    fn metadata_values_and_hints() {
        let mut g = Gguf::header(2, 0, 9);
        g.str("general.architecture").u32(8).str("qwen3moe");
        g.str("qwen3moe.block_count").u32(5).raw(&48i32.to_le_bytes());
        g.str("qwen3moe.expert_count").u32(10).u64(128);
        g.str("qwen3moe.expert_used_count").u32(0).raw(&[8]);
        g.str("qwen3moe.vocab_size").u32(4).u32(151_936);
        g.str("qwen3moe.attention.head_count").u32(9).u32(4).u64(2).u32(32).u32(32);
        g.str("neg").u32(3).raw(&(-5i16).to_le_bytes());
        g.str("flag").u32(7).raw(&[1]);
        let long = "é".repeat(300);
        g.str("general.description").u32(8).str(&long);
        let s = parse(&g.0).unwrap();
        assert_eq!(s.version, 2);
        assert_eq!(s.total_parameters, 0);
        assert_eq!(s.bits_per_weight, 0.0);
        let h = &s.architecture_hints;
        assert_eq!(h.block_count, Some(48));
        assert_eq!(h.expert_count, Some(128));
        assert_eq!(h.expert_used_count, Some(8));
        assert_eq!(h.vocab_size, Some(151_936));
        // A per-layer array is not a single number.
        assert_eq!(h.head_count, None);
        let meta = |k: &str| s.metadata.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(meta("neg"), Some(MetadataValue::I64(-5)));
        assert_eq!(meta("flag"), Some(MetadataValue::Bool(true)));
        assert_eq!(
            meta("qwen3moe.attention.head_count"),
            Some(MetadataValue::Array { elem_type: "u32".into(), len: 2 })
        );
        let Some(MetadataValue::String(d)) = meta("general.description") else {
            panic!("description missing");
        };
        assert_eq!(d.chars().count(), MAX_KEPT_STRING_CHARS);
    }

    #[test]
    fn nested_arrays_within_depth() {
        let mut g = Gguf::header(3, 0, 1);
        // array of 2 arrays: [u8; 3] and [string; 1]
        g.str("nested").u32(9).u32(9).u64(2);
        g.u32(0).u64(3).raw(&[1, 2, 3]);
        g.u32(8).u64(1).str("x");
        let s = parse(&g.0).unwrap();
        assert_eq!(s.metadata, vec![("nested".into(), MetadataValue::Array { elem_type: "array".into(), len: 2 })]);
    }

    fn err(bytes: &[u8]) -> ImportError {
        match parse(bytes) {
            Err(e) => e,
            Ok(s) => panic!("expected an error, got {s:?}"),
        }
    }

    #[test]
    fn hostile_headers() {
        use ImportError::*;
        assert!(matches!(err(&[]), Truncated(_)));
        assert!(matches!(err(b"GGU"), Truncated(_)));
        assert!(matches!(err(b"GGML\x03\0\0\0"), Malformed(_)));
        assert!(matches!(err(&Gguf::header(1, 0, 0).0), Unsupported(_)));
        assert!(matches!(err(&Gguf::header(4, 0, 0).0), Unsupported(_)));
        assert!(matches!(err(&Gguf::header(3u32.swap_bytes(), 0, 0).0), Unsupported(_)));
        assert!(matches!(err(&Gguf::header(3, u64::MAX, 0).0), TooLarge(_)));
        assert!(matches!(err(&Gguf::header(3, 0, u64::MAX).0), TooLarge(_)));
        // Counts within the caps but with nothing behind them.
        assert!(matches!(err(&Gguf::header(3, MAX_TENSORS, 0).0), Truncated(_)));
        assert!(matches!(err(&Gguf::header(3, 0, MAX_KV).0), Truncated(_)));

        // Huge string lengths: over the cap, and under it but absent.
        let mut g = Gguf::header(3, 0, 1);
        g.u64(u64::MAX);
        assert!(matches!(err(&g.0), TooLarge(_)));
        let mut g = Gguf::header(3, 0, 1);
        g.u64(MAX_STRING_BYTES).raw(b"abc");
        assert!(matches!(err(&g.0), Truncated(_)));
        let mut g = Gguf::header(3, 0, 1);
        g.str("k").u32(8).u64(MAX_STRING_BYTES + 1);
        assert!(matches!(err(&g.0), TooLarge(_)));

        // Invalid UTF-8 in a key, a value and a tensor name.
        let mut g = Gguf::header(3, 0, 1);
        g.u64(2).raw(&[0xc3, 0x28]).u32(0).raw(&[0]);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 0, 1);
        g.str("k").u32(8).u64(1).raw(&[0xff]);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 1, 0);
        g.u64(1).raw(&[0x80]).u32(1).u64(4).u32(0).u64(0);
        assert!(matches!(err(&g.0), Malformed(_)));

        // Huge array counts: over the cap, and under it but not present.
        let mut g = Gguf::header(3, 0, 1);
        g.str("tokens").u32(9).u32(8).u64(u64::MAX);
        assert!(matches!(err(&g.0), TooLarge(_)));
        let mut g = Gguf::header(3, 0, 1);
        g.str("tokens").u32(9).u32(8).u64(MAX_ARRAY_LEN).str("a");
        assert!(matches!(err(&g.0), Truncated(_)));
        let mut g = Gguf::header(3, 0, 1);
        g.str("floats").u32(9).u32(12).u64(MAX_ARRAY_LEN).raw(&[0; 64]);
        assert!(matches!(err(&g.0), Truncated(_)));

        // Arrays nested past the cap.
        let mut g = Gguf::header(3, 0, 1);
        g.str("deep").u32(9);
        for _ in 0..=MAX_ARRAY_DEPTH {
            g.u32(9).u64(1);
        }
        g.u32(0).u64(0);
        assert!(matches!(err(&g.0), TooLarge(_)));

        // Unknown value types, bad booleans, duplicate keys.
        let mut g = Gguf::header(3, 0, 1);
        g.str("k").u32(13).u64(0);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 0, 1);
        g.str("k").u32(7).raw(&[2]);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 0, 1);
        g.str("k").u32(9).u32(7).u64(2).raw(&[0, 9]);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 0, 2);
        g.str("k").u32(0).raw(&[1]).str("k").u32(0).raw(&[2]);
        assert!(matches!(err(&g.0), Malformed(_)));

        // Tensor infos: too many dims, overflowing shape, more elements than
        // ggml indexes, partial blocks, overflowing sums, duplicate names.
        let mut g = Gguf::header(3, 1, 0);
        g.str("t").u32(1000);
        assert!(matches!(err(&g.0), TooLarge(_)));
        let mut g = Gguf::header(3, 1, 0);
        g.tensor("t", &[1 << 32, 1 << 32], 0);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 1, 0);
        g.tensor("t", &[1 << 32, 1 << 31], 0);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 1, 0);
        g.tensor("t", &[100, 32], 12);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 1, 0);
        g.tensor("t", &[], 8);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 2, 0);
        g.tensor("a", &[1 << 62], 0).tensor("b", &[1 << 62], 0);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 3, 0);
        let most = i64::MAX as u64;
        g.tensor("a", &[most], 24).tensor("b", &[most], 24).tensor("c", &[most], 24);
        assert!(matches!(err(&g.0), Malformed(_)));
        let mut g = Gguf::header(3, 2, 0);
        g.tensor("a", &[4], 0).tensor("a", &[4], 0);
        assert!(matches!(err(&g.0), Malformed(_)));
    }

    #[test]
    fn large_values_within_limits_are_fine() {
        // A 1 MiB string, an 8-dim tensor, a scalar tensor, a zero-size tensor.
        let big = "x".repeat(MAX_STRING_BYTES as usize);
        let mut g = Gguf::header(3, 3, 1);
        g.str("k").u32(8).str(&big);
        g.tensor("eight", &[2; 8], 1).tensor("scalar", &[], 0).tensor("empty", &[32, 0], 8);
        let s = parse(&g.0).unwrap();
        assert_eq!(s.total_parameters, 257);
        assert_eq!(s.total_bytes, 256 * 2 + 4);
        let Some((_, MetadataValue::String(kept))) = s.metadata.first() else {
            panic!("string missing");
        };
        assert_eq!(kept.len(), MAX_KEPT_STRING_CHARS);
    }

    #[test]
    fn corrupted_fixture_never_panics() {
        // Overwrite each header byte with a few hostile values; any result is fine
        // as long as it is a result.
        let mut bytes = TINY[..TINY_HEADER_END].to_vec();
        for at in 0..bytes.len() {
            let original = bytes[at];
            for value in [0x00, 0x01, 0x09, 0x7f, 0xff] {
                bytes[at] = value;
                let _ = parse(&bytes);
            }
            bytes[at] = original;
        }
    }

    #[test]
    fn error_messages_are_clipped() {
        let name = "n".repeat(100_000);
        let mut g = Gguf::header(3, 1, 0);
        g.tensor(&name, &[33], 8);
        let ImportError::Malformed(msg) = err(&g.0) else {
            panic!("expected Malformed");
        };
        assert!(msg.chars().count() <= 301);
    }
}
