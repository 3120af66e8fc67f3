#!/usr/bin/env python3
"""Writes the fuzz seed corpora (corpus/<target>/) and dictionaries (dict/) from the repository's
fixtures and data, plus hand-made edge cases. Deterministic; standard library only.

    python3 tests/fuzz/make_corpus.py

The corpora are committed; rerun this after a fixture, catalog or wire change and commit the
result. Seeds are named by what they exercise; the fuzzer's finds are never written back here.
"""

from __future__ import annotations

import json
import shutil
import struct
import tomllib
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DATA = ROOT / "data"
CORPUS = FUZZ / "corpus"
DICT = FUZZ / "dict"


def write(target: str, name: str, content: bytes | str) -> None:
    if isinstance(content, str):
        content = content.encode()
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def dumps(value: object) -> str:
    return json.dumps(value, separators=(", ", ": "))


# --- safetensors ---------------------------------------------------------------------------


def st(header: dict, pad: int = 0, data: bytes = b"") -> bytes:
    text = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(text)) + text + data


def safetensors() -> None:
    for name in ["tiny_llama.safetensors", "all-minilm-l6-v2.header.safetensors"]:
        write("safetensors", name, (FIXTURES / name).read_bytes())
    write("safetensors", "empty-object", st({}))
    write("safetensors", "metadata-only", st({"__metadata__": {"format": "pt", "note": "x" * 300}}))
    dtypes = {
        "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
        "F8_E8M0": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
        "I64": 64, "U64": 64, "F64": 64, "C64": 64,
    }
    header, offset = {}, 0
    for i, (dtype, bits) in enumerate(dtypes.items()):
        size = 4 * bits // 8
        header[f"model.layers.{i}.w{i}"] = {"dtype": dtype, "shape": [2, 2], "data_offsets": [offset, offset + size]}
        offset += size
    write("safetensors", "every-dtype", st(header, data=bytes(offset)))
    write("safetensors", "unknown-dtype-and-scalar", st({
        "a": {"dtype": "Q4_0", "shape": [3, 5], "data_offsets": [0, 7]},
        "b": {"dtype": "F32", "shape": [], "data_offsets": [7, 11]},
        "c": {"dtype": "F32", "shape": [0, 4096], "data_offsets": [11, 11]},
    }))
    names = [
        "lm_head.weight", "model.embed_tokens.weight", "model.norm.weight", "transformer.ln_f.bias",
        "transformer.wpe.weight", "model.layers.0.mlp.gate.weight", "model.layers.0.mlp.experts.3.up_proj.weight",
        "model.layers.0.mlp.shared_expert.down_proj.weight", "model.layers.0.self_attn.q_proj.weight",
        "bert.encoder.layer.0.output.dense.weight", "pooler.dense.weight", "blk.0.ffn_gate_exps.weight",
    ]
    header = {n: {"dtype": "BF16", "shape": [4], "data_offsets": [8 * i, 8 * i + 8]} for i, n in enumerate(names)}
    header["__metadata__"] = {"format": "pt"}
    write("safetensors", "every-group-padded", st(header, pad=7))
    write("safetensors", "overlapping", st({
        "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
        "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]},
    }))
    write("safetensors", "huge-length", struct.pack("<Q", 2**63) + b"{}")


def safetensors_index() -> None:
    write("safetensors_index", "tiny_llama.index.json", (FIXTURES / "model.safetensors.index.json").read_bytes())
    write("safetensors_index", "minimal", dumps({"weight_map": {}}))
    write("safetensors_index", "float-total", dumps({
        "metadata": {"total_size": 1.2e10, "format": "pt"},
        "weight_map": {"lm_head.weight": "b.safetensors", "model.norm.weight": "a.safetensors"},
        "extra": [1, {"x": None}],
    }))
    write("safetensors_index", "duplicate-name", '{"weight_map": {"a": "x", "a": "y"}}')


# --- gguf ----------------------------------------------------------------------------------


