//! Fine-tuning config files people already have, read into training-request fields: an Axolotl
//! YAML, a torchtune recipe YAML, or TRL / Hugging Face Trainer arguments (JSON or YAML).
//!
//! Every key is either mapped to a request field, known to have no bearing on memory or time
//! (learning rates, logging, paths), or reported as unknown: a config is never half-read
//! silently. Values that cannot be mapped are reported too.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// The framework a config file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigFormat {
    /// An Axolotl YAML.
    Axolotl,
    /// A torchtune recipe YAML.
    Torchtune,
    /// TRL trainer arguments (SFTConfig, DPOConfig, GRPOConfig).
    Trl,
    /// Hugging Face `TrainingArguments` (with PEFT's LoRA arguments).
    Trainer,
}

impl ConfigFormat {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigFormat::Axolotl => "axolotl",
            ConfigFormat::Torchtune => "torchtune",
            ConfigFormat::Trl => "trl",
            ConfigFormat::Trainer => "trainer",
        }
    }
}

/// A config file read into request fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The framework.
    pub format: ConfigFormat,
    /// Training-request fields, as JSON.
    pub fields: Map<String, Value>,
    /// Keys that are neither mapped nor known to be irrelevant, as dotted paths.
    pub unknown_keys: Vec<String>,
    /// What could not be mapped, and what was inferred.
    pub notes: Vec<String>,
}

/// The largest config text read.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// Reads `text` (JSON or YAML) as a `format` config, recognising the format from its keys when
/// not given. `devices` (when known) turns per-device batch sizes into global ones.
pub fn read(format: Option<ConfigFormat>, text: &str, devices: u64) -> Result<Imported, String> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!("the config is {} bytes; at most {MAX_TEXT_BYTES} are read", text.len()));
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => serde_yaml_ng::from_str(text).map_err(|e| format!("neither JSON nor YAML: {e}"))?,
    };
    let Value::Object(doc) = value else {
        return Err("a config file is a mapping of keys to values".to_owned());
    };
    let format = match format {
        Some(f) => f,
        None => recognise(&doc).ok_or(
            "not recognised as an Axolotl (base_model), torchtune (model._component_) or TRL/Trainer (per_device_train_batch_size, model_name_or_path) config; give config.format",
        )?,
    };
    let mut out = Reader { fields: Map::new(), unknown: Vec::new(), notes: Vec::new(), devices: devices.max(1) };
    match format {
        ConfigFormat::Axolotl => out.axolotl(&doc),
        ConfigFormat::Torchtune => out.torchtune(&doc),
        ConfigFormat::Trl | ConfigFormat::Trainer => out.trainer(&doc, format),
    }
    out.unknown.sort();
    Ok(Imported { format, fields: out.fields, unknown_keys: out.unknown, notes: out.notes })
}

fn recognise(doc: &Map<String, Value>) -> Option<ConfigFormat> {
    if doc.get("model").and_then(|m| m.get("_component_")).is_some() {
        Some(ConfigFormat::Torchtune)
    } else if doc.contains_key("base_model") {
        Some(ConfigFormat::Axolotl)
    } else if ["num_generations", "beta", "max_prompt_length", "max_completion_length", "packing", "dataset_text_field"]
        .iter()
        .any(|k| doc.contains_key(*k))
    {
        Some(ConfigFormat::Trl)
    } else if ["per_device_train_batch_size", "model_name_or_path", "output_dir"].iter().any(|k| doc.contains_key(*k)) {
        Some(ConfigFormat::Trainer)
    } else {
        None
    }
}

/// Optimizer names of the Trainer's `optim` and Axolotl's `optimizer`, and the request's.
fn optimizer(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "adamw_torch" | "adamw_torch_fused" | "adamw_hf" | "adamw_apex_fused" | "adamw" | "adamw_torch_xla" => "adamw",
        "adamw_bnb_8bit" | "adamw_8bit" | "adamw_torch_4bit" | "adamw_torch_8bit" => "adamw-8bit",
        "paged_adamw_8bit" | "paged_adamw_bnb_8bit" => "paged-adamw-8bit",
        "paged_adamw_32bit" | "paged_adamw" => "paged-adamw",
        "adafactor" => "adafactor",
        "lion_8bit" | "lion_32bit" | "paged_lion_8bit" | "paged_lion_32bit" | "lion" => "lion",
        "sgd" => "sgd-momentum",
        _ => return None,
    })
}

