//! Reads the header of a safetensors file, and the `model.safetensors.index.json`
//! that lists the shards of a split checkpoint, into counts: parameters, bytes and
//! tensors by dtype and by tensor-name group.
//!
//! This module owns the safetensors byte layout (an 8-byte little-endian length N,
//! then N bytes of JSON, then tensor data) and the rule that sorts tensor names
//! into groups ([`tensor_group`]). It must not read or need tensor data (a client
//! may send only the first `8 + N` bytes), must not allocate in proportion to a
//! length field before checking that length against a cap and against the bytes
//! present, must not hold the JSON as a `serde_json::Value` tree (it is walked, so
//! memory stays proportional to the tensor count), and must not panic on any
//! input: every input is treated as hostile.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::ImportError;

/// Largest JSON header accepted, in bytes. The official library refuses headers
/// over 100 MB too, and real headers are a few MiB at most.
pub const MAX_HEADER_BYTES: u64 = 100 * 1024 * 1024;

/// Largest `model.safetensors.index.json` accepted, in bytes. Real ones for
/// the largest open checkpoints are under 10 MiB.
pub const MAX_INDEX_BYTES: usize = 50 * 1024 * 1024;

/// Most `__metadata__` entries accepted. Real files have a handful; training
/// tools that dump their settings there reach a few hundred.
pub const MAX_METADATA_ENTRIES: usize = 10_000;

/// Characters of a `__metadata__` key or value kept in the summary; the rest is
/// cut, so a summary stays small whatever the file carries.
pub const MAX_KEPT_STRING_CHARS: usize = 256;

/// Longest dtype name accepted. Real ones are at most 7 bytes (`F8_E4M3`); the cap
/// keeps attacker-chosen names out of summaries and error messages.
pub const MAX_DTYPE_BYTES: usize = 32;

/// Most distinct dtypes one header may use. Real files use one to four; the cap
/// keeps a header of made-up dtypes from making a summary row per tensor.
pub const MAX_DTYPES: usize = 64;

/// Most distinct shard files an index may name. Real splits have hundreds.
pub const MAX_INDEX_FILES: usize = 100_000;

/// What one safetensors header says about the tensors in its file.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetensorsSummary {
    /// Elements over all tensors, whatever their dtype. Buffers stored as tensors
    /// (for example BERT's integer `position_ids`) are included; `by_dtype` lets a
    /// caller leave integer dtypes out.
    pub total_parameters: u64,
    /// Number of tensors in the header (`__metadata__` is not a tensor).
    pub tensor_count: u64,
    /// Counts per dtype, sorted by dtype name.
    pub by_dtype: Vec<DtypeCount>,
    /// Counts per tensor-name group (see [`tensor_group`]), sorted by group name.
    pub by_group: Vec<GroupCount>,
    /// The free-form `__metadata__` string map, sorted by key, with keys and
    /// values cut to [`MAX_KEPT_STRING_CHARS`] characters.
    pub metadata: Vec<(String, String)>,
    /// Bytes before the tensor data: the 8-byte length prefix plus the JSON
    /// (which includes any padding the writer added).
    pub header_bytes: u64,
}

/// Totals for one dtype in a safetensors header.
#[derive(Debug, Clone, PartialEq)]
pub struct DtypeCount {
    /// The dtype as spelled in the file, e.g. `"BF16"`.
    pub dtype: String,
    /// Elements of all tensors of this dtype.
    pub parameters: u64,
    /// Data bytes of those tensors, from their `data_offsets`.
    pub bytes: u64,
    /// Number of tensors of this dtype.
    pub tensors: u64,
}

/// Totals for one tensor-name group in a safetensors header.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCount {
    /// The group, one of the names [`tensor_group`] returns.
    pub group: String,
    /// Elements of all tensors in this group.
    pub parameters: u64,
    /// Number of tensors in this group.
    pub tensors: u64,
}

/// What a `model.safetensors.index.json` says. The index maps tensor names to
/// shard files and carries no shapes or dtypes, so it cannot give parameter
/// counts: read the shards' headers with [`parse`] for those.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetensorsIndexSummary {
    /// `metadata.total_size`: the tensor data bytes over all shards, when present.
    pub total_size_bytes: Option<u64>,
    /// Number of tensor names in `weight_map`.
    pub tensor_count: u64,
    /// Number of distinct shard files in `weight_map`.
    pub file_count: u64,
    /// The distinct shard file names, sorted, so a caller can ask for each header.
    pub files: Vec<String>,
    /// Tensor names per group (see [`tensor_group`]), sorted by group name.
    pub by_group: Vec<IndexGroupCount>,
}

/// Number of tensor names of one group in an index (no parameters: no shapes).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexGroupCount {
    /// The group, one of the names [`tensor_group`] returns.
    pub group: String,
    /// Number of tensor names in this group.
    pub tensors: u64,
}

/// One tensor entry of the header JSON. Unknown fields are ignored, as the
/// official reader does.
#[derive(Deserialize)]
struct TensorEntry {
    dtype: String,
    shape: Numel,
    data_offsets: (u64, u64),
}

/// The element count of a `shape` array, multiplied out while serde reads it so a
/// hostile shape of millions of dimensions costs no memory. `None` when the
/// product overflows a `u64`; the rest of the array is still consumed so the error
/// can name the tensor.
struct Numel(Option<u64>);

impl<'de> Deserialize<'de> for Numel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = Numel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of non-negative integers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Numel, A::Error> {
                let mut product = Some(1u64);
                while let Some(dim) = seq.next_element::<u64>()? {
                    product = product.and_then(|p| p.checked_mul(dim));
                }
                Ok(Numel(product))
            }
        }
        deserializer.deserialize_seq(ShapeVisitor)
    }
}

/// Accumulates the three counters every summary row needs.
#[derive(Default)]
struct Tally {
    parameters: u64,
    bytes: u64,
    tensors: u64,
}

