"""Parameter counts, weight bytes by dtype, KV-cache bytes and FLOPs per token.

All functions take a :class:`~tokenfrontier.arch.ModelArch`; context arguments accept numpy
arrays so sweeps stay vectorized. Bytes are bytes, contexts are tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .arch import Layer, ModelArch
from .errors import InvalidInputError
from .results import Result
from .specs import DTYPE_BYTES

__all__ = [
    "KV_DTYPES",
    "WEIGHT_DTYPES",
    "Footprint",
    "ParamCounts",
    "attention_flops_per_token",
    "decode_attention_flops_per_token",
    "decode_flops_per_token",
    "footprint",
    "kv_bytes",
    "kv_bytes_per_layer",
    "kv_bytes_per_token",
    "layer_weight_bytes",
    "param_counts",
    "prefill_attention_flops",
    "prefill_flops",
    "weight_bytes",
]

WEIGHT_DTYPES = ("bf16", "fp16", "fp8", "int8", "fp4", "mxfp4", "native")
KV_DTYPES = ("bf16", "fp16", "fp8", "int8", "fp4")
_INDEX_SCALE_BYTES = 4.0  # fp32 scale per FP8 indexer key (DeepSeek V3.2/V4 lightning indexer)


def _dtype_bytes(dtype: str, what: str, valid: tuple[str, ...]) -> float:
    if dtype not in valid or dtype not in DTYPE_BYTES:
        raise InvalidInputError(f"{what} dtype '{dtype}' is not supported; valid: {', '.join(valid)}")
    return DTYPE_BYTES[dtype]


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts (elements). ``total`` includes MTP layers; ``active`` excludes them."""

    total: int
    active: int
    attention: int
    ffn: int
    embedding: int
    other: int


def param_counts(arch: ModelArch) -> ParamCounts:
    attn = sum(layer.attention_params for layer in arch.layers)
    ffn = sum(layer.ffn_params for layer in arch.layers)
    other = sum(layer.norm_params for layer in arch.layers)
    other += arch.final_norm_params + arch.mtp_extra_params
    main = arch.main_layers
    active = sum(layer.attention_params + layer.active_ffn_params for layer in main)
    active += sum(layer.norm_params for layer in main) + arch.embedding_params
    return ParamCounts(
        total=attn + ffn + arch.embedding_params + other,
        active=active + arch.final_norm_params,
        attention=attn,
        ffn=ffn,
        embedding=arch.embedding_params,
        other=other,
    )


def _component_bytes(arch: ModelArch, dtype: str) -> dict[str, float]:
    if dtype == "native":
        return {k: DTYPE_BYTES[v] for k, v in arch.native_dtypes.items()}
    b = _dtype_bytes(dtype, "weight", WEIGHT_DTYPES)
    return dict.fromkeys(("attention", "ffn", "experts", "embedding", "other"), b)


def _layer_bytes(layer: Layer, cb: dict[str, float]) -> float:
    return (
        layer.attention_params * cb["attention"]
        + (layer.dense_ffn_params + layer.shared_expert_params) * cb["ffn"]
        + layer.router_params * cb["ffn"]
        + layer.expert_params * cb["experts"]
        + layer.norm_params * cb["other"]
    )


def layer_weight_bytes(arch: ModelArch, dtype: str) -> tuple[NDArray[np.float64], float, float]:
    """(bytes per layer incl. MTP layers, first-stage extra bytes, last-stage extra bytes).

    The input embedding rides with the first stage; LM head, final norm and MTP projections
    with the last.
    """
    cb = _component_bytes(arch, dtype)
    per_layer = np.array([_layer_bytes(layer, cb) for layer in arch.layers], dtype=float)
    emb_in = (arch.embedding_params - arch.lm_head_params) * cb["embedding"]
    if arch.embedding_params == arch.lm_head_params:  # tied: one copy, both ends need it
        emb_in = arch.embedding_params * cb["embedding"]
    last = arch.lm_head_params * cb["embedding"]
    last += (arch.final_norm_params + arch.mtp_extra_params) * cb["other"]
    return per_layer, emb_in, last