/// A linear layer's Hugging Face / torchtune name, as a request LoRA module.
fn lora_module(name: &str) -> Option<&'static str> {
    Some(match name {
        "q_proj" | "q" | "query" | "wq" => "q",
        "k_proj" | "k" | "key" | "wk" => "k",
        "v_proj" | "v" | "value" | "wv" => "v",
        "o_proj" | "output_proj" | "out_proj" | "dense" | "wo" | "o" => "o",
        "gate_proj" | "w1" | "gate" => "gate",
        "up_proj" | "w3" | "up" | "fc1" => "up",
        "down_proj" | "w2" | "down" | "fc2" => "down",
        "all-linear" | "all_linear" => "all-linear",
        _ => return None,
    })
}

/// torchtune's model builders (`torchtune.models.llama3_1.lora_llama3_1_8b`): the catalog model
/// and the method.
fn torchtune_model(component: &str) -> Option<(String, &'static str)> {
    let name = component.rsplit('.').next()?;
    let (method, base) = if let Some(b) = name.strip_prefix("qlora_") {
        ("qlora", b)
    } else if let Some(b) = name.strip_prefix("lora_") {
        ("lora", b)
    } else {
        ("full", name)
    };
    let model = match base {
        "llama2_7b" => "llama-2-7b",
        "llama2_13b" => "llama-2-13b",
        "llama2_70b" => "llama-2-70b",
        "llama3_8b" => "llama-3-8b",
        "llama3_70b" => "llama-3-70b",
        "llama3_1_8b" => "llama-3.1-8b",
        "llama3_1_70b" => "llama-3.1-70b",
        "llama3_1_405b" => "llama-3.1-405b",
        "llama3_2_1b" => "llama-3.2-1b",
        "llama3_2_3b" => "llama-3.2-3b",
        "llama3_3_70b" => "llama-3.3-70b-instruct",
        "mistral_7b" => "mistral-7b-v0.1",
        "gemma_2b" => "gemma-2b",
        "gemma_7b" => "gemma-7b",
        "gemma2_2b" => "gemma-2-2b",
        "gemma2_9b" => "gemma-2-9b",
        "gemma2_27b" => "gemma-2-27b",
        "phi3_mini" => "phi-3-mini-4k-instruct",
        "phi4_14b" => "phi-4",
        other => {
            // qwen2_5_7b_base / qwen2_5_7b_instruct, qwen3_8b_base, ...
            let other = other.trim_end_matches("_base").trim_end_matches("_instruct");
            if let Some(size) = other.strip_prefix("qwen2_5_") {
                return Some((format!("qwen2.5-{size}"), method));
            }
            if let Some(size) = other.strip_prefix("qwen3_") {
                return Some((format!("qwen3-{size}"), method));
            }
            return None;
        }
    };
    Some((model.to_owned(), method))
}

struct Reader {
    fields: Map<String, Value>,
    unknown: Vec<String>,
    notes: Vec<String>,
    devices: u64,
}

fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") || s == "auto" => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        Value::Null => Some(false),
        _ => None,
    }
}

fn uint(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))
}

impl Reader {
    fn set(&mut self, field: &str, value: Value) {
        self.fields.insert(field.to_owned(), value);
    }

    fn bad(&mut self, key: &str, value: &Value) {
        self.notes.push(format!("{key}: {value} is not understood; left to the defaults"));
    }

    fn uint_field(&mut self, key: &str, value: &Value, field: &str) {
        match uint(value) {
            Some(n) => self.set(field, json!(n)),
            None if value.is_null() => {}
            None => self.bad(key, value),
        }
    }

    fn optimizer_field(&mut self, key: &str, value: &Value) {
        match value.as_str().and_then(optimizer) {
            Some(o) => self.set("optimizer", json!(o)),
            None => self.bad(key, value),
        }
    }