impl Tally {
    fn add(&mut self, parameters: u64, bytes: u64) -> Result<(), ImportError> {
        self.parameters = add_or_overflow(self.parameters, parameters, "parameter count")?;
        self.bytes = add_or_overflow(self.bytes, bytes, "byte count")?;
        self.tensors = add_or_overflow(self.tensors, 1, "tensor count")?;
        Ok(())
    }
}

/// Everything kept from a header, filled in while serde walks the JSON. Walking
/// instead of building a `serde_json::Value` keeps memory proportional to the
/// number of tensors (16 bytes each) rather than to about ten times the JSON size.
#[derive(Default)]
struct HeaderState {
    metadata: BTreeMap<String, String>,
    by_dtype: BTreeMap<String, Tally>,
    by_group: BTreeMap<&'static str, Tally>,
    spans: Vec<(u64, u64)>,
    /// Names seen so far: serde_json hands a repeated key to the visitor again, and the
    /// official reader refuses such a header, so it must not be counted twice here.
    names: HashSet<String>,
    total: Tally,
    /// The first check that failed. serde's error type cannot carry an
    /// [`ImportError`], so the variant is kept here and preferred over serde's.
    error: Option<ImportError>,
}

impl HeaderState {
    fn add_tensor(&mut self, name: &str, entry: TensorEntry) -> Result<(), ImportError> {
        if !self.names.insert(name.to_owned()) {
            return Err(ImportError::Malformed(clip(&format!("tensor {name:?} is given twice"))));
        }
        let (numel, stored) = check_tensor(name, &entry)?;
        if self.by_dtype.len() >= MAX_DTYPES && !self.by_dtype.contains_key(&entry.dtype) {
            return Err(ImportError::TooLarge(format!("header uses more than {MAX_DTYPES} dtypes")));
        }
        self.total.add(numel, stored)?;
        self.by_dtype.entry(entry.dtype).or_default().add(numel, stored)?;
        self.by_group.entry(tensor_group(name)).or_default().add(numel, stored)?;
        self.spans.push(entry.data_offsets);
        Ok(())
    }
}

/// Records `error` in `slot` and returns a serde error that stops the walk.
fn stop<E: de::Error>(slot: &mut Option<ImportError>, error: ImportError) -> E {
    let message = error.to_string();
    *slot = Some(error);
    E::custom(message)
}

impl<'de> DeserializeSeed<'de> for &mut HeaderState {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut HeaderState {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object mapping tensor names to entries")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            if name == "__metadata__" {
                map.next_value_seed(MetadataSeed { kept: &mut self.metadata, error: &mut self.error })?;
                continue;
            }
            let entry: TensorEntry =
                map.next_value().map_err(|e| de::Error::custom(clip(&format!("tensor {name:?}: {e}"))))?;
            if let Err(e) = self.add_tensor(&name, entry) {
                return Err(stop(&mut self.error, e));
            }
        }
        Ok(())
    }
}

/// Reads `__metadata__`: a map of strings to strings, or null (what some writers
/// emit for none). Entries are counted against [`MAX_METADATA_ENTRIES`] and cut
/// to [`MAX_KEPT_STRING_CHARS`] as they arrive. A repeated key keeps its last value.
struct MetadataSeed<'a> {
    kept: &'a mut BTreeMap<String, String>,
    error: &'a mut Option<ImportError>,
}

impl<'de> DeserializeSeed<'de> for MetadataSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("__metadata__ as an object of strings, or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = 0usize;
        while let Some((key, value)) = map
            .next_entry::<String, String>()
            .map_err(|e| de::Error::custom(clip(&format!("__metadata__ must map strings to strings: {e}"))))?
        {
            seen = seen.saturating_add(1);
            if seen > MAX_METADATA_ENTRIES {
                let e = ImportError::TooLarge(format!("__metadata__ has more than {MAX_METADATA_ENTRIES} entries"));
                return Err(stop(self.error, e));
            }
            self.kept.insert(keep(&key), keep(&value));
        }
        Ok(())
    }
}

/// Reads a safetensors header. `bytes` is the start of the file: at least the
/// `8 + N` header bytes; anything after them (tensor data) is ignored.
///
/// Checks that each shape's element count fits in a `u64`, that each tensor's
/// `data_offsets` span holds exactly its elements when the dtype's size is known,
/// and that the spans tile the data area from byte 0 without gaps or overlaps (as
/// the official reader requires). Unknown dtypes are counted but not size-checked.
///
/// # Errors
///
/// [`ImportError::Truncated`] when `bytes` ends before the header does,
/// [`ImportError::TooLarge`] when the declared header length exceeds
/// [`MAX_HEADER_BYTES`], `__metadata__` has over [`MAX_METADATA_ENTRIES`]
/// entries or the tensors use over [`MAX_DTYPES`] dtypes, and [`ImportError::Malformed`] for invalid JSON or a tensor entry
/// that fails the checks above.
pub fn parse(bytes: &[u8]) -> Result<SafetensorsSummary, ImportError> {
    let (len_prefix, rest) = bytes.split_first_chunk::<8>().ok_or_else(|| {
        ImportError::Truncated(format!("{} bytes; a safetensors file starts with an 8-byte header length", bytes.len()))
    })?;
    let json_len = u64::from_le_bytes(*len_prefix);
    // The cap comes before the bytes-present check so an absurd length is reported
    // as what it is rather than as a short upload.
    if json_len > MAX_HEADER_BYTES {
        return Err(ImportError::TooLarge(format!("header length {json_len} exceeds {MAX_HEADER_BYTES} bytes")));
    }
    let json = usize::try_from(json_len).ok().and_then(|n| rest.get(..n)).ok_or_else(|| {
        ImportError::Truncated(format!("header declares {json_len} bytes of JSON but only {} follow", rest.len()))
    })?;
    let header_bytes = add_or_overflow(json_len, 8, "header length")?;

    let mut state = HeaderState::default();
    let mut de = serde_json::Deserializer::from_slice(json);
    // `end` rejects anything but whitespace after the object; writers pad with spaces.
    if let Err(e) = (&mut state).deserialize(&mut de).and_then(|()| de.end()) {
        return Err(state.error.take().unwrap_or_else(|| ImportError::Malformed(clip(&format!("header JSON: {e}")))));
    }

    // The official reader rejects files whose tensor data regions leave gaps or
    // overlap; doing the same here means a header this module accepts is one the
    // real loaders accept too, and it catches a tensor name given twice.
    state.spans.sort_unstable();
    let mut next = 0u64;
    for (begin, end) in state.spans {
        if begin != next {
            return Err(ImportError::Malformed(format!(
                "tensor data regions are not contiguous: a region starts at byte {begin}, expected {next}"
            )));
        }
        next = end;
    }

    Ok(SafetensorsSummary {
        total_parameters: state.total.parameters,
        tensor_count: state.total.tensors,
        by_dtype: state
            .by_dtype
            .into_iter()
            .map(|(dtype, t)| DtypeCount { dtype, parameters: t.parameters, bytes: t.bytes, tensors: t.tensors })
            .collect(),
        by_group: state
            .by_group
            .into_iter()
            .map(|(group, t)| GroupCount { group: group.to_owned(), parameters: t.parameters, tensors: t.tensors })
            .collect(),
        metadata: state.metadata.into_iter().collect(),
        header_bytes,
    })
}