def weight_bytes(arch: ModelArch, dtype: str = "native") -> float:
    """Bytes of all weights (one copy; a tied embedding is stored once)."""
    per_layer, first, last = layer_weight_bytes(arch, dtype)
    if arch.embedding_params == arch.lm_head_params:
        last -= arch.lm_head_params * _component_bytes(arch, dtype)["embedding"]
    return float(per_layer.sum() + first + last)


def _stored_tokens(layer: Layer, ctx: NDArray[np.float64], full_attention: bool) -> tuple:
    """(tokens stored at full width, compressed tokens) for one layer at context ``ctx``."""
    if layer.attention == "compressed":
        compressed = ctx / layer.compress_ratio if layer.compress_ratio else 0.0 * ctx
        return np.minimum(ctx, layer.window), compressed
    if layer.attention in ("sliding", "chunked") and not full_attention:
        return np.minimum(ctx, layer.window), 0.0 * ctx
    return ctx, 0.0 * ctx


def kv_bytes_per_layer(
    arch: ModelArch, context: ArrayLike, kv_dtype: str = "bf16", full_attention: bool = False
) -> NDArray[np.float64]:
    """KV bytes of one sequence per main layer; shape ``(layers,) + shape(context)``."""
    b = _dtype_bytes(kv_dtype, "KV", KV_DTYPES)
    ctx = np.asarray(context, dtype=float)
    rows = []
    for layer in arch.main_layers:
        full, comp = _stored_tokens(layer, ctx, full_attention)
        row = (full + comp) * layer.kv_elems * b
        if layer.index_elems:
            row = row + comp * (layer.index_elems * DTYPE_BYTES["fp8"] + _INDEX_SCALE_BYTES)
        rows.append(row)
    return np.array(rows)


def kv_bytes(
    arch: ModelArch, context: ArrayLike, kv_dtype: str = "bf16", full_attention: bool = False
) -> NDArray[np.float64]:
    """KV-cache bytes of one sequence at ``context`` tokens (windows honored unless told)."""
    return kv_bytes_per_layer(arch, context, kv_dtype, full_attention).sum(axis=0)


def kv_bytes_per_token(arch: ModelArch, kv_dtype: str = "bf16") -> float:
    """Asymptotic KV growth per context token with every layer at full length.

    Compression (DeepSeek V4) is included; sliding/chunked windows are not (the published
    convention). Use :func:`kv_bytes` for the real size at a context.
    """
    big = 1e6
    return float(kv_bytes(arch, big, kv_dtype, full_attention=True)) / big


def _attended(layer: Layer, ctx: NDArray[np.float64]) -> NDArray[np.float64]:
    full, comp = _stored_tokens(layer, ctx, full_attention=False)
    if layer.attn_topk:
        comp = np.minimum(comp, layer.attn_topk)
    return np.asarray(full + comp, dtype=float)


def decode_flops_per_token(arch: ModelArch, context: ArrayLike) -> NDArray[np.float64]:
    """FLOPs to generate one token at ``context``: 2 x active matmul params + attention."""
    return 2.0 * _matmul_active_params(arch) + attention_flops_per_token(arch, context)


def attention_flops_per_token(arch: ModelArch, context: ArrayLike) -> NDArray[np.float64]:
    """Attention (QK and AV) FLOPs of one new token at ``context`` (windows honored)."""
    ctx = np.asarray(context, dtype=float)
    attn = sum(flop * _attended(layer, ctx) for layer, flop in _attention_groups(arch))
    return np.asarray(attn + 0.0 * ctx)


def decode_attention_flops_per_token(arch: ModelArch, context: ArrayLike) -> NDArray[np.float64]:
    """Attention FLOPs of one decoded token at ``context`` as the decode kernel runs it.

    Differs from :func:`attention_flops_per_token` for MLA: decode kernels absorb the
    up-projections and attend over the latent, per head and attended token
    2 (kv_lora + rope) for the scores plus 2 kv_lora for the weighted sum — 3.4x the
    2 (nope + rope + v) of the expanded form on DeepSeek-R1 (kv_lora 512, rope 64, nope 128,
    v 128).
    """
    ctx = np.asarray(context, dtype=float)
    attn = sum(flop * _attended(layer, ctx) for layer, flop in _arch_cache(arch)[3])
    return np.asarray(attn + 0.0 * ctx)