    fn lora_targets(&mut self, key: &str, value: &Value) {
        let names: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut modules = Vec::new();
        for name in names {
            match lora_module(name) {
                Some(m) if !modules.contains(&m) => modules.push(m),
                Some(_) => {}
                None if name == "lm_head" || name == "output" => self.set("lora_on_output", json!(true)),
                None => self.notes.push(format!("{key}: module {name} is not a linear layer hwcost knows; ignored")),
            }
        }
        if !modules.is_empty() {
            self.set("lora_targets", json!(modules));
        }
    }

    fn checkpointing(&mut self, key: &str, value: &Value) {
        match value {
            Value::String(s) if s == "offload" || s == "unsloth" => {
                self.set("activation_checkpointing", json!("full"));
                self.set("activation_offloading", json!(true));
            }
            v => match truthy(v) {
                Some(on) => self.set("activation_checkpointing", json!(if on { "full" } else { "none" })),
                None => self.bad(key, v),
            },
        }
    }

    /// A DeepSpeed config path or object: its ZeRO stage and offload.
    fn deepspeed(&mut self, value: &Value) {
        let text = value.to_string().to_ascii_lowercase();
        let stage = value.get("zero_optimization").and_then(|z| z.get("stage")).and_then(Value::as_u64).or_else(|| {
            ["zero3", "zero2", "zero1"].iter().find(|z| text.contains(*z)).map(|z| u64::from(z.as_bytes()[4] - b'0'))
        });
        match stage {
            Some(s @ 1..=3) => self.set("sharding", json!(format!("zero{s}"))),
            _ => self.notes.push(format!("deepspeed: no ZeRO stage recognised in {value}")),
        }
        if text.contains("offload") || text.contains("cpu") {
            self.set("cpu_offload", json!(true));
        }
    }

    /// Per-device micro-batch and accumulation into a global batch in sequences.
    fn global_batch(&mut self, micro: Option<u64>, accumulation: Option<u64>) {
        if let (Some(m), Some(a)) = (micro, accumulation) {
            self.set("global_batch_sequences", json!(m.saturating_mul(a).saturating_mul(self.devices)));
        }
    }

    fn axolotl(&mut self, doc: &Map<String, Value>) {
        self.set("engine", json!("axolotl"));
        let (mut micro, mut accumulation) = (None, None);
        let mut four_bit = false;
        let mut adapter = None;
        for (key, value) in doc {
            match key.as_str() {
                "base_model" => self.set("model", value.clone()),
                "adapter" => adapter = value.as_str().map(str::to_owned),
                "load_in_4bit" => four_bit = truthy(value).unwrap_or(false),
                "load_in_8bit" if truthy(value) == Some(true) => {
                    self.notes.push("load_in_8bit: an 8-bit base is estimated as a 16-bit LoRA base (upper bound)".into())
                }
                "lora_r" => self.uint_field(key, value, "lora_rank"),
                "lora_dropout" => {
                    if let Some(p) = value.as_f64() {
                        self.set("lora_dropout", json!(p));
                    }
                }
                "lora_target_linear" if truthy(value) == Some(true) => self.set("lora_targets", json!(["all-linear"])),
                "lora_target_modules" => self.lora_targets(key, value),
                "sequence_len" => self.uint_field(key, value, "sequence_length"),
                "micro_batch_size" => {
                    micro = uint(value);
                    self.uint_field(key, value, "micro_batch_size");
                }
                "gradient_accumulation_steps" => accumulation = uint(value),
                "max_steps" => self.uint_field(key, value, "steps"),
                "num_epochs" => self.notes.push(format!(
                    "num_epochs {value}: the dataset's size is not in the config, so time and cost are for the steps or tokens of the request"
                )),
                "optimizer" => self.optimizer_field(key, value),
                "gradient_checkpointing" => self.checkpointing(key, value),
                "bf16" if truthy(value) == Some(true) => self.set("precision", json!("bf16")),
                "fp16" if truthy(value) == Some(true) => self.set("precision", json!("fp16")),
                "flash_attention" | "sdp_attention" | "flex_attention" if truthy(value) == Some(true) => {
                    self.set("flash_attention", json!(true))
                }
                "deepspeed" => self.deepspeed(value),
                "fsdp" | "fsdp_config" => {
                    self.set("sharding", json!("zero3"));
                    let text = value.to_string();
                    if text.contains("offload_params\":true") || text.contains("offload_params\": true") {
                        self.set("cpu_offload", json!(true));
                    }
                }
                "plugins" => {
                    if value.to_string().contains("cut_cross_entropy") || value.to_string().contains("liger") {
                        self.set("loss", json!("fused"));
                    }
                }
                "liger_fused_linear_cross_entropy" | "cut_cross_entropy" if truthy(value) == Some(true) => {
                    self.set("loss", json!("fused"))
                }
                "torch_compile" => {
                    if let Some(b) = truthy(value) {
                        self.set("compile", json!(b));
                    }
                }
                "sample_packing" if truthy(value) == Some(true) => self.notes.push(
                    "sample_packing: sequences are packed to sequence_len, so every micro-batch is full length".into(),
                ),
                "rl" => match value.as_str() {
                    Some("dpo" | "ipo" | "kto" | "orpo" | "simpo") => self.set("engine", json!("trl-dpo")),
                    Some("grpo") => self.set("engine", json!("trl-grpo")),
                    _ => self.bad(key, value),
                },
                k if AXOLOTL_IRRELEVANT.contains(&k) || k.starts_with("wandb_") || k.starts_with("hub_") => {}
                k if k.starts_with("lora_") || k.starts_with("liger_") || k.starts_with("fsdp_") => {}
                _ => self.unknown.push(key.clone()),
            }
        }
        let method = match adapter.as_deref() {
            Some("qlora") => "qlora",
            Some("lora") if four_bit => "qlora",
            Some("lora") => "lora",
            Some(other) => {
                self.notes.push(format!("adapter: {other} is estimated as LoRA"));
                "lora"
            }
            None => "full",
        };
        self.set("method", json!(method));
        self.global_batch(micro, accumulation);
    }