/// Checks one tensor entry on its own: a short dtype name, an element count that
/// fits in a `u64`, ordered offsets, and (for a dtype of known size) a span that
/// holds exactly the elements. Returns the element count and the bytes spanned.
fn check_tensor(name: &str, entry: &TensorEntry) -> Result<(u64, u64), ImportError> {
    let dtype = &entry.dtype;
    if dtype.len() > MAX_DTYPE_BYTES {
        return Err(ImportError::Malformed(clip(&format!(
            "tensor {name:?}: dtype name is {} bytes long, over {MAX_DTYPE_BYTES}",
            dtype.len()
        ))));
    }
    let numel = entry
        .shape
        .0
        .ok_or_else(|| ImportError::Malformed(clip(&format!("tensor {name:?}: shape has more than 2^64 elements"))))?;
    let (begin, end) = entry.data_offsets;
    let stored = end.checked_sub(begin).ok_or_else(|| {
        ImportError::Malformed(clip(&format!("tensor {name:?}: data_offsets [{begin}, {end}] end before they begin")))
    })?;
    if let Some(bits) = dtype_bits(dtype) {
        let total_bits = numel.checked_mul(bits).ok_or_else(|| {
            ImportError::Malformed(clip(&format!(
                "tensor {name:?}: {numel} elements of {dtype} overflow a 64-bit byte count"
            )))
        })?;
        // Sub-byte dtypes (F4, F6) must still fill whole bytes, as the official
        // library requires.
        if !total_bits.is_multiple_of(8) {
            return Err(ImportError::Malformed(clip(&format!(
                "tensor {name:?}: {numel} elements of {dtype} do not fill whole bytes"
            ))));
        }
        let expected = total_bits / 8;
        if expected != stored {
            return Err(ImportError::Malformed(clip(&format!(
                "tensor {name:?}: {numel} elements of {dtype} need {expected} bytes but data_offsets span {stored}"
            ))));
        }
    }
    Ok((numel, stored))
}

/// `metadata` of an index file; only `total_size` is read.
#[derive(Deserialize)]
struct IndexMetadata {
    // A Number rather than u64: some writers emit `1.2e10`-style floats here.
    #[serde(default)]
    total_size: Option<serde_json::Number>,
}

/// Everything kept from an index, filled in while serde walks it (see
/// [`HeaderState`] for why). Tensor names are classified and kept only to refuse repeats.
#[derive(Default)]
struct IndexState {
    total_size: Option<serde_json::Number>,
    seen_metadata: bool,
    seen_weight_map: bool,
    tensors: u64,
    names: HashSet<String>,
    groups: BTreeMap<&'static str, u64>,
    files: BTreeSet<String>,
    error: Option<ImportError>,
}

impl<'de> DeserializeSeed<'de> for &mut IndexState {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut IndexState {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a weight_map")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "metadata" if !self.seen_metadata => {
                    self.seen_metadata = true;
                    let meta: Option<IndexMetadata> = map.next_value()?;
                    self.total_size = meta.and_then(|m| m.total_size);
                }
                "weight_map" if !self.seen_weight_map => {
                    self.seen_weight_map = true;
                    map.next_value_seed(WeightMapSeed(self))?;
                }
                "metadata" | "weight_map" => return Err(de::Error::custom(format!("duplicate key {key:?}"))),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Walks `weight_map`, counting names by group and collecting distinct files.
/// A name given twice is refused, as in a header (the index is at most a few MiB of JSON,
/// so keeping the names is cheap).
struct WeightMapSeed<'a>(&'a mut IndexState);

impl<'de> DeserializeSeed<'de> for WeightMapSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for WeightMapSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("weight_map as an object of tensor name to file name")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.0;
        while let Some((name, file)) = map.next_entry::<String, String>()? {
            if state.names.contains(&name) {
                let e = ImportError::Malformed(clip(&format!("weight_map gives tensor {name:?} twice")));
                return Err(stop(&mut state.error, e));
            }
            let count = state.groups.entry(tensor_group(&name)).or_default();
            *count = count.saturating_add(1);
            state.tensors = state.tensors.saturating_add(1);
            state.names.insert(name);
            if !state.files.contains(&file) {
                if state.files.len() >= MAX_INDEX_FILES {
                    let e = ImportError::TooLarge(format!("weight_map names more than {MAX_INDEX_FILES} files"));
                    return Err(stop(&mut state.error, e));
                }
                state.files.insert(file);
            }
        }
        Ok(())
    }
}

