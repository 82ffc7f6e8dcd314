"""The step model: time of one decode step and one prefill, for arrays of configurations.

Terms (all seconds; arrays broadcast over configurations):

- ``weights``: weight bytes actually read / (chips per stage x bandwidth x efficiency). MoE
  reads only the distinct experts the step's tokens touch: E (1 - (1 - k/E)^tokens); with the
  experts spread over ``ep`` ranks the step waits for the rank that touched the most of its own
  (:func:`touched_imbalance`: one DeepSeek-R1 token on 8 ranks, mean one expert, busiest ~3).
- ``kv``: KV bytes read (windows, MLA, compression, KV dtype) over the same bandwidth. A TP
  group shards KV by KV heads only: with fewer KV heads than attention ranks each head is
  replicated (MLA and V4: one latent, on every rank), so a chip reads KV / min(ranks, KV heads).
  (HBM GPUs; an SRAM machine's chip group exists for capacity and splits KV by tokens.)
- Attention data-parallel (``dp`` > 1, MoE models): the ``tp`` chips of a stage form ``dp``
  attention ranks of ``tp / dp`` chips; each rank holds the dense weights (attention, dense
  FFN, shared experts, router, LM head) and the KV of its own ``batch / dp`` sequences, the
  routed experts are spread over all ``tp`` chips (EP = tp), TP all-reduces stay inside a rank
  and each MoE layer adds a dispatch and a combine all-to-all over the group (over scale-out
  when the group is larger than the scale-up domain). ``dp`` = 1 is plain TP.
- ``compute``: FLOPs / (chips x dense peak of the compute dtype x efficiency). Memory and
  compute overlap: the step pays the larger of the two. Decode-sized GEMMs (few rows per
  expert, small batch) reach a lower fraction of peak than prefill GEMMs, so the profile has
  separate decode and prefill FLOP efficiencies.
- ``tp_comm`` / ``ep_comm``: two all-reduces per layer (ring, scale-up link, fixed collective
  latency) and, across attention-DP ranks only, a dispatch and a combine all-to-all per MoE
  layer: ``a2a_latency_s`` x log2(ep) plus the bytes the busiest rank receives
  (:func:`expert_imbalance`). Plain TP moves no tokens for EP (the combine is the all-reduce).
- ``latency``: fixed kernel/dataflow latency per layer (kernels per layer x kernel latency), plus
  on SRAM machines the mesh crossing: a layer's weights fill tiles = active bytes per chip / SRAM
  bytes per tile (a WSE-3 core holds 44 GB / 900,000 = 48.9 kB; a Groq chip is one tile), a
  square region sqrt(tiles) wide, and the token's activations cross it (broadcast along rows,
  partial sums reduced along columns) at ``mesh_hop_latency_s`` per tile width, all of the
  layer's crossings together; and where a layer spreads over a group of chips (a Groq LPU
  holds 230 MB: a Llama 70B layer needs several), every kernel's exchange crosses a chip
  boundary at the system's hop latency (:func:`chip_crossings`).
- vendor speculative decoding (:func:`vendor_speculation`, SRAM vendor APIs of the current
  era): the profile's draft of ``spec_k`` tokens, each costing ``spec_draft_layers`` layers of
  the target's latency, verified in one step of k + 1 tokens that emits
  (1 - a^(k+1)) / (1 - a) tokens on average at per-token acceptance a.
- ``pipeline``: (stages - 1) x (hop latency + activation bytes / scale-out bandwidth).
- ``offload``: KV read from an offload tier (CS-3 KVSS) over its link.
- ``overhead``: host scheduling and sampling per step.

The pieces sum to the step time; :func:`tokenfrontier.predict.binding_of` names the largest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .arch import Layer, ModelArch
from .footprint import (
    decode_attention_flops_per_token,
    kv_bytes,
    layer_weight_bytes,
    prefill_flops,
    weight_bytes,
)
from .profiles import Profile
from .specs import DTYPE_BYTES, Chip, System

__all__ = [
    "COMPONENTS",
    "HardwareTerms",
    "ModelTerms",
    "attention_dtype",
    "chip_crossings",
    "compute_dtype",
    "decode_step",
    "expected_accepted",
    "expert_bytes_of",
    "expert_imbalance",
    "kv_replication",
    "prefill_time",
    "total",
    "touched_imbalance",
    "vendor_speculation",
]

COMPONENTS = (
    "weights",
    "kv",
    "compute",
    "tp_comm",
    "ep_comm",
    "latency",
    "pipeline",
    "offload",
    "overhead",
)
Array = NDArray[np.float64]
_ACT_BYTES = 2.0  # activations exchanged between chips in BF16
PREFILL_CHUNK_TOKENS = 8192  # prompt chunk that flows through pipeline stages


def _kernels(layer: Layer) -> int:
    """Kernels (or dataflow stages) one token passes through in a layer."""
    attn = {"full": 5, "sliding": 5, "chunked": 5, "compressed": 12}[layer.attention]
    if layer.latent_kv:
        attn = 9  # MLA: low-rank q/kv projections, norms, absorbed bmm
    ffn = 4
    if layer.n_experts:
        ffn = 7 + (3 if layer.shared_expert_params else 0)
    return attn + ffn


@dataclass(frozen=True)
class ModelTerms:
    """Per-model quantities the step model needs, for one weight and KV dtype."""

    arch: ModelArch
    weights: str
    kv_dtype: str
    n_layers: int
    moe_layers: int
    hidden: int
    dense_bytes: float  # read every step: attention, dense FFN, shared experts, router, LM head
    expert_bytes: float  # all routed experts
    dense_matmul_params: float  # per token, every layer + LM head, excluding routed experts
    expert_matmul_params: float  # one routed expert summed over MoE layers
    n_experts: int
    top_k: int
    kernels: float
    sqrt_active_gb: float  # sum over layers of sqrt(active bytes of the layer / 1e9)
    weight_bytes: float
    activations: str | None  # compute dtype asked for; None = chosen per chip
    n_heads: int = 0  # attention heads (fewest over layers); 0 = unknown
    kv_heads: int = 0  # distinct KV heads (MLA/V4: 1; fewest over layers); 0 = unknown
    _kv: dict[float, Array] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls, arch: ModelArch, weights: str, kv_dtype: str, activations: str | None = None
    ) -> ModelTerms:
        per_layer, _first, last = layer_weight_bytes(arch, weights)
        main = arch.main_layers
        per_layer = per_layer[: len(main)]
        expert_b = np.array([expert_bytes_of(arch, layer, weights) for layer in main])
        active_b = np.array(
            [
                b - e + (e / layer.n_experts * layer.top_k if layer.n_experts else 0.0)
                for b, e, layer in zip(per_layer, expert_b, main, strict=True)
            ]
        )
        moe = [layer for layer in main if layer.n_experts]
        dense_mm = sum(
            layer.attention_params + layer.dense_ffn_params + layer.shared_expert_params
            + layer.router_params
            for layer in main
        ) + arch.lm_head_params  # fmt: skip
        expert_mm = sum(layer.expert_params / layer.n_experts for layer in moe)
        return cls(
            arch=arch,
            weights=weights,
            kv_dtype=kv_dtype,
            n_layers=len(main),
            moe_layers=len(moe),
            hidden=arch.hidden_size,
            dense_bytes=float(per_layer.sum() - expert_b.sum() + last),
            expert_bytes=float(expert_b.sum()),
            dense_matmul_params=float(dense_mm),
            expert_matmul_params=float(expert_mm),
            n_experts=moe[0].n_experts if moe else 0,
            top_k=moe[0].top_k if moe else 0,
            kernels=float(sum(_kernels(layer) for layer in main)),
            sqrt_active_gb=float(np.sqrt(active_b / 1e9).sum()),
            weight_bytes=weight_bytes(arch, weights),
            activations=activations,
            n_heads=min((layer.n_heads for layer in main if layer.n_heads), default=0),
            kv_heads=min((layer.kv_heads for layer in main if layer.kv_heads), default=0),
        )

    def kv(self, context: ArrayLike) -> Array:
        """KV bytes of one sequence at ``context`` tokens (cached for scalar contexts)."""
        if np.ndim(context) == 0:
            key = float(context)  # type: ignore[arg-type]
            if key not in self._kv:
                self._kv[key] = np.asarray(kv_bytes(self.arch, key, self.kv_dtype))
            return self._kv[key]
        return np.asarray(kv_bytes(self.arch, context, self.kv_dtype))

    def kv_shards(self, ranks: ArrayLike) -> Array:
        """Distinct KV shards over ``ranks`` attention-TP chips: min(ranks, KV heads)."""
        r = np.asarray(ranks, dtype=float)
        return np.minimum(r, float(self.kv_heads)) if self.kv_heads else r

    def matmul_flops(self, tokens: ArrayLike) -> Array:
        """Weight-GEMM FLOPs of one step over ``tokens`` tokens (top-k experts per token)."""
        t = np.asarray(tokens, dtype=float)
        return 2.0 * t * (self.dense_matmul_params + self.expert_matmul_params * self.top_k)

    def distinct_fraction(self, tokens: ArrayLike) -> Array:
        """Expected fraction of routed experts touched by ``tokens`` tokens (uniform routing)."""
        t = np.maximum(np.asarray(tokens, dtype=float), 0.0)
        if not self.n_experts:
            return np.zeros_like(t)
        return 1.0 - (1.0 - self.top_k / self.n_experts) ** t

    def busiest_fraction(self, tokens: ArrayLike, ep: ArrayLike) -> Array:
        """Fraction of its own routed experts the busiest of ``ep`` expert-parallel ranks reads
        in a step of ``tokens`` tokens: :meth:`distinct_fraction` x :func:`touched_imbalance`
        (the step waits for the rank that touched the most of its experts)."""
        frac = self.distinct_fraction(tokens)
        if not self.n_experts:
            return frac
        return frac * touched_imbalance(frac, ep, self.n_experts)


def expert_imbalance(tokens: ArrayLike, top_k: ArrayLike, ep: ArrayLike, n_experts: ArrayLike) -> Array:
    """Expected load of the busiest of ``ep`` expert-parallel ranks over the mean load.

    ``tokens`` tokens each route to ``top_k`` of ``n_experts`` experts, ``n_experts / ep`` on
    each rank. Under uniform routing a rank receives N = tokens x top_k routed slots with
    probability 1 / ep each: binomial, mean mu = N / ep, variance sigma^2 = N (1/ep)(1 - 1/ep).
    The expected maximum of ep such loads is about mu + sigma sqrt(2 ln ep) (the Gaussian
    extreme-value estimate), so the factor is

        1 + sqrt(2 ln(ep) (ep - 1) / N),

    capped where every token sends a rank all the slots it can, ep min(k, E/ep) / k. It is 1
    for ep = 1 and falls to 1 as tokens per rank grow (the busiest rank sets the step time).
    """
    t = np.maximum(np.asarray(tokens, dtype=float), 1e-9)
    k = np.maximum(np.asarray(top_k, dtype=float), 1.0)
    g = np.maximum(np.asarray(ep, dtype=float), 1.0)
    e = np.maximum(np.asarray(n_experts, dtype=float), g)
    f = 1.0 + np.sqrt(2.0 * np.log(g) * (g - 1.0) / (t * k))
    cap = g * np.minimum(k, e / g) / k
    return np.asarray(np.maximum(np.minimum(f, cap), 1.0))


def touched_imbalance(fraction: ArrayLike, ep: ArrayLike, n_experts: ArrayLike) -> Array:
    """Distinct experts the busiest of ``ep`` ranks touches over the mean rank's.

    Each of the n = ``n_experts / ep`` experts of a rank is touched with probability p
    (``fraction``, :meth:`ModelTerms.distinct_fraction`), independently: the count is binomial,
    mean n p, variance n p (1 - p); the busiest of ep ranks sits near mean + sigma sqrt(2 ln ep)
    (the Gaussian extreme-value estimate, as :func:`expert_imbalance`), so the factor is

        1 + sqrt(2 ln(ep) (1 - p) / (n p)),

    capped where the busiest rank touches all n of its experts (1 / p). One token of top-8 over
    256 experts on 8 ranks: mean one expert per rank, the busiest about three.
    """
    p = np.clip(np.asarray(fraction, dtype=float), 1e-12, 1.0)
    g = np.maximum(np.asarray(ep, dtype=float), 1.0)
    n = np.maximum(np.asarray(n_experts, dtype=float) / g, 1.0)
    f = 1.0 + np.sqrt(2.0 * np.log(g) * (1.0 - p) / (n * p))
    return np.asarray(np.maximum(np.minimum(f, 1.0 / p), 1.0))


def attention_dtype(compute: str) -> str:
    """The dtype decode attention runs its matmuls in: FP8 in quantized deployments (GEMMs in
    FP8 or FP4: FP8 attention / MLA kernels over an FP8-quantized cache, the stacks' recipes
    for these checkpoints), BF16 otherwise — never FP4: FP4 weights do not make attention run
    at FP4 rates."""
    return "fp8" if compute in ("fp8", "fp4") else "bf16"


def expert_bytes_of(arch: ModelArch, layer: Layer, weights: str) -> float:
    """Routed-expert weight bytes of ``layer`` (0 for a dense layer)."""
    if not layer.n_experts:
        return 0.0
    dtype = arch.native_dtypes["experts"] if weights == "native" else weights
    return layer.expert_params * DTYPE_BYTES[dtype]


def compute_dtype(m: ModelTerms, chip: Chip) -> str:
    """The GEMM dtype: what was asked for, else what the weights and the chip support.

    FP8 weights run W8A8. FP4 weights run FP4 GEMMs where the chip has FP4 units (NVFP4/MXFP4
    on Blackwell, MI355X), else FP8. A checkpoint with MXFP4 experts (gpt-oss) runs FP8
    activations on FP4-capable chips and BF16 (dequantized weights) elsewhere — as measured on
    Hopper. BF16 weights run BF16.
    """
    if m.activations:
        return m.activations
    has_fp4 = "fp4" in chip.dense_flops_per_s
    w = m.weights
    if w == "native":
        experts = m.arch.native_dtypes["experts"]
        w = "mxfp4" if experts in ("mxfp4", "fp4") else experts
    if w in ("fp8", "int8"):
        return "fp8"
    if w == "fp4":
        return "fp4" if has_fp4 else "fp8"
    if w == "mxfp4":
        return "fp8" if has_fp4 else "bf16"
    return "bf16"


@dataclass(frozen=True)
class HardwareTerms:
    """Per-chip rates of one hardware entry under one efficiency profile."""

    system: System
    profile: Profile
    compute_dtype: str
    bandwidth: float
    peak_flops: float
    scale_up: float
    io: float  # scale-out bytes/s of one pipeline stage
    hop_latency_s: float
    capacity_per_chip: float
    offload_bytes_per_system: float
    offload_bandwidth: float
    sram: bool
    scale_up_domain: float = np.inf  # chips one scale-up link set joins (a bare chip: no limit)
    tile_bytes: float = np.inf  # SRAM bytes of one mesh tile (a core; a chip of one tile)
    attn_peak_flops: float = 0.0  # dense FLOP/s of decode attention's dtype; 0 = peak_flops

    @classmethod
    def build(cls, system: System, profile: Profile, m: ModelTerms) -> HardwareTerms:
        chip = system.chip
        dtype = compute_dtype(m, chip)
        per_chip_io = system.io_bytes_per_s / system.chips
        off_bytes = sum(t.usable_bytes for t in system.offload)
        off_bw = min((t.bandwidth_bytes_per_s for t in system.offload), default=0.0)
        return cls(
            system=system,
            profile=profile,
            compute_dtype=dtype,
            bandwidth=chip.main_memory.bandwidth_bytes_per_s,
            peak_flops=chip.peak_flops(dtype),
            scale_up=max(chip.scale_up_bytes_per_s, per_chip_io, 1e9),
            io=per_chip_io or chip.scale_up_bytes_per_s or 1e9,  # no NIC figure: chip links
            hop_latency_s=profile.link_latency_s or system.hop_latency_s,
            capacity_per_chip=chip.usable_memory_bytes,
            offload_bytes_per_system=off_bytes,
            offload_bandwidth=off_bw,
            sram=chip.kind == "sram",
            scale_up_domain=np.inf if system.implicit else float(system.scale_up_domain_chips),
            tile_bytes=chip.main_memory.capacity_bytes / chip.cores,
            attn_peak_flops=chip.peak_flops(attention_dtype(dtype)),
        )


def chip_crossings(m: ModelTerms, hw: HardwareTerms, tp: ArrayLike) -> Array:
    """SRAM machines: seconds a token spends crossing chip boundaries inside its layers.

    A layer spread over a group of ``tp`` > 1 chips (the smallest group whose SRAM holds the
    largest layer, :func:`tokenfrontier.placement.stage_group`) has the operands of every
    dataflow stage (kernel) on several chips: each stage exchanges its partial results over
    the chip-to-chip links once, at the per-boundary hop latency (the profile's
    ``link_latency_s`` where fitted, else the system's catalog ``hop_latency_s``), so a token pays
    kernels x hop latency (every layer, summed) — independent of how many chips join the
    group (the links of a group are direct). A layer on one chip (a wafer) crosses none.
    The pipeline hops between stages are the ``pipeline`` term of :func:`decode_step`."""
    tp_ = np.asarray(tp, dtype=float)
    if not hw.sram:
        return 0.0 * tp_
    return np.where(tp_ > 1, m.kernels * hw.hop_latency_s, 0.0)


def _latency(m: ModelTerms, hw: HardwareTerms, tp: Array) -> Array:
    """Per-token latency floor over every layer: kernels x kernel latency, plus on SRAM machines
    the mesh crossing (mesh hop latency x sum over layers of sqrt(tiles the layer fills on a
    chip), tiles = active bytes of the layer / tp chips / SRAM bytes per tile) and the chip
    crossings of a layer spread over several chips (:func:`chip_crossings`)."""
    p = hw.profile
    floor = m.kernels * p.kernel_latency_s + 0.0 * tp
    if not hw.sram:
        return np.asarray(floor)
    sqrt_tiles = m.sqrt_active_gb * np.sqrt(1e9 / (hw.tile_bytes * tp))
    return floor + p.mesh_hop_latency_s * sqrt_tiles + chip_crossings(m, hw, tp)


def expected_accepted(k: int, acceptance: float) -> float:
    """Expected tokens one verify step emits: k drafts accepted in order, each with probability
    ``acceptance`` until the first rejection, plus the verifier's own token:
    sum_{i=0..k} a^i = (1 - a^(k+1)) / (1 - a) (k + 1 at a = 1)."""
    a = float(acceptance)
    return float(k + 1) if a >= 1.0 else (1.0 - a ** (k + 1)) / (1.0 - a)


def vendor_speculation(m: ModelTerms, hw: HardwareTerms, tp: ArrayLike) -> tuple[int, float, Array]:
    """The profile's own speculative decoding (what a vendor API runs, era-dependent):
    (tokens verified per step k + 1, expected tokens emitted per step, draft seconds per step).
    The draft walks ``spec_draft_layers`` layers per drafted token, each at the target's mean
    per-layer latency floor. Without it: (1, 1.0, 0)."""
    p = hw.profile
    tp_ = np.asarray(tp, dtype=float)
    if not p.spec_k:
        return 1, 1.0, 0.0 * tp_
    per_layer = _latency(m, hw, tp_) / max(m.n_layers, 1)
    draft = p.spec_k * p.spec_draft_layers * per_layer
    return p.spec_k + 1, expected_accepted(p.spec_k, p.spec_acceptance), draft


def kv_replication(m: ModelTerms, tp: ArrayLike, dp: ArrayLike = 1.0) -> Array:
    """Copies of each KV byte inside one attention rank of ``tp / dp`` GPUs: ranks / min(ranks,
    KV heads) (1 when every rank holds its own KV heads; ``tp / dp`` for MLA). SRAM machines
    spread a layer over a group of chips for capacity and keep KV unreplicated (callers skip it)."""
    ranks = np.asarray(tp, dtype=float) / np.asarray(dp, dtype=float)
    return ranks / m.kv_shards(ranks)


def _comm(
    m: ModelTerms, hw: HardwareTerms, tokens: Array, tp: Array, ep: Array, dp: Array
) -> tuple[Array, Array]:
    """TP all-reduces inside an attention rank of tp / dp chips on its tokens / dp tokens, and
    the MoE dispatch + combine all-to-all over the ep chips (scale-out beyond the domain): each
    ``a2a_latency_s`` per doubling of the group (log2 ep rounds until every rank has heard from
    every other) plus the routed activations the busiest rank receives (its mean share times
    :func:`expert_imbalance`)."""
    # SRAM: a chip group's exchanges are the chip crossings of the latency term (no collective
    # library on top of them); the bytes still cross the links
    lat = 0.0 if hw.sram else hw.profile.collective_latency_s
    ranks = tp / dp
    msg = tokens / dp * m.hidden * _ACT_BYTES
    ring = 2.0 * (ranks - 1) / ranks * msg / hw.scale_up
    tp_comm = np.where(ranks > 1, m.n_layers * 2 * (lat + ring), 0.0)
    cross = tp > hw.scale_up_domain  # a wide-EP group spanning several scale-up domains
    link = np.where(cross, hw.io, hw.scale_up)
    imb = expert_imbalance(tokens, m.top_k, ep, m.n_experts) if m.moe_layers else 1.0
    a2a = msg * max(m.top_k, 1) * imb * (ep - 1) / ep / link
    a2a = a2a + np.where(cross, hw.hop_latency_s, 0.0)
    a2a_lat = hw.profile.a2a_latency_s
    # plain TP (dp = 1): every rank already holds every token after the attention all-reduce;
    # EP ranks run their own experts and the combine is the MoE all-reduce counted in tp_comm
    moved = (ep > 1) & (dp > 1) & (m.moe_layers > 0)
    rounds = np.log2(np.maximum(ep, 2.0))  # synchronisation rounds of an ep-rank exchange
    ep_comm = np.where(moved, m.moe_layers * 2 * (a2a_lat * rounds + a2a), 0.0)
    return tp_comm, ep_comm


def decode_step(
    m: ModelTerms,
    hw: HardwareTerms,
    *,
    tp: ArrayLike,
    pp: ArrayLike,
    ep: ArrayLike,
    batch: ArrayLike,
    context: ArrayLike,
    tokens_per_seq: ArrayLike = 1.0,
    extra_flops: ArrayLike = 0.0,
    extra_tokens: ArrayLike = 0.0,
    offload_fraction: ArrayLike = 0.0,
    dp: ArrayLike = 1.0,
) -> dict[str, Array]:
    """Components of one decode step (a token's trip through every stage), in seconds.

    ``batch`` sequences split into ``pp`` microbatches; ``tokens_per_seq`` > 1 verifies
    speculative drafts; ``extra_flops``/``extra_tokens`` carry prefill chunks mixed into the step.
    ``dp``: attention data-parallel ranks among the ``tp`` chips of a stage (module docstring).
    """
    tp_, pp_, ep_, dp_ = (np.asarray(x, dtype=float) for x in (tp, pp, ep, dp))
    b = np.maximum(np.asarray(batch, dtype=float) / pp_, 1.0)
    q = np.asarray(tokens_per_seq, dtype=float)
    ctx = np.asarray(context, dtype=float)
    prof = hw.profile
    tokens = b * q + np.asarray(extra_tokens, dtype=float)
    ranks = tp_ / dp_  # chips of one attention rank
    bw = ranks * hw.bandwidth * prof.bandwidth_efficiency
    # a rank reads the dense weights and 1/dp of the touched experts (experts over all tp chips)
    w_read = m.dense_bytes + m.expert_bytes * m.busiest_fraction(tokens, ep_) / dp_
    # the busiest rank's sequences, each KV head replicated over the ranks that share it
    rep = 1.0 if hw.sram else kv_replication(m, tp_, dp_)
    kv_read = np.maximum(b / dp_, 1.0) * m.kv(ctx) * rep
    seq_tokens = b * q
    # the busiest expert-parallel rank's routed tokens set the expert GEMMs' time
    imb = expert_imbalance(tokens, m.top_k, ep_, m.n_experts) if m.moe_layers else 1.0
    gemm = m.matmul_flops(tokens) + (imb - 1.0) * 2.0 * tokens * m.expert_matmul_params * m.top_k
    attn = seq_tokens * decode_attention_flops_per_token(m.arch, ctx)
    # attention FLOPs in GEMM-dtype-equivalents: slower attention matmuls count for more
    slow = hw.peak_flops / (hw.attn_peak_flops or hw.peak_flops)
    flops = gemm + attn * slow + np.asarray(extra_flops) / pp_
    compute = flops / (tp_ * hw.peak_flops * prof.decode_flops_efficiency)
    mem_w, mem_kv = w_read / bw, kv_read / bw
    # memory and compute overlap: charge compute only beyond the memory time
    compute_excess = np.maximum(compute - (mem_w + mem_kv), 0.0)
    tp_comm, ep_comm = _comm(m, hw, tokens, tp_, ep_, dp_)
    hops = (pp_ - 1) * (hw.hop_latency_s + tokens * m.hidden * _ACT_BYTES / (hw.io * tp_))
    off_bw = hw.offload_bandwidth or 1.0
    offload = np.asarray(offload_fraction, dtype=float) * kv_read / off_bw
    shape = np.broadcast_shapes(
        tp_.shape, pp_.shape, dp_.shape, b.shape, ctx.shape, np.shape(offload_fraction)
    )
    out = {
        "weights": mem_w,
        "kv": mem_kv,
        "compute": compute_excess,
        "tp_comm": tp_comm,
        "ep_comm": ep_comm,
        "latency": _latency(m, hw, tp_) + 0.0 * b,
        "pipeline": hops,
        "offload": offload,
        "overhead": _overhead(prof, shape),
    }
    return _common_shape(out, shape)


def prefill_time(
    m: ModelTerms,
    hw: HardwareTerms,
    *,
    tp: ArrayLike,
    pp: ArrayLike,
    ep: ArrayLike,
    tokens: ArrayLike,
    dp: ArrayLike = 1.0,
    alone: bool = False,
) -> dict[str, Array]:
    """Components of prefilling one prompt of ``tokens`` tokens (seconds).

    With ``dp`` attention ranks every rank prefills a prompt at once (the experts see all of
    their tokens): the time is each prompt's latency, and the group prefills ``dp`` prompts in it.
    ``alone``: the latency of one prompt while the other ranks are idle — its attention and
    dense layers on its rank's tp / dp chips, its routed experts over all tp chips.
    """
    tp_, pp_, ep_, dp_ = (np.asarray(x, dtype=float) for x in (tp, pp, ep, dp))
    s = np.asarray(tokens, dtype=float)
    prof = hw.profile
    ranks = tp_ / dp_
    bw = ranks * hw.bandwidth * prof.bandwidth_efficiency
    busy = 1.0 if alone else dp_  # prompts prefilling at once, one per rank
    w = (m.dense_bytes + m.expert_bytes * m.busiest_fraction(s * busy, ep_) / dp_) / bw
    flops = prefill_flops(m.arch, s)
    compute = flops / (ranks * hw.peak_flops * prof.flops_efficiency)
    if alone:  # the routed experts' share runs over the whole group
        expert_flops = 2.0 * s * m.expert_matmul_params * m.top_k
        spread = (flops - expert_flops) / ranks + expert_flops / tp_
        compute = np.where(dp_ > 1, spread / (hw.peak_flops * prof.flops_efficiency), compute)
    # chunked prefill pipelines across stages: each stage works on its layers while the next
    # chunk enters; with n chunks the pipeline is busy pp + n - 1 chunk-slots of 1/pp each
    chunks = np.maximum(np.ceil(s / PREFILL_CHUNK_TOKENS), 1.0)
    compute = compute * (pp_ + chunks - 1) / (pp_ * chunks)
    tp_comm, ep_comm = _comm(m, hw, s * dp_, tp_, ep_, dp_)
    hops = (pp_ - 1) * (hw.hop_latency_s + s * busy * m.hidden * _ACT_BYTES / (hw.io * tp_))
    shape = np.broadcast_shapes(tp_.shape, pp_.shape, dp_.shape, s.shape)
    out = {
        "weights": w,
        "kv": 0.0 * s,
        "compute": np.maximum(compute - w, 0.0),
        "tp_comm": tp_comm,
        "ep_comm": ep_comm,
        "latency": _latency(m, hw, tp_) + 0.0 * s,
        "pipeline": hops,
        "offload": 0.0 * s,
        "overhead": _overhead(prof, shape),
    }
    return _common_shape(out, shape)


def _common_shape(parts: dict[str, ArrayLike], shape: tuple[int, ...]) -> dict[str, Array]:
    """Every component as a float array of one shape: ``shape``, the configurations', extended
    by the leading axes of a batch of profiles whose fields are arrays (a read-only view where
    a component broadcasts)."""
    arrays = {k: np.asarray(v, dtype=float) for k, v in parts.items()}
    if any(a.ndim > len(shape) for a in arrays.values()):
        shape = np.broadcast_shapes(shape, *(a.shape for a in arrays.values()))
    return {k: a if a.shape == shape else np.broadcast_to(a, shape) for k, a in arrays.items()}


def _overhead(prof: Profile, shape: tuple[int, ...]) -> Array:
    """The per-step host overhead over ``shape`` (and a batch of profiles' leading axes)."""
    return np.full(np.broadcast_shapes(shape, np.shape(prof.step_overhead_s)), prof.step_overhead_s)


def total(parts: dict[str, Array]) -> Array:
    return np.asarray(sum(parts[k] for k in COMPONENTS))