    fn torchtune(&mut self, doc: &Map<String, Value>) {
        self.set("engine", json!("torchtune"));
        let (mut micro, mut accumulation) = (None, None);
        let (mut epochs, mut steps_per_epoch) = (None, None);
        for (key, value) in doc {
            match key.as_str() {
                "model" => self.torchtune_model_section(value),
                "tokenizer" => {
                    if let Some(len) = value.get("max_seq_len") {
                        self.uint_field("tokenizer.max_seq_len", len, "sequence_length");
                    }
                }
                "dataset" => {
                    if value.get("packed").and_then(truthy) == Some(true) {
                        self.notes.push("dataset.packed: every micro-batch is packed to tokenizer.max_seq_len".into());
                    } else {
                        self.notes.push("dataset not packed: batches are padded to their longest example, so the peak is at the longest example (the request's sequence_length)".into());
                    }
                }
                "batch_size" => {
                    micro = uint(value);
                    self.uint_field(key, value, "micro_batch_size");
                }
                "gradient_accumulation_steps" => accumulation = uint(value),
                "epochs" => epochs = uint(value),
                "max_steps_per_epoch" => steps_per_epoch = uint(value),
                "optimizer" => {
                    let component = value.get("_component_").and_then(Value::as_str).unwrap_or("");
                    let name = component.rsplit('.').next().unwrap_or("");
                    let mapped = match name {
                        "AdamW" | "Adam" => Some("adamw"),
                        "AdamW8bit" => Some("adamw-8bit"),
                        "PagedAdamW8bit" => Some("paged-adamw-8bit"),
                        "PagedAdamW" | "PagedAdamW32bit" => Some("paged-adamw"),
                        "SGD" => Some("sgd-momentum"),
                        "Adafactor" => Some("adafactor"),
                        _ => None,
                    };
                    match mapped {
                        Some(o) => self.set("optimizer", json!(o)),
                        None => self.bad("optimizer._component_", &json!(component)),
                    }
                }
                "optimizer_in_bwd" => {
                    if let Some(b) = truthy(value) {
                        self.set("optimizer_in_backward", json!(b));
                    }
                }
                "enable_activation_checkpointing" => self.checkpointing(key, value),
                "enable_activation_offloading" => {
                    if let Some(b) = truthy(value) {
                        self.set("activation_offloading", json!(b));
                    }
                }
                "loss" => {
                    let component = value.get("_component_").and_then(Value::as_str).unwrap_or("");
                    let loss = if component.contains("Chunked") {
                        "chunked"
                    } else if component.contains("Linear") {
                        "fused"
                    } else {
                        "full"
                    };
                    self.set("loss", json!(loss));
                }
                "dtype" => match value.as_str() {
                    Some("bf16") => self.set("precision", json!("bf16")),
                    Some("fp32") => self.set("precision", json!("fp32")),
                    Some("fp16") => self.set("precision", json!("fp16")),
                    _ => self.bad(key, value),
                },
                "compile" => {
                    if let Some(b) = truthy(value) {
                        self.set("compile", json!(b));
                    }
                }
                "fsdp_cpu_offload" => {
                    if truthy(value) == Some(true) {
                        self.set("cpu_offload", json!(true));
                    }
                }
                k if TORCHTUNE_IRRELEVANT.contains(&k) => {}
                _ => self.unknown.push(key.clone()),
            }
        }
        if let (Some(e), Some(s)) = (epochs, steps_per_epoch) {
            self.set("steps", json!(e.saturating_mul(s)));
        } else if epochs.is_some() {
            self.notes.push("epochs: the dataset's size is not in the config, so time and cost are for the steps or tokens of the request".into());
        }
        self.global_batch(micro, accumulation);
    }