_Cache = tuple[ModelArch, list[tuple[Layer, float]], float, list[tuple[Layer, float]]]
_GROUPS: dict[int, _Cache] = {}


def _attention_groups(arch: ModelArch) -> list[tuple[Layer, float]]:
    """Main layers grouped by attention shape, with their summed attention FLOPs per pair
    (computed once per architecture; layers of one shape cost the same per attended token)."""
    return _arch_cache(arch)[1]


def _arch_cache(arch: ModelArch) -> _Cache:
    hit = _GROUPS.get(id(arch))
    if hit is None or hit[0] is not arch:
        groups: dict[tuple[object, ...], tuple[Layer, float]] = {}
        decode: dict[tuple[object, ...], tuple[Layer, float]] = {}
        for layer in arch.main_layers:
            key = (layer.attention, layer.window, layer.compress_ratio, layer.attn_topk)
            first, flop = groups.get(key, (layer, 0.0))
            groups[key] = (first, flop + layer.attn_flop_per_token)
            first, flop = decode.get(key, (layer, 0.0))
            per = layer.decode_attn_flop_per_token or layer.attn_flop_per_token
            decode[key] = (first, flop + per)
        layers = sum(layer.attention_params + layer.active_ffn_params for layer in arch.main_layers)
        if len(_GROUPS) > 256:
            _GROUPS.clear()
        hit = _GROUPS[id(arch)] = (
            arch,
            list(groups.values()),
            float(layers + arch.lm_head_params),
            list(decode.values()),
        )
    return hit


def prefill_flops(arch: ModelArch, tokens: ArrayLike) -> NDArray[np.float64]:
    """FLOPs to prefill a prompt of ``tokens`` tokens (attention summed over positions)."""
    s = np.asarray(tokens, dtype=float)
    dense = 2.0 * _matmul_active_params(arch) * s
    attn = 0.0 * s
    for layer, flop in _attention_groups(arch):
        if layer.attention == "compressed":
            r = layer.compress_ratio or np.inf
            mean_compressed = s / (2 * r)
            if layer.attn_topk:
                mean_compressed = np.minimum(mean_compressed, layer.attn_topk)
            pairs = s * np.minimum(s, layer.window) + s * mean_compressed
        elif layer.attention in ("sliding", "chunked"):
            w = layer.window
            pairs = np.where(s <= w, s * (s + 1) / 2, w * (w + 1) / 2 + (s - w) * w)
            if layer.attention == "chunked":  # each chunk attends within itself
                n_full, rem = np.floor(s / w), np.mod(s, w)
                pairs = n_full * w * (w + 1) / 2 + rem * (rem + 1) / 2
        else:
            pairs = s * (s + 1) / 2
        attn = attn + flop * pairs
    return np.asarray(dense + attn)


def prefill_attention_flops(arch: ModelArch, tokens: ArrayLike) -> NDArray[np.float64]:
    """The attention part of :func:`prefill_flops` (no weight GEMMs)."""
    s = np.asarray(tokens, dtype=float)
    return np.asarray(prefill_flops(arch, s) - 2.0 * _matmul_active_params(arch) * s)


def _matmul_active_params(arch: ModelArch) -> float:
    """Active parameters that do matmuls per token: layers + LM head (not the lookup)."""
    return _arch_cache(arch)[2]


