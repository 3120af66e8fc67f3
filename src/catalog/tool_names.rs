//! Device and model names as tools and drivers write them, mapped to the names the catalog's
//! index knows. Tried only when a name does not resolve as given, so ids and aliases always win.
//!
//! Devices. The spellings seen in result files and the sources that write them:
//! - nvidia-smi `--query-gpu=name` and `torch.cuda.get_device_name()` (both read NVML's product
//!   name): `NVIDIA H100 80GB HBM3` (H100 SXM), `NVIDIA H100 PCIe`, `NVIDIA H100 NVL`, `NVIDIA H200`,
//!   `NVIDIA A100-SXM4-80GB`, `NVIDIA A100-SXM4-40GB`, `NVIDIA A100 80GB PCIe`,
//!   `NVIDIA A100-PCIE-40GB`, `NVIDIA L40S`, `NVIDIA L4`, `NVIDIA A10G`, `NVIDIA B200`,
//!   `NVIDIA GB200`, `NVIDIA GeForce RTX 4090`, `NVIDIA RTX 6000 Ada Generation`, `Tesla T4`,
//!   `Tesla V100-SXM2-32GB` (lists of these names in public configs, e.g. neuralinternet/SN27 PR
//!   #291, akash-network/provider-configs PR #91 `NVIDIA H100 NVL`, NVIDIA/nccl-tests issue #228
//!   `NVIDIA A100-SXM4-80GB`);
//! - the Kubernetes label `nvidia.com/gpu.product` written by NVIDIA's GPU feature discovery, which
//!   llm-d reports copy: the same name with spaces as hyphens, `NVIDIA-H100-80GB-HBM3`,
//!   `NVIDIA-A100-SXM4-80GB`, `Tesla-T4`, `Tesla-V100-SXM2-16GB`, `NVIDIA-A10` (vllm-project/aibrix
//!   PR #2388 lists them);
//! - amd-smi / rocm-smi and torch on ROCm: `AMD Instinct MI300X`, `AMD Instinct MI300X OAM` (the
//!   board's product name), and vLLM's `AMD_Instinct_MI300X` (ROCm/vllm PR #359, vllm-project/vllm
//!   PRs #16263 and #27623).
//!
//! One rule covers them, rather than a list of every spelling. It applies to names spelled as tools
//! write them (capitals, spaces or underscores, [`written_by_a_tool`]): lowercase; split on spaces, `_`
//! and `-`; drop the vendor and brand words (`nvidia`, `amd`, `instinct`, `tesla`, `geforce`), the
//! memory technology (`hbm3`...), the form factor `oam` and the word `generation`/`edition`; take a
//! memory size token (`80gb`) aside; then try, in order, the rest with the memory size appended
//! (`a100-pcie-80gb`), each with an `nvidia-`/`amd-` prefix, then the rest without it (`h100`),
//! which counts only when the device found has that memory (within 5%), so `NVIDIA GH200 480GB`
//! (the 96 GB HBM3 part) does not resolve to the catalog's 144 GB GH200.
//!
//! Models: a Hugging Face id resolves through the catalog's aliases (its `hf_repo` with and
//! without the organisation, and the listed fine-tunes). Failing that, an `-Instruct`, `-Chat` or
//! `-it` fine-tune resolves to its base: a fine-tune has the base's architecture, which is all the
//! estimate reads (an assumption the caller states).

/// Words that tools add to a device's name and the catalog's names leave out.
const NOISE: &[&str] = &[
    "nvidia",
    "amd",
    "instinct",
    "tesla",
    "geforce",
    "oam",
    "hbm2",
    "hbm2e",
    "hbm3",
    "hbm3e",
    "generation",
    "edition",
];

/// Vendor prefixes of catalog ids, tried in front of the rest.
const PREFIXES: &[&str] = &["", "nvidia-", "amd-"];

/// A name to try, and the memory (GB) the found device must have, if the name's size was dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The name to look up.
    pub name: String,
    /// The memory the tool's name states, when `name` leaves it out.
    pub memory_gb: Option<f64>,
}