    fn torchtune_model_section(&mut self, model: &Value) {
        let Some(section) = model.as_object() else {
            return self.bad("model", model);
        };
        let component = section.get("_component_").and_then(Value::as_str).unwrap_or("");
        match torchtune_model(component) {
            Some((id, method)) => {
                self.set("model", json!(id));
                self.set("method", json!(method));
            }
            None => self.notes.push(format!("model._component_ {component} is not a builder hwcost knows; give model")),
        }
        let mut modules: Vec<&str> = Vec::new();
        let mut listed = false;
        for (key, value) in section {
            let path = format!("model.{key}");
            match key.as_str() {
                "_component_" | "lora_alpha" | "use_dora" | "quantize_base" => {}
                "lora_attn_modules" => {
                    listed = true;
                    for name in value.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        match lora_module(name) {
                            Some(m) => modules.push(m),
                            None => self.notes.push(format!("{path}: {name} is not a module hwcost knows")),
                        }
                    }
                }
                "apply_lora_to_mlp" => {
                    if truthy(value) == Some(true) {
                        modules.extend(["gate", "up", "down"]);
                    }
                    listed = true;
                }
                "apply_lora_to_output" => {
                    if let Some(b) = truthy(value) {
                        self.set("lora_on_output", json!(b));
                    }
                }
                "lora_rank" => self.uint_field(&path, value, "lora_rank"),
                "lora_dropout" => {
                    if let Some(p) = value.as_f64() {
                        self.set("lora_dropout", json!(p));
                    }
                }
                _ => self.unknown.push(path),
            }
        }
        if listed && !modules.is_empty() {
            // In the layers' order, whatever the keys' order.
            let order = ["q", "k", "v", "o", "gate", "up", "down", "all-linear"];
            modules.sort_by_key(|m| order.iter().position(|o| o == m));
            modules.dedup();
            self.set("lora_targets", json!(modules));
        }
    }

    fn trainer(&mut self, doc: &Map<String, Value>, format: ConfigFormat) {
        let engine = if doc.contains_key("num_generations") || doc.contains_key("max_completion_length") {
            "trl-grpo"
        } else if doc.contains_key("max_prompt_length") || doc.contains_key("beta") {
            "trl-dpo"
        } else if format == ConfigFormat::Trl {
            "trl-sft"
        } else {
            "hf-trainer"
        };
        self.set("engine", json!(engine));
        let (mut micro, mut accumulation) = (None, None);
        let (mut peft, mut four_bit) = (false, false);
        let (mut prompt, mut completion) = (None, None);
        for (key, value) in doc {
            match key.as_str() {
                "model_name_or_path" | "model" => self.set("model", value.clone()),
                "per_device_train_batch_size" => {
                    micro = uint(value);
                    self.uint_field(key, value, "micro_batch_size");
                }
                "gradient_accumulation_steps" => accumulation = uint(value),
                "max_steps" if uint(value).is_some_and(|s| s > 0) => self.uint_field(key, value, "steps"),
                "num_train_epochs" => self.notes.push(format!(
                    "num_train_epochs {value}: the dataset's size is not in the config, so time and cost are for the steps or tokens of the request"
                )),
                "gradient_checkpointing" => self.checkpointing(key, value),
                "bf16" if truthy(value) == Some(true) => self.set("precision", json!("bf16")),
                "fp16" if truthy(value) == Some(true) => self.set("precision", json!("fp16")),
                "optim" => self.optimizer_field(key, value),
                "max_length" | "max_seq_length" => self.uint_field(key, value, "sequence_length"),
                "max_prompt_length" => prompt = uint(value),
                "max_completion_length" => completion = uint(value),
                "use_peft" => peft = truthy(value).unwrap_or(false),
                "load_in_4bit" => four_bit = truthy(value).unwrap_or(false),
                "lora_r" => self.uint_field(key, value, "lora_rank"),
                "lora_dropout" => {
                    if let Some(p) = value.as_f64() {
                        self.set("lora_dropout", json!(p));
                    }
                }
                "lora_target_modules" => self.lora_targets(key, value),
                "use_liger_kernel" | "use_liger" if truthy(value) == Some(true) => self.set("loss", json!("fused")),
                "torch_compile" => {
                    if let Some(b) = truthy(value) {
                        self.set("compile", json!(b));
                    }
                }
                "attn_implementation" => {
                    let flash = value.as_str().is_some_and(|s| s.contains("flash") || s == "sdpa");
                    self.set("flash_attention", json!(flash));
                }
                "deepspeed" => self.deepspeed(value),
                "fsdp" => {
                    let text = value.to_string();
                    if text.contains("full_shard") || text.contains("hybrid_shard") {
                        self.set("sharding", json!("zero3"));
                    } else if text.contains("shard_grad_op") {
                        self.set("sharding", json!("zero2"));
                    }
                    if text.contains("offload") {
                        self.set("cpu_offload", json!(true));
                    }
                }
                "beta" if engine == "trl-grpo" => {
                    if value.as_f64().is_some_and(|b| b > 0.0) {
                        self.set("reference_model", json!(true));
                    }
                }
                "precompute_ref_log_probs" if truthy(value) == Some(true) => {
                    self.set("reference_model", json!(false));
                }
                k if TRAINER_IRRELEVANT.contains(&k) => {}
                k if k.starts_with("lora_") || k.starts_with("hub_") || k.starts_with("eval_") || k.starts_with("save_") || k.starts_with("logging_") || k.starts_with("dataloader_") || k.starts_with("vllm_") => {}
                _ => self.unknown.push(key.clone()),
            }
        }
        if let (Some(p), Some(c)) = (prompt, completion) {
            self.set("sequence_length", json!(p.saturating_add(c)));
        } else if let Some(c) = completion {
            self.notes.push(format!("max_completion_length {c} without max_prompt_length: the sequence length is the request's or the default"));
        }
        let method = match (peft, four_bit) {
            (true, true) | (false, true) => "qlora",
            (true, false) => "lora",
            (false, false) => "full",
        };
        self.set("method", json!(method));
        self.global_batch(micro, accumulation);
    }
}

