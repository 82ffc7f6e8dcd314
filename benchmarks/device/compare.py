"""Set a GPU micro-benchmark (``gpu_microbench.py``) beside the step model's physics.

    python benchmarks/device/compare.py RESULTS.json [--chip h100] [--json]

For each measured quantity, the figure the tool uses for it: the catalog's memory bandwidth and
dense FLOP/s (datasheet), the roofline time of each GEMM, the fitted profiles' bandwidth
efficiency and per-kernel latency for the chip's family, and the step model's decode step
(:func:`tokenfrontier.step.decode_step`) for the same Llama-3.1-8B shapes -- once with the bare
physics (efficiency 1, no latency terms) and once per fitted profile. Nothing here feeds a fit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tokenfrontier.catalog import default_catalog
from tokenfrontier.errors import TokenFrontierError
from tokenfrontier.profiles import Profile
from tokenfrontier.resolve import get_model
from tokenfrontier.scenario import build_scenario
from tokenfrontier.step import decode_step, total

__all__ = ["compare", "render"]

#: a profile with the bare physics: datasheet rates, no latency floor, no overhead
_BARE = dict(bandwidth_efficiency=1.0, flops_efficiency=1.0, decode_flops_efficiency=1.0,
             kernel_latency_s=0.0, collective_latency_s=0.0, step_overhead_s=0.0,
             a2a_latency_s=0.0, request_overhead_s=0.0)  # fmt: skip


#: the decoder shape the microbenchmark runs (Llama-3.1-8B's config.json)
_LLAMA_8B = dict(hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256)


def _profiles(family: str) -> list[Profile]:
    cat = default_catalog()
    return sorted((p for p in cat.profiles.values() if p.fitted and family in p.families), key=lambda p: p.id)


def _scenario(chip_id: str, prof: Profile) -> Any:
    """Llama-3.1-8B (bf16 weights and KV) on one ``chip_id`` under ``prof``."""
    system = default_catalog().system(chip_id)
    return build_scenario(get_model("llama-3.1-8b"), system, weights="bf16", kv_dtype="bf16", profile=prof)


def _step_s(chip_id: str, prof: Profile, batch: int, context: int) -> dict[str, float]:
    """The step model's decode step of that scenario (:func:`_scenario`), per part and total."""
    scen = _scenario(chip_id, prof)
    parts = decode_step(scen.model, scen.hw, tp=1, pp=1, ep=1, batch=batch, context=context)
    out = {k: float(v) for k, v in parts.items()}
    out["total"] = float(total(parts))
    return out


def compare(res: dict[str, Any], chip_id: str = "h100") -> dict[str, Any]:
    """The measured figures of ``res`` beside the tool's, per section (SI units)."""
    cat = default_catalog()
    chip = cat.chip(chip_id)
    bw = chip.main_memory.bandwidth_bytes_per_s
    bf16 = chip.peak_flops("bf16")
    fitted = _profiles(chip.family)
    mem = res["memory"]
    out: dict[str, Any] = {"chip": chip_id, "measured_on": res.get("name", res.get("device"))}
    out["memory"] = {
        "catalog_bytes_per_s": bw,
        "read_bytes_per_s": mem["read_bytes_per_s"],
        "read_fraction": mem["read_bytes_per_s"] / bw,
        "copy_fraction": mem["copy_bytes_per_s"] / bw,
        "fitted_bandwidth_efficiency": {p.id: p.bandwidth_efficiency for p in fitted},
    }
    out["gemm"] = [
        {
            "m": g["m"],
            "n": g["n"],
            "k": g["k"],
            "measured_s": g["s"],
            "roofline_s": max(g["bytes"] / bw, g["flops"] / bf16),
            "bound": "memory" if g["flops"] / g["bytes"] < bf16 / bw else "compute",
            "measured_over_roofline": g["s"] / max(g["bytes"] / bw, g["flops"] / bf16),
        }
        for g in res["gemm"]
    ]
    fp8 = res.get("gemm_fp8") or {}
    if "s" in fp8:
        out["gemm_fp8"] = {
            "m": fp8["m"],
            "flops_per_s": fp8["flops"] / fp8["s"],
            "catalog": chip.peak_flops("fp8"),
        }
        out["gemm_fp8"]["fraction"] = out["gemm_fp8"]["flops_per_s"] / out["gemm_fp8"]["catalog"]
    kf = res["kernel_floor"]
    out["kernel"] = {
        "graph_s": kf["graph_s_per_kernel"],
        "eager_s": kf["eager_s_per_kernel"],
        "fitted_kernel_latency_s": {p.id: p.kernel_latency_s for p in fitted},
    }
    dec = res["decode_llama8b"]
    bare = Profile(id="bare", families=(chip.family,), framework="bare", **_BARE)
    steps = []
    for s in dec["steps"]:
        row = {"batch": s["batch"], "context": s["context"], "measured_s": s["step_s"]}
        row["bare_s"] = _step_s(chip_id, bare, s["batch"], s["context"])["total"]
        row["profiles_s"] = {p.id: _step_s(chip_id, p, s["batch"], s["context"])["total"] for p in fitted}
        row["bytes_per_s"] = (dec["weight_bytes"] + s["kv_bytes"]) / s["step_s"]
        steps.append(row)
    shape_ok = all(dec["config"].get(k) == v for k, v in _LLAMA_8B.items())
    ops = dec["steps"][0].get("gpu_ops")
    out["decode"] = {
        "gpu_ops_per_step": ops,
        "model_kernels_per_step": int(_scenario(chip_id, bare).model.kernels),  # ModelTerms.kernels
        "llama_shape": shape_ok,
        "steps": steps,
    }
    tiny = res.get("decode_tiny")
    if tiny:
        layers = tiny["config"]["layers"]
        ops0 = tiny["steps"][0].get("gpu_ops")  # the same graph at every batch
        out["decode_tiny"] = [
            {
                "batch": s["batch"],
                "step_s": s["step_s"],
                "per_layer_s": s["step_s"] / layers,
                "gpu_ops": ops0,
                "per_op_s": s["step_s"] / ops0 if ops0 else None,
            }
            for s in tiny["steps"]
        ]
    return out


