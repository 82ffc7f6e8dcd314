"""Model architectures normalized from Hugging Face ``config.json`` files.

One normalizer covers dense GQA (Llama), MoE (Mixtral, Qwen3, DeepSeek, gpt-oss, Llama 4
interleaved, shared experts), MLA (DeepSeek V3/R1, Kimi K2), sliding-window and chunked
attention, DeepSeek V4 compressed attention (approximate, and labelled so), MTP layers,
``text_config`` nesting and ``quantization_config``.

Parameter counts are exact for the families listed above; the DeepSeek V4 attention block is
an approximation (grouped low-rank output, single latent KV head, compressor and indexer).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError
from .units import read_text

__all__ = ["Layer", "ModelArch", "load_arch", "parse_config"]

AttentionKind = Literal["full", "sliding", "chunked", "compressed"]
_DTYPE_ALIASES = {
    "bfloat16": "bf16",
    "float16": "fp16",
    "float32": "fp32",
    "fp8": "fp8",
    "float8_e4m3fn": "fp8",
}


@dataclass(frozen=True)
class Layer:
    """One decoder layer. Parameter counts are elements; KV sizes are elements per token."""

    attention: AttentionKind
    window: int  # sliding window / chunk / V4 local window in tokens; 0 = none
    compress_ratio: int  # V4: keep 1 in r tokens; 0 = window only; 1 = uncompressed
    kv_elems: int  # KV elements stored per retained token
    index_elems: int  # V4 indexer key elements per compressed token (+4 B fp32 scale)
    attn_topk: int  # V4: compressed tokens attended per query (0 = all)
    attn_flop_per_token: int  # attention FLOPs per query token per attended token
    attention_params: int
    dense_ffn_params: int
    expert_params: int  # routed experts, all of them
    shared_expert_params: int
    router_params: int
    norm_params: int
    n_experts: int
    top_k: int
    mtp: bool = False
    latent_kv: bool = False  # MLA: one compressed latent per token instead of K and V
    n_heads: int = 0  # attention (query) heads; 0 = unknown
    kv_heads: int = 0  # distinct KV heads a TP group can shard KV by (MLA, V4: 1); 0 = unknown
    #: decode attention FLOPs per query token per attended token when the decode kernel differs
    #: from prefill (absorbed MLA: scores over the latent + rope, weighted sum over the latent);
    #: 0 = the same as ``attn_flop_per_token``
    decode_attn_flop_per_token: int = 0

    @property
    def ffn_params(self) -> int:
        return self.dense_ffn_params + self.expert_params + self.shared_expert_params + self.router_params

    @property
    def active_ffn_params(self) -> int:
        """FFN parameters one token touches (top-k experts + shared + router + dense)."""
        per_expert = self.expert_params // self.n_experts if self.n_experts else 0
        return (
            self.dense_ffn_params + per_expert * self.top_k + self.shared_expert_params + self.router_params
        )

    @property
    def params(self) -> int:
        return self.attention_params + self.ffn_params + self.norm_params


@dataclass(frozen=True)
class ModelArch:
    """A normalized model: layers, embeddings, storage dtypes and provenance."""

    id: str
    model_type: str
    hidden_size: int
    vocab_size: int
    layers: tuple[Layer, ...]  # main layers then MTP layers
    embedding_params: int  # input embedding + LM head (once if tied)
    lm_head_params: int
    final_norm_params: int
    mtp_extra_params: int  # MTP projections and norms outside the decoder layer
    max_context: int
    native_dtypes: dict[str, str]  # component -> storage dtype of the checkpoint
    approximations: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    source: str = ""
    config: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def main_layers(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if not layer.mtp)

    @property
    def mtp_layers(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.mtp)

    @property
    def is_moe(self) -> bool:
        return any(layer.n_experts for layer in self.layers)


def load_arch(path: str | Path, model_id: str | None = None) -> ModelArch:
    """Read a config.json and normalize it (cached per file, modification time and id)."""
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return _load_arch(str(path), stamp, model_id or path.stem)


@functools.lru_cache(maxsize=256)
def _load_arch(name: str, _stamp: int, model_id: str) -> ModelArch:
    path = Path(name)
    text = read_text(path, "model config.json", ConfigError)
    try:
        raw = json.loads(text, parse_constant=_no_constant(path), parse_float=_finite_float(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: malformed JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise ConfigError(f"{path}: malformed JSON: nested too deeply") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object (a Hugging Face config.json)")
    return parse_config(raw, model_id, source=str(path))


def _no_constant(path: Path) -> Any:
    def reject(name: str) -> Any:
        raise ConfigError(f"{path}: {name} is not allowed in a config (every number must be finite)")

    return reject


def _finite_float(path: Path) -> Any:
    def parse(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ConfigError(f"{path}: number {text} is out of range (numbers must be finite)")
        return value

    return parse


#: Largest value each size field may take (physical sanity, far above any published model).
_MAX_INT: dict[str, int] = {
    "hidden_size": 1 << 20,
    "num_hidden_layers": 10_000,
    "num_nextn_predict_layers": 100,
    "vocab_size": 10_000_000,
    "num_attention_heads": 65_536,
    "num_key_value_heads": 65_536,
    "head_dim": 65_536,
    "num_experts_per_tok": 65_536,
}
_DEFAULT_MAX_INT = 1_000_000_000
#: Total parameters above this are rejected as a units mistake (1,000 T parameters).
MAX_TOTAL_PARAMS = 1e15


class _Cfg:
    """Field access with clear errors naming the config and the missing key."""

    def __init__(self, raw: dict[str, Any], name: str) -> None:
        self.raw, self.name = raw, name

    def get(self, *keys: str, default: Any = None) -> Any:
        for key in keys:
            if self.raw.get(key) is not None:
                return self.raw[key]
        return default

    def flag(self, *keys: str, default: bool = False) -> bool:
        """A true/false field; anything but a JSON boolean is an error (no truthy strings)."""
        key = next((k for k in keys if self.raw.get(k) is not None), keys[0])
        value = self.get(*keys, default=default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.name}: '{key}' must be true or false, got {value!r}")
        return value

    def int(self, *keys: str, default: int | None = None, minimum: int = 1) -> int:
        key = next((k for k in keys if self.raw.get(k) is not None), keys[0])
        value = self.get(*keys, default=default)
        if value is None:
            names = " or ".join(f"'{k}'" for k in keys)
            raise ConfigError(f"{self.name}: config lacks {names}, needed to size the model")
        maximum = _MAX_INT.get(keys[0], _DEFAULT_MAX_INT)
        ok_type = not isinstance(value, bool) and isinstance(value, int | float)
        if not ok_type or not math.isfinite(value) or value != int(value):
            raise ConfigError(
                f"{self.name}: '{key}' must be an integer in [{minimum}, {maximum:,}], got {value!r}"
            )
        if not minimum <= int(value) <= maximum:
            shown = f"{value:g}" if isinstance(value, float) else f"{value!r}"
            raise ConfigError(f"{self.name}: '{key}' must be in [{minimum}, {maximum:,}], got {shown}")
        return int(value)


def _ints(c: _Cfg, key: str, minimum: int = 0) -> list[int]:
    """A list of integers (``compress_ratios``, ``mlp_only_layers``); absent = []."""
    value = c.get(key, default=[])
    if not isinstance(value, list):
        raise ConfigError(f"{c.name}: '{key}' must be a list of integers, got {value!r}")
    out = []
    for v in value:
        ok = not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) and v == int(v)
        if not ok or not minimum <= int(v) <= _DEFAULT_MAX_INT:
            raise ConfigError(
                f"{c.name}: '{key}' must hold integers in [{minimum}, {_DEFAULT_MAX_INT:,}], got {v!r}"
            )
        out.append(int(v))
    return out


def parse_config(raw: dict[str, Any], model_id: str, source: str = "") -> ModelArch:
    """Normalize a config dict (``text_config`` nesting is unwrapped)."""
    text = raw.get("text_config")
    inner = {**raw, **text} if isinstance(text, dict) else raw
    c = _Cfg(inner, source or model_id)
    h = c.int("hidden_size", "d_model", "n_embd")
    n_layers = c.int("num_hidden_layers", "n_layer", "num_layers")
    vocab = c.int("vocab_size")
    approx: list[str] = []
    notes: list[str] = []
    n_mtp = c.int("num_nextn_predict_layers", default=0, minimum=0)
    layers = [_layer(c, h, i, approx, mtp=i >= n_layers) for i in range(n_layers + n_mtp)]
    tied = c.flag("tie_word_embeddings")
    emb = vocab * h * (1 if tied else 2)
    mtp_extra = n_mtp * (2 * h * h + 3 * h)  # eh_proj + enorm/hnorm/shared-head norm
    if n_mtp:
        notes.append(f"{n_mtp} MTP layer(s) counted in total parameters, not in active")
    total = sum(layer.params for layer in layers) + emb + mtp_extra
    if total > MAX_TOTAL_PARAMS:
        raise ConfigError(
            f"{c.name}: the config describes {total:.3g} parameters, beyond any model "
            f"(limit {MAX_TOTAL_PARAMS:g}); check hidden_size, layers and expert sizes"
        )
    return ModelArch(
        id=model_id,
        model_type=str(c.get("model_type", default="unknown")),
        hidden_size=h,
        vocab_size=vocab,
        layers=tuple(layers),
        embedding_params=emb,
        lm_head_params=vocab * h,
        final_norm_params=h,
        mtp_extra_params=mtp_extra,
        max_context=c.int("max_position_embeddings", default=131072),
        native_dtypes=_native_dtypes(c, notes),
        approximations=tuple(dict.fromkeys(approx + _linear_note(c))),
        notes=tuple(notes),
        source=source,
        config=raw,
    )


def _native_dtypes(c: _Cfg, notes: list[str]) -> dict[str, str]:
    torch_dtype = c.get("torch_dtype", "dtype", default="bfloat16")
    if torch_dtype not in _DTYPE_ALIASES:
        raise ConfigError(
            f"{c.name}: torch_dtype {torch_dtype!r} is not known; valid: {', '.join(_DTYPE_ALIASES)}"
        )
    base = _DTYPE_ALIASES[torch_dtype]
    q = c.get("quantization_config") or {}
    if not isinstance(q, dict):
        raise ConfigError(f"{c.name}: 'quantization_config' must be an object, got {q!r}")
    method = str(q.get("quant_method", "")).lower()
    dtypes = dict.fromkeys(("attention", "ffn", "experts", "embedding", "other"), base)
    if method == "mxfp4":
        dtypes["experts"] = "mxfp4"
        notes.append("checkpoint: routed experts MXFP4 (4.25 bits/param), the rest " + base)
    elif method in ("fp8", "fbgemm_fp8", "compressed-tensors"):
        dtypes = dict.fromkeys(dtypes, "fp8")
        notes.append("checkpoint: FP8 (block-scaled); counted as 1 byte/param throughout")
    elif method in ("nvfp4", "modelopt"):
        dtypes["experts"] = dtypes["ffn"] = "fp4"
    elif method:  # not silently 16-bit: say what is known and how to count the weights instead
        raise ConfigError(
            f"{c.name}: quantization_config.quant_method {method!r} is not modelled; known: "
            "mxfp4, fp8, fbgemm_fp8, compressed-tensors, nvfp4, modelopt (for other 4-bit "
            "weight-only schemes such as awq or gptq, drop quantization_config and pass --weights fp4)"
        )
    expert_dtype = str(c.get("expert_dtype", default="")).lower()
    if expert_dtype in ("fp4", "mxfp4"):
        dtypes["experts"] = dtypes["ffn"] = "mxfp4"
        notes.append("checkpoint: FFN/experts FP4 with UE8M0 block scales (4.25 bits/param)")
    return dtypes


def _is_moe_layer(c: _Cfg, i: int, n_experts: int, mtp: bool) -> bool:
    if not n_experts:
        return False
    if mtp:
        return True
    if i < c.int("first_k_dense_replace", default=0, minimum=0):
        return False
    if i in _ints(c, "mlp_only_layers"):
        return False
    step = c.int("interleave_moe_layer_step", "decoder_sparse_step", "moe_layer_freq", default=1)
    if c.get("interleave_moe_layer_step") is not None:
        return (i + 1) % step == 0  # Llama 4: MoE on layers step-1, 2*step-1, ...
    return i % step == 0


def _ffn(c: _Cfg, h: int, i: int, mtp: bool) -> dict[str, int]:
    n_exp = c.int("num_local_experts", "num_experts", "n_routed_experts", default=0, minimum=0)
    gated = 3  # gate, up, down (SwiGLU); every family here is gated
    out = dict.fromkeys(("dense", "experts", "shared", "router", "n_experts", "top_k"), 0)
    if not _is_moe_layer(c, i, n_exp, mtp):
        inter = c.int("intermediate_size_mlp", "intermediate_size", "ffn_dim")
        out["dense"] = gated * h * inter
        return out
    inter = c.int("moe_intermediate_size", "intermediate_size")
    per_expert = gated * h * inter
    if c.get("model_type") == "gpt_oss":
        per_expert += 2 * inter + h  # gate_up and down biases
    out["experts"] = n_exp * per_expert
    out["n_experts"] = n_exp
    out["top_k"] = c.int("num_experts_per_tok", "experts_per_token", "num_experts_per_token")
    if out["top_k"] > n_exp:
        raise ConfigError(f"{c.name}: {out['top_k']} experts per token but only {n_exp} experts")
    shared_inter = c.int("shared_expert_intermediate_size", default=0, minimum=0)
    n_shared = c.int("n_shared_experts", default=0, minimum=0)
    if c.get("model_type") in ("llama4_text", "llama4"):
        shared_inter = inter  # Llama 4: one shared expert of the expert's size
    elif n_shared:
        shared_inter = n_shared * inter
    out["shared"] = gated * h * shared_inter
    out["router"] = h * n_exp + (n_exp if c.get("model_type") in ("gpt_oss",) else 0)
    return out


def _layer(c: _Cfg, h: int, i: int, approx: list[str], mtp: bool) -> Layer:
    ffn = _ffn(c, h, i, mtp)
    if c.get("compress_ratios") is not None:
        attn = _v4_attention(c, h, i, approx)
    elif c.get("kv_lora_rank") is not None:
        attn = _mla_attention(c, h)
    else:
        attn = _gqa_attention(c, h, i)
    return Layer(
        **attn,
        dense_ffn_params=ffn["dense"],
        expert_params=ffn["experts"],
        shared_expert_params=ffn["shared"],
        router_params=ffn["router"],
        norm_params=2 * h,
        n_experts=ffn["n_experts"],
        top_k=ffn["top_k"],
        mtp=mtp,
    )


def _gqa_attention(c: _Cfg, h: int, i: int) -> dict[str, Any]:
    nh = c.int("num_attention_heads", "n_head")
    kvh = c.int("num_key_value_heads", default=nh)
    if nh % kvh:
        raise ConfigError(
            f"{c.name}: num_attention_heads ({nh}) must be a multiple of num_key_value_heads ({kvh})"
        )
    if c.get("head_dim") is None and h % nh:
        raise ConfigError(
            f"{c.name}: hidden_size ({h}) must be a multiple of num_attention_heads ({nh}) "
            "when the config gives no head_dim"
        )
    hd = c.int("head_dim", default=h // nh)
    params = h * nh * hd * 2 + h * kvh * hd * 2
    mt = c.get("model_type")
    if c.flag("attention_bias", "qkv_bias"):
        params += nh * hd + 2 * kvh * hd + (h if mt == "gpt_oss" else 0)
    if mt == "gpt_oss":
        params += nh  # attention sinks
    if c.flag("use_qk_norm") and mt not in ("llama4_text", "llama4"):
        params += 2 * hd
    kind, window = _window(c, i)
    return {
        "attention": kind,
        "window": window,
        "compress_ratio": 1,
        "kv_elems": 2 * kvh * hd,
        "index_elems": 0,
        "attn_topk": 0,
        "attn_flop_per_token": 4 * nh * hd,
        "attention_params": params,
        "n_heads": nh,
        "kv_heads": kvh,
    }


def _window(c: _Cfg, i: int) -> tuple[AttentionKind, int]:
    types = c.get("layer_types")
    if types is not None and not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
        raise ConfigError(f"{c.name}: 'layer_types' must be a list of strings, got {types!r}")
    sw = c.int("sliding_window", default=0, minimum=0)
    if isinstance(types, list) and i < len(types):
        if "sliding" in str(types[i]) and sw:
            return "sliding", sw
        if "linear" in str(types[i]):
            return "sliding", _linear_state_tokens(c)
        return "full", 0
    chunk = c.int("attention_chunk_size", default=0, minimum=0)
    if chunk:  # Llama 4: every 4th layer global (NoPE), the rest chunked
        return ("full", 0) if (i + 1) % 4 == 0 else ("chunked", chunk)
    if sw and c.flag("use_sliding_window", default=True):
        max_window_layers = c.get("max_window_layers")
        if max_window_layers is None or i >= c.int("max_window_layers", minimum=0):
            return "sliding", sw
    return "full", 0


def _linear_note(c: _Cfg) -> list[str]:
    types = c.get("layer_types")
    if isinstance(types, list) and any("linear" in str(t) for t in types):
        return ["linear-attention layers: fixed recurrent state modelled as a sliding window of as "
                "many KV tokens; their parameters counted as GQA attention (approximate)"]  # fmt: skip
    return []


def _linear_state_tokens(c: _Cfg) -> int:
    """A linear-attention layer (Gated DeltaNet, Qwen3.5) keeps a fixed recurrent state instead of a
    growing KV cache: state = value heads x key dim x value dim elements (+ the short-conv state).
    Modelled as a sliding window holding as many tokens of KV as that state has elements
    (an approximation, labelled so)."""
    heads = c.int("linear_num_value_heads")
    kd, vd = c.int("linear_key_head_dim"), c.int("linear_value_head_dim")
    conv = c.int("linear_conv_kernel_dim", default=4)
    key_heads = c.int("linear_num_key_heads", default=heads)
    state = heads * kd * vd + (2 * key_heads * kd + heads * vd) * max(conv - 1, 0)
    nh = c.int("num_attention_heads")
    head_dim = c.int("head_dim", default=c.int("hidden_size") // nh)
    per_token = 2 * c.int("num_key_value_heads", default=nh) * head_dim
    return max(1, -(-state // per_token))


def _mla_attention(c: _Cfg, h: int) -> dict[str, Any]:
    nh = c.int("num_attention_heads")
    q_lora = c.int("q_lora_rank", default=0, minimum=0)
    kv_lora = c.int("kv_lora_rank")
    rope = c.int("qk_rope_head_dim")
    nope = c.int("qk_nope_head_dim")
    v = c.int("v_head_dim")
    q = (h * q_lora + q_lora + q_lora * nh * (nope + rope)) if q_lora else h * nh * (nope + rope)
    kv = h * (kv_lora + rope) + kv_lora + kv_lora * nh * (nope + v)
    return {
        "attention": "full",
        "window": 0,
        "compress_ratio": 1,
        "kv_elems": kv_lora + rope,  # one latent per token per layer
        "index_elems": 0,
        "attn_topk": 0,
        "attn_flop_per_token": 2 * nh * (nope + rope + v),
        # absorbed MLA decode (FlashMLA, TRT-LLM MLA): per head q . [latent, rope] over
        # kv_lora + rope, then the softmax-weighted sum of latents over kv_lora
        "decode_attn_flop_per_token": 2 * nh * (kv_lora + rope) + 2 * nh * kv_lora,
        "attention_params": q + kv + nh * v * h,
        "latent_kv": True,
        "n_heads": nh,
        "kv_heads": 1,  # one latent shared by every head: replicated on every TP rank
    }


def _v4_attention(c: _Cfg, h: int, i: int, approx: list[str]) -> dict[str, Any]:
    approx.append(
        "DeepSeek V4 compressed attention is approximated: per layer a latent KV of head_dim "
        "kept for 1 in compress_ratio tokens (0 = sliding window only) plus a 128-token window; "
        "ratio-4 layers add lightning-indexer keys (FP8 + 4 B scale); attention parameters "
        "use a grouped low-rank output and single-head KV"
    )
    ratios = _ints(c, "compress_ratios")
    ratio = ratios[i] if i < len(ratios) else 0
    nh = c.int("num_attention_heads")
    hd = c.int("head_dim")
    q_lora = c.int("q_lora_rank")
    groups = c.int("o_groups", default=1)
    o_lora = c.int("o_lora_rank", default=h)
    idx_hd = c.int("index_head_dim", default=0, minimum=0)
    idx_heads = c.int("index_n_heads", default=0, minimum=0)
    window = c.int("sliding_window", default=128)
    params = h * q_lora + q_lora + q_lora * nh * hd + h * hd + hd  # q path, shared KV head
    params += nh * hd * o_lora + groups * o_lora * h  # grouped low-rank output
    if ratio:
        overlap = 2 if ratio == 4 else 1
        params += 2 * h * hd * overlap  # compressor kv + gate
    has_indexer = ratio == 4 and idx_hd > 0
    if has_indexer:
        params += q_lora * idx_heads * idx_hd + h * idx_heads + 4 * h * idx_hd
    return {
        "attention": "compressed",
        "window": window,
        "compress_ratio": ratio,
        "kv_elems": hd,
        "index_elems": idx_hd if has_indexer else 0,
        "attn_topk": c.int("index_topk", default=0, minimum=0) if has_indexer else 0,
        "attn_flop_per_token": 4 * nh * hd,
        "attention_params": params,
        "n_heads": nh,
        "kv_heads": 1,  # single-head KV shared by every head
    }