/// Axolotl keys with no bearing on memory or time.
const AXOLOTL_IRRELEVANT: &[&str] = &[
    "base_model_config",
    "model_type",
    "tokenizer_type",
    "tokenizer_config",
    "trust_remote_code",
    "is_llama_derived_model",
    "is_mistral_derived_model",
    "is_qwen_derived_model",
    "strict",
    "datasets",
    "test_datasets",
    "dataset_prepared_path",
    "val_set_size",
    "output_dir",
    "chat_template",
    "default_system_message",
    "pad_to_sequence_len",
    "eval_sample_packing",
    "learning_rate",
    "lr_scheduler",
    "lr_scheduler_kwargs",
    "cosine_min_lr_ratio",
    "warmup_steps",
    "warmup_ratio",
    "weight_decay",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "max_grad_norm",
    "train_on_inputs",
    "group_by_length",
    "tf32",
    "early_stopping_patience",
    "resume_from_checkpoint",
    "auto_resume_from_checkpoints",
    "local_rank",
    "logging_steps",
    "xformers_attention",
    "debug",
    "seed",
    "special_tokens",
    "tokens",
    "saves_per_epoch",
    "save_steps",
    "save_strategy",
    "save_total_limit",
    "evals_per_epoch",
    "eval_steps",
    "eval_table_size",
    "eval_max_new_tokens",
    "eval_batch_size",
    "gradient_checkpointing_kwargs",
    "dataloader_num_workers",
    "dataloader_pin_memory",
    "dataloader_prefetch_factor",
    "s2_attention",
    "shuffle_merged_datasets",
    "unfrozen_parameters",
    "trl",
    "use_reentrant",
    "bnb_config_kwargs",
    "model_config_type",
    "sequence_parallel_degree",
    "ddp_timeout",
    "chat_template_jinja",
    "embeddings_skip_upcast",
    "low_cpu_mem_usage",
    "remove_unused_columns",
    "neftune_noise_alpha",
    "sample_packing_eff_est",
    "total_num_tokens",
    "flash_attn_cross_entropy",
    "flash_attn_rms_norm",
    "flash_attn_fuse_qkv",
    "flash_attn_fuse_mlp",
    "unsloth_cross_entropy_loss",
    "unsloth_lora_mlp",
    "unsloth_lora_qkv",
    "unsloth_lora_o",
    "max_packed_sequence_len",
    "eval_causal_lm_metrics",
    "do_causal_lm_eval",
    "profiler_steps",
    "gpu_memory_limit",
    "dataset_processes",
    "push_dataset_to_hub",
    "hf_use_auth_token",
    "revision_of_model",
    "processor_type",
];