def render(c: dict[str, Any]) -> str:
    """A plain-text report of :func:`compare` (TB/s, TFLOP/s, µs, ms)."""
    m = c["memory"]
    lines = [f"{c['measured_on']} against the catalog's {c['chip']}", ""]
    eff = ", ".join(f"{k} {v:.2f}" for k, v in m["fitted_bandwidth_efficiency"].items())
    lines.append(
        f"memory: streaming read {m['read_bytes_per_s'] / 1e12:.2f} TB/s = {m['read_fraction']:.2f} of the "
        f"datasheet {m['catalog_bytes_per_s'] / 1e12:.2f} TB/s (copy {m['copy_fraction']:.2f}); fitted "
        f"bandwidth efficiency {eff}"
    )
    g0 = c["gemm"][0] if c["gemm"] else {"k": "?", "n": "?"}
    lines.append(f"GEMM bf16 (K={g0['k']}, N={g0['n']}): M, measured µs, roofline µs, bound, ratio")
    for g in c["gemm"]:
        lines.append(
            f"  {g['m']:6d} {g['measured_s'] * 1e6:10.1f} {g['roofline_s'] * 1e6:10.1f}  {g['bound']:7s}"
            f" {g['measured_over_roofline']:.2f}"
        )
    if "gemm_fp8" in c:
        f = c["gemm_fp8"]
        lines.append(
            f"GEMM fp8 {f['m']}^3: {f['flops_per_s'] / 1e12:.0f} TFLOP/s = {f['fraction']:.2f} of the "
            f"datasheet {f['catalog'] / 1e12:.0f}"
        )
    k = c["kernel"]
    lines.append(
        f"one tiny kernel: {k['graph_s'] * 1e6:.2f} µs in a CUDA graph ({k['eager_s'] * 1e6:.2f} µs "
        "launched eagerly from Python: host cost); fitted kernel latency "
        + ", ".join(f"{p} {v * 1e6:.1f} µs" for p, v in k["fitted_kernel_latency_s"].items())
    )
    d = c["decode"]
    ids = list(d["steps"][0]["profiles_s"]) if d["steps"] else []
    note = "" if d["llama_shape"] else " (measured on smaller shapes: the columns do not compare)"
    lines.append(
        f"Llama-3.1-8B decode step, bf16, one GPU (graph; {d['gpu_ops_per_step']} GPU ops per step, "
        f"{d['model_kernels_per_step']} kernels in the step model){note}:"
    )
    lines.append("  batch context measured_ms achieved_TB/s bare_ms " + " ".join(f"{i}_ms" for i in ids))
    for s in d["steps"]:
        fits = " ".join(f"{s['profiles_s'][i] * 1e3:.2f}" for i in ids)
        lines.append(
            f"  {s['batch']:5d} {s['context']:7d} {s['measured_s'] * 1e3:11.2f}"
            f" {s['bytes_per_s'] / 1e12:12.2f} {s['bare_s'] * 1e3:7.2f} {fits}"
        )
    for t in c.get("decode_tiny", []):
        lines.append(
            f"narrow 32-layer decoder, batch {t['batch']}: {t['step_s'] * 1e3:.2f} ms per step, "
            f"{t['per_layer_s'] * 1e6:.1f} µs per layer, {t['gpu_ops']} GPU operations per step"
            + (f" ({t['per_op_s'] * 1e6:.2f} µs each)" if t["per_op_s"] else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--chip", default="h100")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        res = json.loads(args.results.read_text())
        c = compare(res, args.chip)
    except TokenFrontierError as exc:  # an unknown chip (the message lists the valid ids)
        print(f"error: --chip: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {args.results}: cannot read a results JSON ({exc})", file=sys.stderr)
        return 2
    except (KeyError, TypeError) as exc:
        print(f"error: {args.results}: not a gpu_microbench.py result (missing {exc})", file=sys.stderr)
        return 2
    print(json.dumps(c, indent=1) if args.json else render(c))
    return 0


if __name__ == "__main__":
    sys.exit(main())
