"""Measure the physical terms of the step model on one real GPU (PyTorch, no serving stack).

Not part of the package and not a calibration input: the profiles are fitted only on
``shared/data/measured/``. This is an independent check of the *physics* the fitted profiles sit
on -- how much of the datasheet memory bandwidth and dense FLOP/s a plain kernel reaches, what one
kernel costs inside a CUDA graph, and how long a Llama-3.1-8B-shaped decode step takes -- so the
fitted constants (``bandwidth_efficiency``, ``kernel_latency_s``, ...) can be read against
something measured. ``benchmarks/device/compare.py`` sets the results beside the step model.

    python benchmarks/device/gpu_microbench.py --out results.json      # on a CUDA machine
    python benchmarks/device/gpu_microbench.py --smoke --out /tmp/s.json  # CPU, tiny shapes

Every timing is the median of CUDA-event intervals after warm-up; buffers are far larger than
the L2 cache, so every read comes from HBM.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

#: Llama-3.1-8B (shared/data/models/llama-3.1-8b/config.json)
LLAMA_8B = dict(hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256)
TINY = dict(hidden=256, layers=4, heads=4, kv_heads=2, head_dim=64, ffn=512, vocab=1024)


class Timer:
    """Median seconds of ``fn`` over ``iters`` runs after ``warm`` runs."""

    def __init__(self, device: str) -> None:
        self.cuda = device == "cuda"

    def __call__(self, fn: Callable[[], Any], iters: int = 30, warm: int = 5) -> float:
        for _ in range(warm):
            fn()
        if not self.cuda:
            t = []
            for _ in range(iters):
                s = time.perf_counter()
                fn()
                t.append(time.perf_counter() - s)
            return statistics.median(t)
        torch.cuda.synchronize()
        ev = [
            (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)
        ]
        for s, e in ev:
            s.record()
            fn()
            e.record()
        torch.cuda.synchronize()
        return statistics.median(s.elapsed_time(e) for s, e in ev) / 1e3


def graphed(fn: Callable[[], Any], device: str) -> Callable[[], Any]:
    """``fn`` captured once in a CUDA graph (replayed by the returned callable); CPU: ``fn``."""
    if device != "cuda":
        return fn
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g.replay


def memory(timer: Timer, device: str, gib: float) -> dict[str, Any]:
    """Streaming read (a sum) and copy (read + write) of a ``gib`` GiB bf16 buffer."""
    n = int(gib * 2**30 / 2)
    x = torch.ones(n, dtype=torch.bfloat16, device=device)
    y = torch.empty_like(x)
    t_read = timer(lambda: x.sum(dtype=torch.float32))
    t_copy = timer(lambda: y.copy_(x))
    nbytes = n * 2
    return {
        "bytes": nbytes,
        "read_s": t_read,
        "read_bytes_per_s": nbytes / t_read,
        "copy_s": t_copy,
        "copy_bytes_per_s": 2 * nbytes / t_copy,
    }


def gemms(timer: Timer, device: str, k: int, n: int, ms: list[int]) -> list[dict[str, Any]]:
    """bf16 ``x(M,K) @ W(K,N)`` for each M: time, bytes through memory, FLOPs."""
    w = torch.randn(k, n, dtype=torch.bfloat16, device=device) * 0.02
    out = []
    for m in ms:
        x = torch.randn(m, k, dtype=torch.bfloat16, device=device)
        y = torch.empty(m, n, dtype=torch.bfloat16, device=device)
        t = timer(lambda x=x, y=y: torch.matmul(x, w, out=y))
        out.append(
            {"m": m, "n": n, "k": k, "s": t, "bytes": 2 * (m * k + k * n + m * n), "flops": 2 * m * n * k}
        )
        del x, y
    return out


def fp8_gemm(timer: Timer, device: str, size: int) -> dict[str, Any] | None:
    """A square FP8 (e4m3) GEMM with bf16 output, per-tensor scales; None where unsupported."""
    try:
        a = torch.randn(size, size, device=device).to(torch.float8_e4m3fn)
        b = torch.randn(size, size, device=device).to(torch.float8_e4m3fn).t().contiguous().t()
        one = torch.ones((), device=device)
        t = timer(lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16))
        fast = timer(
            lambda: torch._scaled_mm(
                a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16, use_fast_accum=True
            )
        )
    except Exception as exc:  # no FP8 tensor cores (or CPU): recorded, not fatal
        return {"error": str(exc)[:200]}
    # fast accumulation (what FP8 serving kernels usually run) beside the default
    return {"m": size, "n": size, "k": size, "s": min(t, fast), "s_default": t, "s_fast_accum": fast,
            "flops": 2 * size**3}  # fmt: skip


def kernel_floor(timer: Timer, device: str, kernels: int) -> dict[str, Any]:
    """One tiny kernel's cost: ``kernels`` dependent in-place adds replayed as a CUDA graph (the
    GPU's own cost) and launched eagerly from Python (the host's launch cost, for reference)."""
    a = torch.zeros(1024, device=device)

    def chain() -> None:
        for _ in range(kernels):
            a.add_(1.0)

    eager = timer(chain, iters=10, warm=2)
    graph = timer(graphed(chain, device), iters=20, warm=3)
    return {"kernels": kernels, "eager_s_per_kernel": eager / kernels, "graph_s_per_kernel": graph / kernels}


class Decoder:
    """A Llama-shaped decoder with random bf16 weights: one decode step of ``batch`` sequences
    against a KV cache of ``context`` tokens each (RMSNorm, fused QKV, rotary, GQA attention,
    output projection, SwiGLU, LM head), the way a graph-captured serving engine runs it."""

    def __init__(self, cfg: dict[str, int], device: str) -> None:
        self.cfg, self.device = cfg, device
        h, kv, hd, f = cfg["hidden"], cfg["kv_heads"], cfg["head_dim"], cfg["ffn"]
        qkv = (cfg["heads"] + 2 * kv) * hd

        def w(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, dtype=torch.bfloat16, device=device) * 0.02

        self.layers = [
            dict(
                n1=torch.ones(h, dtype=torch.bfloat16, device=device),
                qkv=w(h, qkv),
                o=w(cfg["heads"] * hd, h),
                n2=torch.ones(h, dtype=torch.bfloat16, device=device),
                gu=w(h, 2 * f),
                down=w(f, h),
            )
            for _ in range(cfg["layers"])
        ]
        self.norm = torch.ones(h, dtype=torch.bfloat16, device=device)
        self.head = w(h, cfg["vocab"])

    def weight_bytes(self) -> int:
        per = sum(t.numel() * 2 for t in self.layers[0].values())
        return per * len(self.layers) + self.head.numel() * 2 + self.norm.numel() * 2

    @staticmethod
    def _rms(x: torch.Tensor, wt: torch.Tensor) -> torch.Tensor:
        v = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(v + 1e-5)).to(x.dtype) * wt

    def step_fn(self, batch: int, context: int) -> tuple[Callable[[], Any], int]:
        """A closure running one decode step (static buffers) and the KV bytes it reads."""
        c, dev = self.cfg, self.device
        hd, nh, nkv = c["head_dim"], c["heads"], c["kv_heads"]
        caches = [
            (torch.zeros(batch, nkv, context, hd, dtype=torch.bfloat16, device=dev),
             torch.zeros(batch, nkv, context, hd, dtype=torch.bfloat16, device=dev))
            for _ in self.layers
        ]  # fmt: skip
        x0 = torch.randn(batch, c["hidden"], dtype=torch.bfloat16, device=dev)
        cos = torch.ones(batch, 1, 1, hd, dtype=torch.bfloat16, device=dev)
        pos = context - 1
        ids = torch.empty(batch, dtype=torch.long, device=dev)

        def step() -> None:
            x = x0
            for lw, (kc, vc) in zip(self.layers, caches, strict=True):
                hn = self._rms(x, lw["n1"])
                qkv = hn @ lw["qkv"]
                q, k, v = qkv.split([nh * hd, nkv * hd, nkv * hd], dim=-1)
                # the query heads sharing a KV head as that head's query rows (GQA decode)
                q = (q.view(batch, nkv, nh // nkv, hd) * cos).contiguous()
                k = k.view(batch, nkv, 1, hd) * cos
                kc[:, :, pos : pos + 1].copy_(k)
                vc[:, :, pos : pos + 1].copy_(v.view(batch, nkv, 1, hd))
                a = F.scaled_dot_product_attention(q, kc, vc)
                x = x + a.reshape(batch, nh * hd) @ lw["o"]
                hn = self._rms(x, lw["n2"])
                g, u = (hn @ lw["gu"]).chunk(2, dim=-1)
                x = x + (F.silu(g) * u) @ lw["down"]
            logits = self._rms(x, self.norm) @ self.head
            torch.argmax(logits, dim=-1, out=ids)

        kv_bytes = sum(t.numel() * 2 for pair in caches for t in pair)
        return step, kv_bytes


def gpu_ops(fn: Callable[[], Any]) -> int | None:
    """GPU operations (kernels, copies, fills) one eager call of ``fn`` launches."""
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        return sum(1 for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)
    except Exception:  # a profiler that cannot run here: the count is only a note
        return None


def _backends(device: str) -> list[tuple[str, Callable[[], Any]]]:
    """(name, context manager factory) of the attention backends to time."""
    import contextlib

    out: list[tuple[str, Callable[[], Any]]] = [("default", contextlib.nullcontext)]
    if device == "cuda":
        from torch.nn.attention import SDPBackend, sdpa_kernel

        out.append(("flash", lambda: sdpa_kernel(SDPBackend.FLASH_ATTENTION)))
    return out


def decode(timer: Timer, cfg: dict[str, int], device: str, shapes: list[tuple[int, int]]) -> dict[str, Any]:
    dec = Decoder(cfg, device)
    rows = []
    for batch, context in shapes:
        step, kv_bytes = dec.step_fn(batch, context)
        # the attention backend is fixed at capture: time the default choice and flash attention
        # (cuDNN, torch's H100 default, is slow for a folded-GQA decode at batch 1), keep the best
        by_backend = {}
        for name, ctx in _backends(device):
            try:
                with ctx():
                    g = graphed(step, device)
                by_backend[name] = timer(g, iters=20, warm=3)
            except Exception as exc:  # a backend this build or shape lacks: recorded
                by_backend[name] = str(exc)[:120]
        times = [v for v in by_backend.values() if isinstance(v, float)]
        rows.append({"batch": batch, "context": context, "step_s": min(times), "kv_bytes": kv_bytes,
                     "step_s_by_backend": by_backend,
                     "gpu_ops": gpu_ops(step) if not rows else None})  # fmt: skip
        del step
        if device == "cuda":
            torch.cuda.empty_cache()
    return {"config": cfg, "weight_bytes": dec.weight_bytes(), "steps": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny shapes: checks the script runs")
    args = ap.parse_args()
    device = "cpu" if args.smoke or not torch.cuda.is_available() else "cuda"
    smoke = device == "cpu"
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    timer = Timer(device)
    res: dict[str, Any] = {"torch": torch.__version__, "device": device,
                           "cudnn": torch.backends.cudnn.version() if device == "cuda" else None}  # fmt: skip
    if device == "cuda":
        p = torch.cuda.get_device_properties(0)
        res.update(name=p.name, sms=p.multi_processor_count, memory_bytes=p.total_memory)
    t0 = time.time()
    res["memory"] = memory(timer, device, 0.01 if smoke else 2.0)
    ms = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
    res["gemm"] = gemms(
        timer, device, 64 if smoke else 8192, 128 if smoke else 28672, ms[:4] if smoke else ms
    )
    res["gemm_fp8"] = fp8_gemm(timer, device, 64 if smoke else 8192)
    res["kernel_floor"] = kernel_floor(timer, device, 20 if smoke else 1000)
    if smoke:
        shapes = [(1, 16), (4, 32)]
    else:
        shapes = [(1, 1024), (1, 8192), (8, 1024), (8, 8192), (32, 1024), (32, 4096),
                  (64, 2048), (128, 1024), (256, 512)]  # fmt: skip
    res["decode_llama8b"] = decode(timer, TINY if smoke else LLAMA_8B, device, shapes)
    # the same graph with narrow layers: what a step costs when almost nothing is read
    res["decode_tiny"] = decode(
        timer, dict(TINY, layers=32), device, [(1, 1024), (32, 1024)] if not smoke else [(1, 16)]
    )
    res["wall_s"] = time.time() - t0
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k not in ("gemm",)}, indent=1))
    for g in res["gemm"]:
        tbs, tfs = g["bytes"] / g["s"] / 1e12, g["flops"] / g["s"] / 1e12
        print(f"M={g['m']:6d} {g['s'] * 1e6:9.1f} us  {tbs:6.2f} TB/s  {tfs:7.1f} TFLOP/s")


if __name__ == "__main__":
    main()