/// Reads a `model.safetensors.index.json` (`{"metadata": {"total_size": N},
/// "weight_map": {tensor name: shard file}}`). The index has no shapes, so the
/// summary has tensor and file counts but no parameter counts.
///
/// # Errors
///
/// [`ImportError::TooLarge`] when `json` exceeds [`MAX_INDEX_BYTES`] or names
/// over [`MAX_INDEX_FILES`] files, and [`ImportError::Malformed`] when it is not
/// an index (no `weight_map` of strings) or `total_size` is not a whole number of
/// bytes.
pub fn parse_index(json: &[u8]) -> Result<SafetensorsIndexSummary, ImportError> {
    if json.len() > MAX_INDEX_BYTES {
        return Err(ImportError::TooLarge(format!("index is {} bytes, over {MAX_INDEX_BYTES}", json.len())));
    }
    let mut state = IndexState::default();
    let mut de = serde_json::Deserializer::from_slice(json);
    if let Err(e) = (&mut state).deserialize(&mut de).and_then(|()| de.end()) {
        return Err(state.error.take().unwrap_or_else(|| ImportError::Malformed(clip(&format!("index JSON: {e}")))));
    }
    if !state.seen_weight_map {
        return Err(ImportError::Malformed("index has no weight_map".to_owned()));
    }
    let total_size_bytes = match state.total_size {
        None => None,
        Some(n) => Some(number_to_u64(&n).ok_or_else(|| {
            ImportError::Malformed(clip(&format!("metadata.total_size {n} is not a whole number of bytes")))
        })?),
    };

    Ok(SafetensorsIndexSummary {
        total_size_bytes,
        tensor_count: state.tensors,
        file_count: len_u64(state.files.len())?,
        files: state.files.into_iter().collect(),
        by_group: state
            .groups
            .into_iter()
            .map(|(group, tensors)| IndexGroupCount { group: group.to_owned(), tensors })
            .collect(),
    })
}

/// Bits per element of the dtypes the official safetensors library defines
/// (`Dtype::bitsize` in its `tensor.rs`); `None` for any other name, which is
/// counted but not size-checked so newer dtypes do not fail the import.
fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}

/// Sorts a tensor name into the part of the model it belongs to, so an estimate
/// can treat, say, expert weights (sparsely used) apart from attention weights.
///
/// The name is lower-cased and split on `.`; the first rule that matches any
/// component wins, in this order:
///
/// 1. `lm_head`: a component `lm_head` or `embed_out` (GPT-NeoX), or GGUF's bare
///    `output.weight`.
/// 2. `norm`: a component containing `norm` (`layernorm`, `input_layernorm`,
///    `rms_norm`, `q_norm`, `attn_norm`, ...) or starting `ln` followed by nothing,
///    digits or `_` (`ln_f`, `ln_1`, `ln_attn`, `ln1`). Checked early because norm
///    tensors sit inside attention and MLP blocks (`attention.output.LayerNorm`).
/// 3. `router`: a component exactly `gate` (the `MoE` router in Mixtral, Qwen-MoE and
///    `DeepSeek`: `mlp.gate.weight`; dense models say `gate_proj`), containing
///    `router`, `shared_expert_gate`, or GGUF's `ffn_gate_inp`.
/// 4. `experts`: a component exactly `experts` (`mlp.experts.3.up_proj`) or ending
///    `_exps` (GGUF). Shared experts (`shared_experts`, `shared_expert`) run for
///    every token, so they are `mlp`, not `experts`.
/// 5. `position_embedding`: `wpe`, `position_embeddings`, `embed_positions`,
///    `position_embd`.
/// 6. `embedding`: `embed_tokens`, `wte`, `word_embeddings`, `tok_embeddings`,
///    `token_embd`, `embed_in`, `token_type_embeddings`, or the text
///    `embeddings.word`.
/// 7. `attention`: a component containing `attn` or `attention` (`self_attn`,
///    `c_attn`, `SelfAttention`, BERT's `attention.output.dense`), or one of
///    `q_proj`, `k_proj`, `v_proj`, `o_proj`, `qkv_proj`, `query_key_value`,
///    `query`, `key`, `value`, `q_a_proj`, `q_b_proj`, `kv_a_proj_with_mqa`,
///    `kv_b_proj`.
/// 8. `mlp`: a component containing `mlp` or `feed_forward`, starting `ffn`, or
///    one of `gate_proj`, `up_proj`, `down_proj`, `gate_up_proj`, `c_fc`, `fc1`,
///    `fc2`, `w1`, `w2`, `w3`, `dense_h_to_4h`, `dense_4h_to_h`, `intermediate`,
///    `densereludense`, `shared_expert`, `shared_experts`; or the pair
///    `output.dense` (BERT's FFN output; its attention output matched rule 7).
/// 9. `other`: everything else (poolers, `position_ids`, vision patch embeddings, ...).
#[must_use]
pub fn tensor_group(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('.').collect();
    let any = |pred: &dyn Fn(&str) -> bool| parts.iter().any(|p| pred(p));

    if any(&|p| p == "lm_head" || p == "embed_out") || matches!(parts.as_slice(), ["output", "weight"]) {
        return "lm_head";
    }
    if any(&is_norm) {
        return "norm";
    }
    if any(&|p| p == "gate" || p.contains("router") || p == "shared_expert_gate" || p == "ffn_gate_inp") {
        return "router";
    }
    if any(&|p| p == "experts" || p.ends_with("_exps")) {
        return "experts";
    }
    if any(&|p| matches!(p, "wpe" | "position_embeddings" | "embed_positions" | "position_embd")) {
        return "position_embedding";
    }
    if any(&|p| {
        matches!(
            p,
            "embed_tokens"
                | "wte"
                | "word_embeddings"
                | "tok_embeddings"
                | "token_embd"
                | "embed_in"
                | "token_type_embeddings"
        )
    }) || lower.contains("embeddings.word")
    {
        return "embedding";
    }
    if any(&|p| {
        p.contains("attn")
            || p.contains("attention")
            || matches!(
                p,
                "q_proj"
                    | "k_proj"
                    | "v_proj"
                    | "o_proj"
                    | "qkv_proj"
                    | "query_key_value"
                    | "query"
                    | "key"
                    | "value"
                    | "q_a_proj"
                    | "q_b_proj"
                    | "kv_a_proj_with_mqa"
                    | "kv_b_proj"
            )
    }) {
        return "attention";
    }
    if any(&|p| {
        p.contains("mlp")
            || p.contains("feed_forward")
            || p.starts_with("ffn")
            || matches!(
                p,
                "gate_proj"
                    | "up_proj"
                    | "down_proj"
                    | "gate_up_proj"
                    | "c_fc"
                    | "fc1"
                    | "fc2"
                    | "w1"
                    | "w2"
                    | "w3"
                    | "dense_h_to_4h"
                    | "dense_4h_to_h"
                    | "intermediate"
                    | "densereludense"
                    | "shared_expert"
                    | "shared_experts"
            )
    }) || parts.windows(2).any(|w| matches!(w, ["output", "dense"]))
    {
        return "mlp";
    }
    "other"
}

