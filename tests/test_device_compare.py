"""The GPU micro-benchmark's comparison (benchmarks/device/compare.py) on a synthetic result:
each ratio by hand, and the bare physics never slower than a fitted profile."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

_H100_BW = 3.35e12  # catalog h100: HBM3 3.35 TB/s (NVIDIA H100 SXM datasheet)
_H100_BF16 = 989e12  # catalog h100: dense BF16 989 TFLOP/s (same datasheet)
_LLAMA = dict(hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256)


@pytest.fixture(scope="module")
def compare_mod() -> Any:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "device" / "compare.py"
    spec = importlib.util.spec_from_file_location("device_compare_for_tests", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _result() -> dict[str, Any]:
    k, n = 8192, 28672
    gemm = []
    for m in (1, 4096):
        nbytes, flops = 2 * (m * k + k * n + m * n), 2 * m * n * k
        gemm.append({"m": m, "n": n, "k": k, "s": 2 * max(nbytes / _H100_BW, flops / _H100_BF16),
                     "bytes": nbytes, "flops": flops})  # fmt: skip
    return {
        "device": "cuda",
        "name": "synthetic",
        "memory": {"read_bytes_per_s": 3.0e12, "copy_bytes_per_s": 2.68e12},
        "gemm": gemm,
        "gemm_fp8": {"m": 8192, "s": 1.0, "flops": 989e12},
        "kernel_floor": {"graph_s_per_kernel": 2e-6, "eager_s_per_kernel": 6e-6},
        "decode_llama8b": {
            "config": _LLAMA,
            "weight_bytes": 15_009_849_344,
            "steps": [
                {"batch": 1, "context": 1024, "step_s": 6e-3, "kv_bytes": 2**30, "gpu_ops": 900},
                {"batch": 32, "context": 4096, "step_s": 12e-3, "kv_bytes": 2**34, "gpu_ops": None},
            ],
        },
        "decode_tiny": {
            "config": dict(_LLAMA, hidden=256, layers=32),
            "steps": [{"batch": 1, "step_s": 3.2e-3, "gpu_ops": 900}],
        },
    }


def test_ratios_by_hand(compare_mod: Any) -> None:
    c = compare_mod.compare(_result(), "h100")
    assert c["memory"]["read_fraction"] == pytest.approx(3.0e12 / _H100_BW)
    assert c["memory"]["copy_fraction"] == pytest.approx(2.68e12 / _H100_BW)
    # every synthetic GEMM took twice its roofline time; M=1 is memory-bound, M=4096 compute-bound
    assert [g["measured_over_roofline"] for g in c["gemm"]] == pytest.approx([2.0, 2.0])
    assert [g["bound"] for g in c["gemm"]] == ["memory", "compute"]
    assert c["gemm_fp8"]["fraction"] == pytest.approx(989e12 / 1979e12)  # H100 dense FP8 1979
    assert c["decode"]["llama_shape"] is True
    assert c["decode_tiny"][0]["per_layer_s"] == pytest.approx(1e-4)
    s0 = c["decode"]["steps"][0]
    assert s0["bytes_per_s"] == pytest.approx((15_009_849_344 + 2**30) / 6e-3)


def test_bare_physics_is_the_floor(compare_mod: Any) -> None:
    """No fitted profile predicts a decode step faster than the datasheet roofline."""
    c = compare_mod.compare(_result(), "h100")
    assert c["kernel"]["fitted_kernel_latency_s"]  # the hopper profiles are listed
    for s in c["decode"]["steps"]:
        assert s["bare_s"] > 0
        assert all(v >= s["bare_s"] for v in s["profiles_s"].values())
    # Llama-3.1-8B at batch 1: every bf16 weight but the embedding table (16.06 GB - 128256 x
    # 4096 x 2 B) and 1,024 tokens of KV (131,072 B each) at 3.35 TB/s: 4.52 ms
    read = 16.06e9 - 128256 * 4096 * 2 + 1024 * 131072
    assert c["decode"]["steps"][0]["bare_s"] == pytest.approx(read / _H100_BW, rel=0.01)


def test_report_names_each_section(compare_mod: Any) -> None:
    text = compare_mod.render(compare_mod.compare(_result(), "h100"))
    for part in ("streaming read 3.00 TB/s", "GEMM bf16 (K=8192, N=28672)", "GEMM fp8 8192^3",
                 "one tiny kernel: 2.00 µs in a CUDA graph", "Llama-3.1-8B decode step"):  # fmt: skip
        assert part in text
    assert "do not compare" not in text


@pytest.mark.parametrize("chip", ["h100", "h200"])
def test_a_real_gpu_never_beats_the_catalog_physics(compare_mod: Any, chip: str) -> None:
    """benchmarks/device/results/<chip>-2026-11-28.json (one H100 SXM, one H200; PyTorch 2.11):
    nothing measured may run faster than the catalog's datasheet roofline or the step model's
    bare physics; a catalog figure or step-model term that broke this would be wrong."""
    import json

    results = Path(__file__).resolve().parents[1] / "benchmarks" / "device" / "results"
    path = results / f"{chip}-2026-11-28.json"
    c = compare_mod.compare(json.loads(path.read_text()), chip)
    assert 0.85 < c["memory"]["read_fraction"] < 1.0  # H100 3.08 of 3.35 TB/s; H200 4.26 of 4.8
    assert all(g["measured_over_roofline"] >= 1.0 for g in c["gemm"])
    assert 0.5 < c["gemm_fp8"]["fraction"] < 1.0
    for s in c["decode"]["steps"]:
        assert s["measured_s"] >= s["bare_s"]
    assert c["decode"]["model_kernels_per_step"] == 32 * 9  # Llama-3.1-8B: 32 layers x 9


def test_bad_input_is_one_line_and_exit_2(compare_mod: Any, tmp_path: Path, capsys: Any) -> None:
    good = tmp_path / "r.json"
    good.write_text(__import__("json").dumps(_result()))
    assert compare_mod.main([str(good), "--chip", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --chip: unknown chip 'nope'") and "h100" in err
    assert compare_mod.main([str(tmp_path / "missing.json")]) == 2
    assert "cannot read a results JSON" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert compare_mod.main([str(bad)]) == 2
    assert "not a gpu_microbench.py result (missing 'memory')" in capsys.readouterr().err
    assert compare_mod.main([str(good)]) == 0