/// The names to try for a device name as a tool writes it, best first.
pub fn device_candidates(raw: &str) -> Vec<Candidate> {
    if !written_by_a_tool(raw) {
        return Vec::new();
    }
    let lower = raw.trim().to_ascii_lowercase();
    let mut memory_gb = None;
    let mut words = Vec::new();
    for word in lower.split([' ', '_', '-', '\t']).filter(|w| !w.is_empty()) {
        if NOISE.contains(&word) {
            continue;
        }
        if let Some(gb) = word.strip_suffix("gb").and_then(|n| n.parse::<u32>().ok())
            && memory_gb.is_none()
        {
            memory_gb = Some(gb);
            continue;
        }
        words.push(word);
    }
    if words.is_empty() {
        return Vec::new();
    }
    let rest = words.join("-");
    let mut out = Vec::new();
    if let Some(gb) = memory_gb {
        for p in PREFIXES {
            out.push(Candidate { name: format!("{p}{rest}-{gb}gb"), memory_gb: None });
        }
    }
    for p in PREFIXES {
        out.push(Candidate { name: format!("{p}{rest}"), memory_gb: memory_gb.map(f64::from) });
    }
    out
}

/// Whether `raw` is spelled as tools write device names: with the vendor's capitals (`NVIDIA`,
/// `Tesla`, `AMD`), spaces or underscores. A lowercase, hyphenated name is a catalog-style name a
/// person typed, and keeps the plain lookup: `nvidia-h100` stays ambiguous (SXM, PCIe or NVL) and
/// gets suggestions, where a tool would have written `NVIDIA H100 80GB HBM3` or `NVIDIA H100 PCIe`.
pub fn written_by_a_tool(raw: &str) -> bool {
    raw.chars().any(|c| c.is_ascii_uppercase() || c == ' ' || c == '_')
}

/// Whether a device with `memory_gib` is the one a name stating `stated_gb` means (vendors round:
/// 80 GiB is sold as 80GB, 141 GB as 141GB).
pub fn memory_agrees(memory_gib: f64, stated_gb: f64) -> bool {
    (memory_gib - stated_gb).abs() <= 0.05 * stated_gb
}

/// Fine-tune suffixes that keep the base model's architecture.
const FINE_TUNES: &[&str] = &["instruct", "chat", "it"];