/// Whether one lower-cased name component names a normalisation layer.
fn is_norm(part: &str) -> bool {
    part.contains("norm")
        || part.strip_prefix("ln").is_some_and(|rest| rest.starts_with('_') || rest.bytes().all(|b| b.is_ascii_digit()))
}

/// A JSON number as a byte count: non-negative integers, or floats that are
/// whole and fit (some writers emit `total_size` as a float).
fn number_to_u64(n: &serde_json::Number) -> Option<u64> {
    // 2^64 as f64 is exact; anything at or above it does not fit.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    if let Some(v) = n.as_u64() {
        return Some(v);
    }
    let f = n.as_f64()?;
    if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < LIMIT {
        // In range and whole, so the cast is exact.
        Some(f as u64)
    } else {
        None
    }
}

fn add_or_overflow(a: u64, b: u64, what: &str) -> Result<u64, ImportError> {
    a.checked_add(b).ok_or_else(|| ImportError::Malformed(format!("{what} overflows 64 bits")))
}

fn len_u64(n: usize) -> Result<u64, ImportError> {
    u64::try_from(n).map_err(|_| ImportError::TooLarge(format!("{n} entries")))
}

/// The first [`MAX_KEPT_STRING_CHARS`] characters of `s`.
fn keep(s: &str) -> String {
    s.chars().take(MAX_KEPT_STRING_CHARS).collect()
}