class Gguf:
    def __init__(self, version: int = 3) -> None:
        self.kv: list[bytes] = []
        self.tensors: list[bytes] = []
        self.version = version

    @staticmethod
    def s(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    def put(self, key: str, vtype: int, payload: bytes) -> "Gguf":
        self.kv.append(self.s(key) + struct.pack("<I", vtype) + payload)
        return self

    def tensor(self, name: str, dims: list[int], ggml_type: int) -> "Gguf":
        body = self.s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        self.tensors.append(body + struct.pack("<IQ", ggml_type, 0))
        return self

    def bytes(self) -> bytes:
        head = b"GGUF" + struct.pack("<IQQ", self.version, len(self.tensors), len(self.kv))
        return head + b"".join(self.kv) + b"".join(self.tensors)


def gguf() -> None:
    tiny = (FIXTURES / "tiny_llama.gguf").read_bytes()
    # The header ends at byte 7529 (the parser's header_bytes); tensor data is never read.
    write("gguf", "tiny_llama.header.gguf", tiny[:7529])
    write("gguf", "empty-v2", Gguf(2).bytes())
    g = Gguf()
    g.put("general.architecture", 8, Gguf.s("qwen2moe")).put("general.name", 8, Gguf.s("fuzz"))
    g.put("general.file_type", 4, struct.pack("<I", 15))
    for key, vtype, payload in [
        ("qwen2moe.block_count", 0, b"\x02"), ("qwen2moe.embedding_length", 2, struct.pack("<H", 256)),
        ("qwen2moe.feed_forward_length", 10, struct.pack("<Q", 512)),
        ("qwen2moe.attention.head_count", 5, struct.pack("<i", 8)),
        ("qwen2moe.attention.head_count_kv", 11, struct.pack("<q", 2)),
        ("qwen2moe.context_length", 3, struct.pack("<h", 4096)), ("qwen2moe.expert_count", 1, b"\x08"),
        ("qwen2moe.expert_used_count", 4, struct.pack("<I", 2)), ("qwen2moe.rope.freq_base", 6, struct.pack("<f", 1e6)),
        ("qwen2moe.norm_eps", 12, struct.pack("<d", 1e-6)), ("general.quantized", 7, b"\x01"),
    ]:
        g.put(key, vtype, payload)
    g.put("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + Gguf.s("a") + Gguf.s("b") + Gguf.s("<s>"))
    g.put("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 2) + struct.pack("<ff", 0.5, -1.0))
    g.put("nested", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 7, 2) + b"\x00\x01")
    # One tensor per ggml type id the table knows, each a whole number of blocks.
    blocks = {0: 1, 1: 1, 2: 32, 3: 32, 6: 32, 7: 32, 8: 32, 9: 32, 10: 256, 11: 256, 12: 256, 13: 256, 14: 256,
              15: 256, 16: 256, 17: 256, 18: 256, 19: 256, 20: 32, 21: 256, 22: 256, 23: 256, 24: 1, 25: 1,
              26: 1, 27: 1, 28: 1, 29: 256, 30: 1, 34: 256, 35: 256, 39: 32, 40: 64, 41: 128}
    for type_id, block in blocks.items():
        g.tensor(f"blk.0.t{type_id}.weight", [block * 2, 3], type_id)
    write("gguf", "every-type-and-value", g.bytes())
    write("gguf", "big-endian", b"GGUF" + struct.pack(">IQQ", 3, 0, 0))
    write("gguf", "duplicate-tensor", Gguf().tensor("a", [32], 0).tensor("a", [32], 0).bytes())


# --- config.json ---------------------------------------------------------------------------

# Catalog names -> the config.json names each family's converter reads.
RENAMES = {
    "gpt2": {"num_hidden_layers": "n_layer", "hidden_size": "n_embd", "num_attention_heads": "n_head",
             "max_position_embeddings": "n_positions", "intermediate_size": "n_inner"},
    "gptj": {"num_hidden_layers": "n_layer", "hidden_size": "n_embd", "num_attention_heads": "n_head",
             "max_position_embeddings": "n_positions", "intermediate_size": "n_inner"},
    "mpt": {"num_hidden_layers": "n_layers", "hidden_size": "d_model", "num_attention_heads": "n_heads",
            "max_position_embeddings": "max_seq_len"},
    "opt": {"intermediate_size": "ffn_dim"},
    "falcon": {"intermediate_size": "ffn_hidden_size", "num_key_value_heads": "num_kv_heads"},
}


def config_of(arch: dict) -> dict:
    model_type = arch["model_type"]
    out = {}
    for key, value in arch.items():
        if isinstance(value, dict):
            continue
        out[RENAMES.get(model_type, {}).get(key, key)] = value
    if moe := arch.get("moe"):
        out.update({
            "num_local_experts": moe["num_experts"], "num_experts": moe["num_experts"],
            "n_routed_experts": moe["num_experts"], "num_experts_per_tok": moe["experts_per_token"],
            "moe_intermediate_size": moe["expert_intermediate_size"],
        })
        if moe.get("shared_expert_intermediate_size"):
            out["shared_expert_intermediate_size"] = moe["shared_expert_intermediate_size"]
        if moe.get("shared_experts"):
            out["n_shared_experts"] = moe["shared_experts"]
        if moe.get("first_dense_layers"):
            out["first_k_dense_replace"] = moe["first_dense_layers"]
    if mla := arch.get("mla"):
        out.update(mla)
    if model_type == "mpt":
        out["expansion_ratio"] = arch["intermediate_size"] // arch["hidden_size"]
    return out


def catalog_models() -> list[dict]:
    models = []
    for path in sorted((DATA / "models").glob("*.toml")):
        models.extend(tomllib.loads(path.read_text())["model"])
    return models


def hf_config() -> None:
    seen: set[str] = set()
    for model in catalog_models():
        arch = model["architecture"]
        if arch["model_type"] in seen:
            continue
        seen.add(arch["model_type"])
        write("hf_config", f"{arch['model_type']}.json", json.dumps(config_of(arch), indent=1))
    llama = {"num_hidden_layers": 48, "hidden_size": 5120, "num_attention_heads": 40, "num_key_value_heads": 8,
             "head_dim": 128, "intermediate_size": 8192, "intermediate_size_mlp": 16384, "vocab_size": 202048,
             "max_position_embeddings": 10485760, "num_local_experts": 16, "num_experts_per_tok": 1,
             "interleave_moe_layer_step": 1, "rope_theta": 500000.0}
    write("hf_config", "llama4-text_config.json", dumps({"model_type": "llama4", "text_config": llama}))
    gemma = {"num_hidden_layers": 34, "hidden_size": 2560, "num_attention_heads": 8, "num_key_value_heads": 4,
             "head_dim": 256, "intermediate_size": 10240, "vocab_size": 262208, "max_position_embeddings": 131072,
             "sliding_window": 1024, "sliding_window_pattern": 6, "hidden_activation": "gelu_pytorch_tanh"}
    write("hf_config", "gemma3-text_config.json", dumps({"model_type": "gemma3", "text_config": gemma}))
    write("hf_config", "qwen2-floats-and-nulls.json", dumps({
        "model_type": "Qwen2", "num_hidden_layers": 24.0, "hidden_size": 896, "num_attention_heads": 14,
        "num_key_value_heads": 2, "intermediate_size": 4864, "vocab_size": 151936, "max_position_embeddings": 32768,
        "sliding_window": 32768, "use_sliding_window": False, "max_window_layers": 21, "head_dim": None,
        "tie_word_embeddings": True, "torch_dtype": "bfloat16", "rope_scaling": {"type": "yarn", "factor": 4.0}}))
    write("hf_config", "unsupported.json", dumps({"model_type": "abacus", "hidden_size": 1}))


# --- requests ------------------------------------------------------------------------------


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def varied(points: list[dict], keys: list[str], limit: int) -> list[dict]:
    """Requests that differ in the given fields: the first of each combination, up to limit."""
    seen, out = set(), []
    for p in points:
        request = p["request"]
        key = tuple(json.dumps(request.get(k), sort_keys=True) for k in keys)
        if key not in seen:
            seen.add(key)
            out.append(request)
    return out[:limit]


def inline_device() -> dict:
    return tomllib.loads((DATA / "hardware" / "socs.toml").read_text())["device"][0] | {"id": "my-soc"}


def requests() -> None:
    openapi = json.loads((ROOT / "openapi" / "openapi.json").read_text())["components"]["schemas"]
    inference = varied(jsonl(DATA / "validation" / "inference.jsonl"), ["engine", "weights", "batch_size", "kv_cache"], 24)
    inference.append(openapi["InferenceRequest"]["example"])
    inference.append({"model": config_of(catalog_models()[0]["architecture"]), "hardware": inline_device(),
                      "batch_size": "max", "weights": "int4", "weights_group_size": 64,
                      "overrides": {"compute_efficiency": 0.5, "memory_efficiency": 0.7, "usd_per_device_hour": 2.5}})
    inference.append({"model": "llama-3.1-8b", "hardware": "nvidia-l4", "input_tokens": 1, "output_tokens": 1,
                      "parallelism": {"tensor": 1, "pipeline": 1, "expert": 1, "data": 3}, "devices": 3})
    inference.append({"model": "mixtral-8x7b", "hardware": "nvidia-a100-sxm4-80gb", "weights": "fp8",
                      "parallelism": {"tensor": 2, "expert": 2}, "devices": 4, "batch_size": 16,
                      "overrides": {"compute_efficiency": 0.3, "memory_efficiency": 0.6, "memory_fraction": 0.9,
                                    "usd_per_device_hour": 1.5}})
    for i, r in enumerate(inference):
        write("inference_request", f"request-{i:02}.json", dumps(r))
    training = varied(jsonl(DATA / "validation" / "training.jsonl"),
                      ["engine", "sharding", "method", "activation_checkpointing", "precision"], 24)
    training.append(openapi["TrainingRequest"]["example"])
    training.append({"model": config_of(catalog_models()[0]["architecture"]), "hardware": inline_device(),
                     "devices": 2, "steps": 10, "sequence_length": 512, "global_batch_sequences": 8,
                     "method": "lora", "lora_rank": 8, "budget": {"usd": 100}, "pue": 1.2})
    training.append({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "devices": 8, "tokens": 1e9,
                     "overrides": {"compute_efficiency": 0.4, "usd_per_device_hour": 2.0}})
    for i, r in enumerate(training):
        write("training_request", f"request-{i:02}.json", dumps(r))


# --- TOML documents ------------------------------------------------------------------------


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise TypeError(value)


def toml_document(doc: dict) -> str:
    """Top-level scalars and arrays first, then one [table] per object (nested objects inline)."""
    lines = [f"{k} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict) and v is not None]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines += ["", f"[{key}]"] + [f"{k} = {toml_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"


def documents() -> None:
    openapi = json.loads((ROOT / "openapi" / "openapi.json").read_text())["components"]["schemas"]
    write("check_toml", "llama-70b-h100.toml", (DATA / "examples" / "llama-70b-h100.toml").read_text())
    write("check_toml", "openapi-example.toml", toml_document(openapi["CheckRequest"]["example"]))
    training = openapi["TrainingRequest"]["example"]
    write("check_toml", "training.toml", toml_document({
        "training": training, "requirements": {"max_days": 90, "max_devices": 4096, "memory_headroom_fraction": 0.05}}))
    write("check_toml", "layout-fails.toml", toml_document({
        "inference": {"model": "llama-3.1-8b", "hardware": "nvidia-l4", "parallelism": {"tensor": 3}}}))
    write("check_toml", "empty.toml", "")

    write("plan_toml", "plan-llama-70b.toml", (DATA / "examples" / "plan-llama-70b.toml").read_text())
    small = {
        "models": ["llama-3.1-8b", "qwen2.5-7b"], "objective": "usd_per_million_output_tokens", "limit": 3,
        "deadline_ms": 500,
        "workload": {"input_tokens": 512, "output_tokens": 128, "requests_per_s": 2},
        "requirements": {"max_ttft_ms": 1000, "max_tpot_ms": 40},
        "search": {"hardware": ["nvidia-l4", "nvidia-h100-sxm-80gb"], "weights": ["bf16", "int4"],
                   "tensor": [1, 2], "batch_sizes": [1, 8, 64], "engines": ["vllm"]},
        "api_price": {"usd_per_million_input_tokens": 0.1, "usd_per_million_output_tokens": 0.3},
    }
    write("plan_toml", "small-space.toml", toml_document(small))
    example = openapi["PlanRequest"]["example"]
    example["search"]["hardware"] = ["nvidia-a100-sxm4-80gb"]
    write("plan_toml", "openapi-example-one-device.toml", toml_document(example))

    kinds = {"hardware": "0", "models": "1", "engines": "2"}
    for kind, byte in kinds.items():
        for path in sorted((DATA / kind).glob("*.toml")):
            if path.stat().st_size <= 8000:
                write("catalog_toml", f"{kind}-{path.name}", byte + path.read_text())
    write("catalog_toml", "formats.toml", "3" + (DATA / "formats.toml").read_text())


# --- dictionaries --------------------------------------------------------------------------


def dict_file(name: str, tokens: set[str]) -> None:
    def escape(t: str) -> str:
        return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\x{ord(c):02x}" for c in t)

    DICT.mkdir(exist_ok=True)
    lines = [f'"{escape(t)}"' for t in sorted(tokens) if t]
    (DICT / name).write_text("\n".join(lines) + "\n")


def dictionaries() -> None:
    openapi = json.loads((ROOT / "openapi" / "openapi.json").read_text())["components"]["schemas"]
    words: set[str] = set()
    for schema in openapi.values():
        words.update(f'"{p}"' for p in schema.get("properties", {}))
        words.update(f'"{e}"' for e in schema.get("enum", []) if isinstance(e, str))
    catalog = set()
    for kind, key in [("hardware", "device"), ("models", "model")]:
        for path in (DATA / kind).glob("*.toml"):
            for record in tomllib.loads(path.read_text())[key]:
                catalog.add(f'"{record["id"]}"')
    json_syntax = {"{", "}", "[", "]", ":", ",", "null", "true", "false", "-0", "-1", "0.5", '"\\u0000"'}
    # Numbers at the edges of the declared ranges and of f64 (subnormals, overflow).
    numbers = {"0", "1", "0.01", "1e-9", "5e-324", "1e-300", "1e308", "1.7976931348623157e308", "1e16", "65536",
               "1048576", "16777216", "4294967295", "4294967296", "9007199254740993", "18446744073709551616"}
    json_syntax |= numbers
    requests = words | set(sorted(catalog)[:: max(1, len(catalog) // 60)]) | json_syntax
    dict_file("request.dict", requests)
    toml_syntax = {"=", "[", "]", "[[", "]]", "{", "}", "\n", "inf", "nan", "-inf", "1e308", "0x10", "true", '"""'}
    dict_file("toml.dict", {w.strip('"') for w in requests} | toml_syntax)
    safetensors_words = {'"dtype"', '"shape"', '"data_offsets"', '"__metadata__"', '"F4"', '"F6_E2M3"', '"BF16"',
                         '"F8_E4M3"', '"C64"', '"BOOL"', '"weight_map"', '"metadata"', '"total_size"', '"lm_head"',
                         '".experts."', '".gate."', '"_exps"', '"norm"', '"embed_tokens"'}
    dict_file("safetensors.dict", safetensors_words | json_syntax)
    gguf_words = {"GGUF", "general.architecture", "general.name", "general.file_type", "tokenizer.ggml.tokens",
                  ".block_count", ".embedding_length", ".attention.head_count", ".expert_count", "llama"}
    dict_file("gguf.dict", gguf_words | {"\x03\x00\x00\x00", "\x08\x00\x00\x00", "\x09\x00\x00\x00"})


def main() -> None:
    shutil.rmtree(CORPUS, ignore_errors=True)
    safetensors()
    safetensors_index()
    gguf()
    hf_config()
    requests()
    documents()
    dictionaries()
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"{sum(1 for p in CORPUS.rglob('*') if p.is_file())} seeds, {total} bytes")


if __name__ == "__main__":
    main()