/// The base model's name for a fine-tune's (`meta-llama/Llama-3.1-8B-Instruct` ->
/// `llama-3.1-8b`), or `None` when the name has no fine-tune word.
pub fn model_base(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let name = lower.rsplit_once('/').map_or(lower.as_str(), |(_, n)| n);
    let words: Vec<&str> = name.split('-').collect();
    let kept: Vec<&str> = words.iter().copied().filter(|w| !FINE_TUNES.contains(w)).collect();
    (kept.len() < words.len() && !kept.is_empty()).then(|| kept.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_drops_brand_words_and_sets_the_memory_aside() {
        let names: Vec<String> = device_candidates("NVIDIA H100 80GB HBM3").into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["h100-80gb", "nvidia-h100-80gb", "amd-h100-80gb", "h100", "nvidia-h100", "amd-h100"]);
        assert_eq!(
            device_candidates("NVIDIA-H100-80GB-HBM3")[3],
            Candidate { name: "h100".into(), memory_gb: Some(80.0) }
        );
        assert_eq!(device_candidates("AMD_Instinct_MI300X_OAM")[0].name, "mi300x");
        assert!(device_candidates("NVIDIA").is_empty());
        assert!(memory_agrees(80.0, 80.0) && memory_agrees(141.0, 141.0) && !memory_agrees(141.0, 480.0));
    }

    /// Spellings as tools write them -> catalog ids (`None`: not in the catalog, an error).
    const DEVICES: &[(&str, Option<&str>)] = &[
        // nvidia-smi / torch.cuda.get_device_name
        ("NVIDIA H100 80GB HBM3", Some("nvidia-h100-sxm-80gb")),
        ("NVIDIA H100 PCIe", Some("nvidia-h100-pcie-80gb")),
        ("NVIDIA H100 NVL", Some("nvidia-h100-nvl-94gb")),
        ("NVIDIA A100-SXM4-80GB", Some("nvidia-a100-sxm4-80gb")),
        ("NVIDIA A100-SXM4-40GB", Some("nvidia-a100-sxm4-40gb")),
        ("NVIDIA A100 80GB PCIe", Some("nvidia-a100-pcie-80gb")),
        ("NVIDIA A100-PCIE-40GB", Some("nvidia-a100-pcie-40gb")),
        ("NVIDIA L40S", Some("nvidia-l40s")),
        ("NVIDIA H200", Some("nvidia-h200-sxm-141gb")),
        ("NVIDIA B200", Some("nvidia-b200")),
        ("NVIDIA GB200", Some("nvidia-gb200-gpu")),
        ("NVIDIA GeForce RTX 4090", Some("nvidia-rtx-4090")),
        ("NVIDIA L4", Some("nvidia-l4")),
        ("NVIDIA A10G", Some("nvidia-a10g")),
        ("NVIDIA A10", Some("nvidia-a10")),
        ("Tesla T4", Some("nvidia-t4")),
        ("Tesla V100-SXM2-32GB", Some("nvidia-v100-sxm2-32gb")),
        ("Tesla V100-PCIE-32GB", Some("nvidia-v100-pcie-32gb")),
        ("NVIDIA RTX 6000 Ada Generation", Some("nvidia-rtx-6000-ada")),
        ("NVIDIA RTX A6000", Some("nvidia-rtx-a6000")),
        // nvidia.com/gpu.product (Kubernetes GPU feature discovery; llm-d reports)
        ("NVIDIA-H100-80GB-HBM3", Some("nvidia-h100-sxm-80gb")),
        ("NVIDIA-A100-SXM4-80GB", Some("nvidia-a100-sxm4-80gb")),
        ("Tesla-T4", Some("nvidia-t4")),
        ("Tesla-V100-SXM2-16GB", Some("nvidia-v100-sxm2-16gb")),
        ("NVIDIA-L40S", Some("nvidia-l40s")),
        // amd-smi / rocm-smi / torch on ROCm, and vLLM's device_name
        ("AMD Instinct MI300X", Some("amd-mi300x")),
        ("AMD Instinct MI300X OAM", Some("amd-mi300x")),
        ("AMD_Instinct_MI300X", Some("amd-mi300x")),
        ("AMD Instinct MI325X", Some("amd-mi325x")),
        ("AMD Instinct MI250X", Some("amd-mi250x")),
        // Not in the catalog: an error, never a neighbour.
        ("NVIDIA H20", None),
        ("NVIDIA GH200 480GB", None),
        ("NVIDIA H100 94GB HBM3", None),
    ];

    #[test]
    fn device_names_as_tools_write_them_resolve_to_catalog_ids() {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        for (name, id) in DEVICES {
            let found = catalog.device(name).ok().map(|d| d.record.id.as_str());
            assert_eq!(found, *id, "{name}");
        }
        // Ids and aliases still resolve first, and an unknown name still gets suggestions.
        assert_eq!(catalog.device("h100").unwrap().record.id, "nvidia-h100-sxm-80gb");
        assert!(catalog.device("NVIDIA H20").unwrap_err().iter().any(|s| s.contains("h200")));
        assert_eq!(catalog.device("zzz").unwrap_err(), Vec::<String>::new());
        // A catalog-style name a person typed is not a tool's spelling: still ambiguous.
        assert!(catalog.device("nvidia-h100").unwrap_err().len() > 1);
    }

    /// Hugging Face ids as result files write them -> catalog ids, and whether the fine-tune rule
    /// (an assumption) was needed.
    const MODELS: &[(&str, Option<&str>, bool)] = &[
        ("meta-llama/Llama-3.1-8B-Instruct", Some("llama-3.1-8b"), false),
        ("meta-llama/Meta-Llama-3.1-70B-Instruct", Some("llama-3.1-70b"), false),
        ("Qwen/Qwen2.5-7B-Instruct", Some("qwen2.5-7b"), false),
        ("deepseek-ai/DeepSeek-V3", Some("deepseek-v3"), false),
        ("Qwen/Qwen3-8B-Instruct", Some("qwen3-8b"), true),
        ("meta-llama/Llama-3.1-405B-Chat", Some("llama-3.1-405b"), true),
        // The catalog has Mistral 7B v0.1 only; v0.3 has another vocabulary.
        ("mistralai/Mistral-7B-Instruct-v0.3", None, false),
    ];

    #[test]
    fn model_names_as_files_write_them_resolve_where_the_catalog_has_the_model() {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        for (name, id, fine_tune) in MODELS {
            assert_eq!(catalog.model(name).ok().map(|m| m.record.id.as_str()), *id, "{name}");
            assert_eq!(catalog.model_fine_tune(name).is_some(), *fine_tune, "{name}");
        }
    }

    #[test]
    fn a_fine_tune_names_its_base() {
        assert_eq!(model_base("mistralai/Mistral-7B-Instruct-v0.3").as_deref(), Some("mistral-7b-v0.3"));
        assert_eq!(model_base("google/gemma-2-9b-it").as_deref(), Some("gemma-2-9b"));
        assert_eq!(model_base("Qwen/Qwen2.5-7B"), None);
        assert_eq!(model_base("chat"), None);
    }
}