/// torchtune recipe keys with no bearing on memory or time.
const TORCHTUNE_IRRELEVANT: &[&str] = &[
    "output_dir",
    "checkpointer",
    "resume_from_checkpoint",
    "save_adapter_weights_only",
    "seed",
    "shuffle",
    "lr_scheduler",
    "metric_logger",
    "log_every_n_steps",
    "log_peak_memory_stats",
    "log_level",
    "device",
    "profiler",
    "clip_grad_norm",
    "custom_sharded_layers",
    "collate_fn",
    "dataset_val",
    "run_val_every_n_steps",
    "teacher_model",
    "teacher_checkpointer",
    "kd_loss",
    "kd_ratio",
    "fsdp_reshard_after_forward",
    "tensor_parallel_dim",
    "tensor_parallel_plan",
    "cudnn_deterministic_mode",
    "quantizer",
    "data_parallel_replicate_dim",
    "data_parallel_shard_dim",
    "ref_checkpointer",
    "num_training_samples",
];

/// Trainer / TRL keys with no bearing on memory or time.
const TRAINER_IRRELEVANT: &[&str] = &[
    "output_dir",
    "overwrite_output_dir",
    "do_train",
    "do_eval",
    "do_predict",
    "learning_rate",
    "weight_decay",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "max_grad_norm",
    "lr_scheduler_type",
    "lr_scheduler_kwargs",
    "warmup_ratio",
    "warmup_steps",
    "log_level",
    "report_to",
    "run_name",
    "seed",
    "data_seed",
    "push_to_hub",
    "remove_unused_columns",
    "label_names",
    "load_best_model_at_end",
    "metric_for_best_model",
    "greater_is_better",
    "per_device_eval_batch_size",
    "evaluation_strategy",
    "tf32",
    "ddp_find_unused_parameters",
    "gradient_checkpointing_kwargs",
    "dataset_name",
    "dataset_text_field",
    "dataset_config",
    "dataset_train_split",
    "dataset_test_split",
    "packing",
    "padding_free",
    "completion_only_loss",
    "assistant_only_loss",
    "torch_dtype",
    "trust_remote_code",
    "model_revision",
    "use_bnb_nested_quant",
    "bnb_4bit_quant_type",
    "bnb_4bit_compute_dtype",
    "load_in_8bit",
    "temperature",
    "top_p",
    "top_k",
    "use_vllm",
    "num_iterations",
    "epsilon",
    "loss_type",
    "reward_funcs",
    "reward_weights",
    "scale_rewards",
    "log_completions",
    "label_smoothing",
    "rpo_alpha",
    "disable_dropout",
    "truncation_mode",
    "padding_value",
    "generate_during_eval",
    "ref_model_init_kwargs",
    "model_init_kwargs",
    "chat_template_path",
    "bf16_full_eval",
    "fp16_full_eval",
    "optim_args",
    "resume_from_checkpoint",
    "neftune_noise_alpha",
    "average_tokens_across_devices",
    "group_by_length",
    "length_column_name",
    "local_rank",
    "max_grad_norm",
    "deepspeed_plugin",
    "accelerator_config",
    "num_generations_eval",
    "mask_truncated_completions",
    "sync_ref_model",
    "ref_model_mixup_alpha",
    "ref_model_sync_steps",
    "generation_batch_size",
    "steps_per_generation",
    "num_generations",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_axolotl_qlora_yaml_maps_and_reports_unknown_keys() {
        let text = "base_model: meta-llama/Llama-2-7b-hf\nadapter: qlora\nload_in_4bit: true\nlora_r: 32\nlora_target_linear: true\nsequence_len: 4096\nmicro_batch_size: 2\ngradient_accumulation_steps: 4\noptimizer: paged_adamw_32bit\ngradient_checkpointing: true\nbf16: auto\nlearning_rate: 0.0002\nmystery_knob: 3\n";
        let i = read(None, text, 1).unwrap();
        assert_eq!(i.format, ConfigFormat::Axolotl);
        assert_eq!(i.fields["method"], "qlora");
        assert_eq!(i.fields["lora_rank"], 32);
        assert_eq!(i.fields["lora_targets"], json!(["all-linear"]));
        assert_eq!(i.fields["optimizer"], "paged-adamw");
        assert_eq!(i.fields["activation_checkpointing"], "full");
        assert_eq!(i.fields["global_batch_sequences"], 8);
        assert_eq!(i.unknown_keys, ["mystery_knob"]);
    }

    #[test]
    fn a_torchtune_recipe_maps_its_builder_and_components() {
        let text = "model:\n  _component_: torchtune.models.llama3_1.lora_llama3_1_8b\n  lora_attn_modules: ['q_proj', 'v_proj', 'output_proj']\n  apply_lora_to_mlp: True\n  lora_rank: 8\n  lora_alpha: 16\ntokenizer:\n  max_seq_len: 2048\nbatch_size: 2\noptimizer:\n  _component_: bitsandbytes.optim.PagedAdamW8bit\n  lr: 2e-5\noptimizer_in_bwd: True\nenable_activation_checkpointing: True\nloss:\n  _component_: torchtune.modules.loss.CEWithChunkedOutputLoss\ndtype: bf16\n";
        let i = read(None, text, 1).unwrap();
        assert_eq!(i.format, ConfigFormat::Torchtune);
        assert_eq!(i.fields["model"], "llama-3.1-8b");
        assert_eq!(i.fields["method"], "lora");
        assert_eq!(i.fields["lora_targets"], json!(["q", "v", "o", "gate", "up", "down"]));
        assert_eq!(i.fields["optimizer"], "paged-adamw-8bit");
        assert_eq!(i.fields["optimizer_in_backward"], true);
        assert_eq!(i.fields["loss"], "chunked");
        assert_eq!(i.fields["sequence_length"], 2048);
        assert!(i.unknown_keys.is_empty(), "{:?}", i.unknown_keys);
    }

    #[test]
    fn trainer_arguments_json_become_a_grpo_run() {
        let text = r#"{"model_name_or_path": "Qwen/Qwen2.5-7B", "per_device_train_batch_size": 4, "num_generations": 8, "max_prompt_length": 512, "max_completion_length": 256, "use_peft": true, "optim": "adamw_8bit", "bf16": true, "what_is_this": 1}"#;
        let i = read(None, text, 1).unwrap();
        assert_eq!(i.format, ConfigFormat::Trl);
        assert_eq!(i.fields["engine"], "trl-grpo");
        assert_eq!(i.fields["sequence_length"], 768);
        assert_eq!(i.fields["method"], "lora");
        assert_eq!(i.unknown_keys, ["what_is_this"]);
    }

    #[test]
    fn unreadable_text_is_an_error_not_a_panic() {
        assert!(read(None, "- a\n- list", 1).is_err());
        assert!(read(None, "{{{{", 1).is_err());
        assert!(read(None, "just: keys", 1).is_err());
    }
}