@dataclass(frozen=True)
class Footprint(Result):
    """Parameters, weight bytes and per-sequence KV bytes of one model."""

    model: str
    weights_dtype: str
    kv_dtype: str
    full_attention: bool
    params: ParamCounts
    weight_bytes: float
    kv_bytes_per_token: float
    kv_bytes: dict[int, float]
    context_window: int
    notes: tuple[str, ...]
    decode_flops_per_token: dict[int, float]
    prefill_flops: dict[int, float]

    title = "footprint"

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "weights_dtype": self.weights_dtype,
            "kv_dtype": self.kv_dtype,
            "full_attention": self.full_attention,
            "total_params": self.params.total,
            "active_params": self.params.active,
            "attention_params": self.params.attention,
            "ffn_params": self.params.ffn,
            "embedding_params": self.params.embedding,
            "other_params": self.params.other,
            "weight_bytes": self.weight_bytes,
            "kv_bytes_per_token": self.kv_bytes_per_token,
            "kv_bytes": {str(k): v for k, v in self.kv_bytes.items()},
            "context_window": self.context_window,
            "contexts_beyond_window": [k for k in self.kv_bytes if k > self.context_window],
            "decode_flops_per_token": {str(k): v for k, v in self.decode_flops_per_token.items()},
            "prefill_flops": {str(k): v for k, v in self.prefill_flops.items()},
            "notes": list(self.notes),
        }

    def human_rows(self) -> list[tuple[str, object]]:
        p = self.params
        rows: list[tuple[str, object]] = [
            ("model", self.model),
            ("total parameters (B)", round(p.total / 1e9, 2)),
            ("active parameters (B)", round(p.active / 1e9, 2)),
            ("attention parameters (B)", round(p.attention / 1e9, 2)),
            ("FFN parameters (B)", round(p.ffn / 1e9, 2)),
            ("embedding parameters (B)", round(p.embedding / 1e9, 2)),
            (f"weights, {self.weights_dtype} (GB)", round(self.weight_bytes / 1e9, 2)),
            (
                f"KV per token, {self.kv_dtype}, all layers full (KB)",
                round(self.kv_bytes_per_token / 1e3, 2),
            ),
        ]
        mode = "full attention" if self.full_attention else "windows honored"
        for ctx, b in self.kv_bytes.items():
            beyond = " (beyond window)" if ctx > self.context_window else ""
            rows.append((f"KV @ {ctx:,} tokens, {mode} (GB){beyond}", round(b / 1e9, 3)))
            rows.append(
                (f"  decode GFLOP per token @ {ctx:,}", round(self.decode_flops_per_token[ctx] / 1e9, 2))
            )
            rows.append((f"  prefill TFLOP for {ctx:,} tokens", round(self.prefill_flops[ctx] / 1e12, 1)))
        rows += [("note", n) for n in self.notes]
        return rows


def footprint(
    arch: ModelArch,
    weights: str = "native",
    kv_dtype: str = "bf16",
    contexts: tuple[int, ...] = (128_000,),
    full_attention: bool = False,
) -> Footprint:
    """Footprint of ``arch``: parameters, weights in ``weights`` dtype, KV at ``contexts``."""
    ctx = np.array(contexts, dtype=float)
    kv = kv_bytes(arch, ctx, kv_dtype, full_attention)
    dec = np.atleast_1d(decode_flops_per_token(arch, ctx))
    pre = np.atleast_1d(prefill_flops(arch, ctx))
    return Footprint(
        model=arch.id,
        weights_dtype=weights,
        kv_dtype=kv_dtype,
        full_attention=full_attention,
        params=param_counts(arch),
        weight_bytes=weight_bytes(arch, weights),
        kv_bytes_per_token=kv_bytes_per_token(arch, kv_dtype),
        kv_bytes={int(c): float(b) for c, b in zip(contexts, np.atleast_1d(kv), strict=True)},
        context_window=arch.max_context,
        notes=arch.notes + arch.approximations,
        decode_flops_per_token={int(c): float(f) for c, f in zip(contexts, dec, strict=True)},
        prefill_flops={int(c): float(f) for c, f in zip(contexts, pre, strict=True)},
    )


# `tokenfrontier.footprint` is this module; calling it calls the API function `tokenfrontier.api.footprint`
from .callable_module import CallableModule  # noqa: E402 (appended: the module is also a function)

CallableModule.install(__name__)