/// Keeps error messages short: they go back to a client and may quote input
/// (tensor names, serde's echo of a bad value) that an attacker controls.
fn clip(message: &str) -> String {
    const MAX_CHARS: usize = 300;
    let mut chars = message.chars();
    let head: String = chars.by_ref().take(MAX_CHARS).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &[u8] = include_bytes!("../../tests/fixtures/tiny_llama.safetensors");
    const MINILM: &[u8] = include_bytes!("../../tests/fixtures/all-minilm-l6-v2.header.safetensors");
    const INDEX: &[u8] = include_bytes!("../../tests/fixtures/model.safetensors.index.json");

    /// A header with the given JSON text, built by hand for hostile cases.
    fn with_json(json: &str) -> Vec<u8> {
        let mut out = (json.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(json.as_bytes());
        out
    }

    fn dtype<'a>(s: &'a SafetensorsSummary, name: &str) -> &'a DtypeCount {
        s.by_dtype.iter().find(|d| d.dtype == name).unwrap()
    }

    fn group<'a>(s: &'a SafetensorsSummary, name: &str) -> &'a GroupCount {
        s.by_group.iter().find(|g| g.group == name).unwrap()
    }

    #[test]
    fn tiny_llama_counts() {
        // Numbers printed by tests/fixtures/make_fixtures.py.
        let s = parse(TINY).unwrap();
        assert_eq!(s.total_parameters, 106_816);
        assert_eq!(s.tensor_count, 21);
        assert_eq!(s.header_bytes, 2144);
        assert_eq!(s.header_bytes, TINY.len() as u64);
        assert_eq!(
            s.by_dtype,
            vec![
                DtypeCount { dtype: "BF16".into(), parameters: 65_536, bytes: 131_072, tensors: 7 },
                DtypeCount { dtype: "F32".into(), parameters: 41_280, bytes: 165_120, tensors: 14 },
            ]
        );
        let groups: Vec<(&str, u64, u64)> =
            s.by_group.iter().map(|g| (g.group.as_str(), g.parameters, g.tensors)).collect();
        assert_eq!(
            groups,
            vec![
                ("attention", 24_576, 8),
                ("embedding", 16_384, 1),
                ("lm_head", 16_384, 1),
                ("mlp", 49_152, 6),
                ("norm", 320, 5),
            ]
        );
        assert_eq!(s.metadata, vec![("format".to_owned(), "pt".to_owned())]);
    }

    #[test]
    fn a_tensor_name_given_twice_is_refused() {
        // Contiguous spans, so only the name repeats: before, it was counted twice.
        let json = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#;
        let error = parse(&with_json(json)).unwrap_err();
        assert!(matches!(&error, ImportError::Malformed(m) if m.contains("given twice")), "{error:?}");
    }

    #[test]
    fn tiny_llama_with_its_data_parses_the_same() {
        // The fixture keeps only the header; the full file has 296,192 data bytes
        // after it, which must be ignored.
        let mut full = TINY.to_vec();
        full.resize(TINY.len() + 296_192, 0);
        assert_eq!(parse(&full).unwrap(), parse(TINY).unwrap());
    }

    #[test]
    fn real_minilm_header() {
        let s = parse(MINILM).unwrap();
        assert_eq!(s.tensor_count, 104);
        assert_eq!(s.header_bytes, 11_416);
        // 22,713,216 learned weights (pooler included) plus BERT's
        // `embeddings.position_ids` buffer, an I64 [1, 512] tensor saved with them.
        assert_eq!(s.total_parameters, 22_713_728);
        assert_eq!(dtype(&s, "F32").parameters, 22_713_216);
        assert_eq!(dtype(&s, "F32").bytes, 22_713_216 * 4);
        assert_eq!(dtype(&s, "I64").parameters, 512);
        assert_eq!(group(&s, "embedding").parameters, 30_522 * 384 + 2 * 384);
        assert_eq!(group(&s, "position_embedding").parameters, 512 * 384);
        // Per layer: q, k, v, attention.output.dense (weights and biases).
        assert_eq!(group(&s, "attention").parameters, 6 * 4 * (384 * 384 + 384));
        // Per layer: intermediate.dense and output.dense.
        assert_eq!(group(&s, "mlp").parameters, 6 * (2 * 384 * 1536 + 1536 + 384));
        // Pooler and position_ids.
        assert_eq!(group(&s, "other").parameters, 384 * 384 + 384 + 512);
    }

    #[test]
    fn index_fixture() {
        let s = parse_index(INDEX).unwrap();
        assert_eq!(s.total_size_bytes, Some(296_192));
        assert_eq!(s.tensor_count, 21);
        assert_eq!(s.file_count, 2);
        assert_eq!(s.files, vec!["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
        let groups: Vec<(&str, u64)> = s.by_group.iter().map(|g| (g.group.as_str(), g.tensors)).collect();
        assert_eq!(groups, vec![("attention", 8), ("embedding", 1), ("lm_head", 1), ("mlp", 6), ("norm", 5)]);
    }

    #[test]
    fn index_edge_cases() {
        let no_meta = parse_index(br#"{"weight_map": {"a.q_proj.weight": "x"}}"#).unwrap();
        assert_eq!(no_meta.total_size_bytes, None);
        let float = parse_index(br#"{"metadata": {"total_size": 1.5e3}, "weight_map": {}}"#).unwrap();
        assert_eq!(float.total_size_bytes, Some(1500));
        for bad in [
            &br#"{"metadata": {"total_size": -1}, "weight_map": {}}"#[..],
            br#"{"metadata": {"total_size": 1.5}, "weight_map": {}}"#,
            br#"{"metadata": {"total_size": 1e300}, "weight_map": {}}"#,
            br#"{"metadata": {}}"#,
            br#"{"weight_map": {"a": 3}}"#,
            b"",
            b"[]",
            b"{\"weight_map\": {\"\xff\": \"x\"}}",
        ] {
            assert!(matches!(parse_index(bad), Err(ImportError::Malformed(_))), "{bad:?}");
        }
        let huge = vec![b' '; MAX_INDEX_BYTES + 1];
        assert!(matches!(parse_index(&huge), Err(ImportError::TooLarge(_))));
    }

    #[test]
    fn every_prefix_of_the_header_is_truncated() {
        for len in 0..TINY.len() {
            assert!(matches!(parse(&TINY[..len]), Err(ImportError::Truncated(_))), "prefix of {len} bytes");
        }
        for len in 0..MINILM.len() {
            assert!(matches!(parse(&MINILM[..len]), Err(ImportError::Truncated(_))));
        }
    }

    #[test]
    fn header_length_limits() {
        assert!(matches!(parse(&[]), Err(ImportError::Truncated(_))));
        let max = u64::MAX.to_le_bytes();
        assert!(matches!(parse(&max), Err(ImportError::TooLarge(_))));
        let over = (MAX_HEADER_BYTES + 1).to_le_bytes();
        assert!(matches!(parse(&over), Err(ImportError::TooLarge(_))));
        // At the cap but with nothing behind it: a short upload, not a bad file.
        let at_cap = MAX_HEADER_BYTES.to_le_bytes();
        assert!(matches!(parse(&at_cap), Err(ImportError::Truncated(_))));
    }

    #[test]
    fn hostile_headers() {
        let cases: &[(&str, &str)] = &[
            ("not json", "{not json"),
            ("not an object", "[1, 2]"),
            ("empty", ""),
            (
                "shape product overflow",
                r#"{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}"#,
            ),
            (
                "shape product overflow, unknown dtype",
                r#"{"a": {"dtype": "X", "shape": [18446744073709551615, 2], "data_offsets": [0, 0]}}"#,
            ),
            ("negative dim", r#"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#),
            ("size mismatch", r#"{"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 12]}}"#),
            ("size overflow", r#"{"a": {"dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 0]}}"#),
            ("sub-byte remainder", r#"{"a": {"dtype": "F4", "shape": [3], "data_offsets": [0, 1]}}"#),
            ("end before begin", r#"{"a": {"dtype": "U8", "shape": [0], "data_offsets": [8, 4]}}"#),
            ("gap", r#"{"a": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}}"#),
            (
                "overlap",
                r#"{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                    "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}"#,
            ),
            ("missing field", r#"{"a": {"dtype": "U8", "shape": [4]}}"#),
            ("three offsets", r#"{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4, 8]}}"#),
            ("metadata not strings", r#"{"__metadata__": {"a": 1}}"#),
            (
                "parameter total overflow",
                r#"{"a": {"dtype": "X", "shape": [18446744073709551615], "data_offsets": [0, 0]},
                    "b": {"dtype": "X", "shape": [2], "data_offsets": [0, 0]}}"#,
            ),
        ];
        for (what, json) in cases {
            let got = parse(&with_json(json));
            assert!(matches!(got, Err(ImportError::Malformed(_))), "{what}: {got:?}");
        }
        // Invalid UTF-8 inside a JSON string.
        let mut bad_utf8 = with_json(r#"{"__metadata__": {"k": "vv"}}"#);
        let at = bad_utf8.len() - 4;
        bad_utf8[at] = 0xff;
        assert!(matches!(parse(&bad_utf8), Err(ImportError::Malformed(_))));
    }

    #[test]
    fn error_messages_are_clipped() {
        let long_name = "n".repeat(100_000);
        let json = format!(r#"{{"{long_name}": {{"dtype": "F32", "shape": [2], "data_offsets": [0, 1]}}}}"#);
        let Err(ImportError::Malformed(msg)) = parse(&with_json(&json)) else {
            panic!("expected Malformed");
        };
        assert!(msg.chars().count() <= 301, "{} chars", msg.chars().count());
    }

    #[test]
    fn accepted_shapes() {
        // Scalars have one element; empty tensors none; unknown dtypes are counted
        // without a size check; null metadata is no metadata; writers pad with spaces.
        let s = parse(&with_json(
            r#"{"__metadata__": null,
                "s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
                "e": {"dtype": "F16", "shape": [0, 7], "data_offsets": [4, 4]},
                "q": {"dtype": "NEW_DTYPE", "shape": [10], "data_offsets": [4, 9]},
                "f": {"dtype": "F4", "shape": [6], "data_offsets": [9, 12]}}    "#,
        ))
        .unwrap();
        assert_eq!(s.total_parameters, 1 + 10 + 6);
        assert_eq!(s.tensor_count, 4);
        assert_eq!(dtype(&s, "NEW_DTYPE").bytes, 5);
        assert_eq!(dtype(&s, "F4").bytes, 3);
        assert!(s.metadata.is_empty());
        assert_eq!(s.by_group, vec![GroupCount { group: "other".into(), parameters: 17, tensors: 4 }]);
    }

    #[test]
    fn metadata_is_capped_and_cut() {
        let long = "v".repeat(1000);
        let s = parse(&with_json(&format!(r#"{{"__metadata__": {{"k": "{long}", "a": "b", "a": "c"}}}}"#))).unwrap();
        assert_eq!(
            s.metadata,
            vec![("a".to_owned(), "c".to_owned()), ("k".to_owned(), "v".repeat(MAX_KEPT_STRING_CHARS))]
        );

        let many: Vec<String> = (0..=MAX_METADATA_ENTRIES).map(|i| format!(r#""k{i}": "v""#)).collect();
        let json = format!(r#"{{"__metadata__": {{{}}}}}"#, many.join(","));
        assert!(matches!(parse(&with_json(&json)), Err(ImportError::TooLarge(_))));
    }

    #[test]
    fn long_dtype_names_and_long_shapes() {
        let dtype = "D".repeat(MAX_DTYPE_BYTES + 1);
        let json = format!(r#"{{"a": {{"dtype": "{dtype}", "shape": [1], "data_offsets": [0, 1]}}}}"#);
        assert!(matches!(parse(&with_json(&json)), Err(ImportError::Malformed(_))));
        let many: Vec<String> = (0..=MAX_DTYPES)
            .map(|i| format!(r#""t{i}": {{"dtype": "X{i}", "shape": [1], "data_offsets": [{i}, {i}]}}"#))
            .collect();
        let json = format!("{{{}}}", many.join(","));
        assert!(matches!(parse(&with_json(&json)), Err(ImportError::TooLarge(_))));
        // A million-dimension shape is folded, not stored.
        let dims = vec!["1"; 1_000_000].join(",");
        let json = format!(r#"{{"a": {{"dtype": "U8", "shape": [{dims}], "data_offsets": [0, 1]}}}}"#);
        assert_eq!(parse(&with_json(&json)).unwrap().total_parameters, 1);
    }

    #[test]
    fn index_limits() {
        let many: Vec<String> = (0..=MAX_INDEX_FILES).map(|i| format!(r#""t{i}": "f{i}""#)).collect();
        let json = format!(r#"{{"weight_map": {{{}}}}}"#, many.join(","));
        assert!(matches!(parse_index(json.as_bytes()), Err(ImportError::TooLarge(_))));
        let twice = br#"{"weight_map": {}, "weight_map": {}}"#;
        assert!(matches!(parse_index(twice), Err(ImportError::Malformed(_))));
        let repeated = br#"{"weight_map": {"a.weight": "x", "a.weight": "y"}}"#;
        assert!(matches!(parse_index(repeated), Err(ImportError::Malformed(m)) if m.contains("twice")));
        let trailing = br#"{"weight_map": {}} x"#;
        assert!(matches!(parse_index(trailing), Err(ImportError::Malformed(_))));
        let extra = br#"{"metadata": null, "other": [1, {"a": 2}], "weight_map": {"a": "f"}}"#;
        assert_eq!(parse_index(extra).unwrap().file_count, 1);
    }

    #[test]
    fn corrupted_fixtures_never_panic() {
        // Overwrite header bytes with a few hostile values; any result is fine as
        // long as it is a result. Every byte of the small fixtures, every 11th of
        // MiniLM's (all of it takes half a minute in a debug build).
        for (source, step) in [(TINY, 1), (MINILM, 11)] {
            let mut bytes = source.to_vec();
            for at in (0..bytes.len()).step_by(step) {
                let original = bytes[at];
                for value in [0x00, 0xff, b'"', b'9'] {
                    bytes[at] = value;
                    let _ = parse(&bytes);
                }
                bytes[at] = original;
            }
        }
        let mut bytes = INDEX.to_vec();
        for at in 0..bytes.len() {
            let original = bytes[at];
            for value in [0x00, 0xff, b'"', b'9'] {
                bytes[at] = value;
                let _ = parse_index(&bytes);
            }
            bytes[at] = original;
        }
    }

    #[test]
    fn tensor_groups() {
        let table: &[(&str, &str)] = &[
            // Llama / Mistral / Qwen (Hugging Face names)
            ("model.embed_tokens.weight", "embedding"),
            ("model.layers.0.self_attn.q_proj.weight", "attention"),
            ("model.layers.0.self_attn.k_proj.weight", "attention"),
            ("model.layers.0.self_attn.v_proj.weight", "attention"),
            ("model.layers.0.self_attn.o_proj.weight", "attention"),
            ("model.layers.0.self_attn.q_norm.weight", "norm"),
            ("model.layers.0.mlp.gate_proj.weight", "mlp"),
            ("model.layers.0.mlp.up_proj.weight", "mlp"),
            ("model.layers.0.mlp.down_proj.weight", "mlp"),
            ("model.layers.0.input_layernorm.weight", "norm"),
            ("model.layers.0.post_attention_layernorm.weight", "norm"),
            ("model.norm.weight", "norm"),
            ("lm_head.weight", "lm_head"),
            ("model.layers.0.self_attn.rotary_emb.inv_freq", "attention"),
            // Meta's original llama names
            ("tok_embeddings.weight", "embedding"),
            ("layers.0.attention.wq.weight", "attention"),
            ("layers.0.feed_forward.w1.weight", "mlp"),
            ("layers.0.attention_norm.weight", "norm"),
            // GPT-2
            ("wte.weight", "embedding"),
            ("wpe.weight", "position_embedding"),
            ("h.0.attn.c_attn.weight", "attention"),
            ("h.0.attn.c_proj.weight", "attention"),
            ("h.0.mlp.c_fc.weight", "mlp"),
            ("h.0.mlp.c_proj.weight", "mlp"),
            ("h.0.ln_1.weight", "norm"),
            ("ln_f.bias", "norm"),
            // BERT
            ("embeddings.word_embeddings.weight", "embedding"),
            ("embeddings.position_embeddings.weight", "position_embedding"),
            ("embeddings.token_type_embeddings.weight", "embedding"),
            ("embeddings.LayerNorm.weight", "norm"),
            ("embeddings.position_ids", "other"),
            ("encoder.layer.0.attention.self.query.weight", "attention"),
            ("encoder.layer.0.attention.self.key.bias", "attention"),
            ("encoder.layer.0.attention.self.value.weight", "attention"),
            ("encoder.layer.0.attention.output.dense.weight", "attention"),
            ("encoder.layer.0.attention.output.LayerNorm.weight", "norm"),
            ("encoder.layer.0.intermediate.dense.weight", "mlp"),
            ("encoder.layer.0.output.dense.weight", "mlp"),
            ("encoder.layer.0.output.LayerNorm.bias", "norm"),
            ("pooler.dense.weight", "other"),
            // GPT-NeoX / Falcon / BLOOM
            ("gpt_neox.embed_in.weight", "embedding"),
            ("embed_out.weight", "lm_head"),
            ("gpt_neox.layers.0.attention.query_key_value.weight", "attention"),
            ("gpt_neox.layers.0.mlp.dense_h_to_4h.weight", "mlp"),
            ("transformer.h.0.self_attention.dense.weight", "attention"),
            ("transformer.h.0.ln_attn.weight", "norm"),
            ("transformer.word_embeddings.weight", "embedding"),
            // OPT / BART
            ("model.decoder.embed_positions.weight", "position_embedding"),
            ("model.decoder.layers.0.fc1.weight", "mlp"),
            ("model.decoder.layers.0.self_attn.out_proj.weight", "attention"),
            // Phi-3 fused projections
            ("model.layers.0.self_attn.qkv_proj.weight", "attention"),
            ("model.layers.0.mlp.gate_up_proj.weight", "mlp"),
            // T5
            ("encoder.block.0.layer.0.SelfAttention.q.weight", "attention"),
            ("encoder.block.0.layer.1.DenseReluDense.wo.weight", "mlp"),
            // Mixture of experts
            ("model.layers.0.block_sparse_moe.gate.weight", "router"),
            ("model.layers.0.block_sparse_moe.experts.7.w1.weight", "experts"),
            ("model.layers.0.mlp.gate.weight", "router"),
            ("model.layers.0.mlp.gate.e_score_correction_bias", "router"),
            ("model.layers.0.mlp.experts.12.up_proj.weight", "experts"),
            ("model.layers.0.mlp.shared_experts.down_proj.weight", "mlp"),
            ("model.layers.0.mlp.shared_expert.up_proj.weight", "mlp"),
            ("model.layers.0.mlp.shared_expert_gate.weight", "router"),
            ("model.layers.0.mlp.router.weight", "router"),
            ("model.layers.0.mlp.experts.gate_up_proj", "experts"),
            // DeepSeek MLA
            ("model.layers.0.self_attn.kv_a_proj_with_mqa.weight", "attention"),
            ("model.layers.0.self_attn.kv_a_layernorm.weight", "norm"),
            // GGUF names
            ("token_embd.weight", "embedding"),
            ("blk.0.attn_q.weight", "attention"),
            ("blk.0.attn_norm.weight", "norm"),
            ("blk.0.ffn_gate.weight", "mlp"),
            ("blk.0.ffn_gate_inp.weight", "router"),
            ("blk.0.ffn_down_exps.weight", "experts"),
            ("output_norm.weight", "norm"),
            ("output.weight", "lm_head"),
            // Nothing recognisable
            ("", "other"),
            ("vision_tower.patch_embed.proj.weight", "other"),
        ];
        for (name, want) in table {
            assert_eq!(tensor_group(name), *want, "{name}");
        }
    }
}
