"""CLI: exact output, JSON shape, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import assert_cli_error
from tokenfrontier.views.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


GEMM_EXPECTED = """\
GEMM 1x8192x8192 fp8: arithmetic intensity 2.0 FLOP/B
chip   ridge FLOP/B  bound    attainable TFLOP/s
-----  ------------  -------  ------------------
h100         590.75  memory                 6.70
wse-3          0.74  compute              15,625
"""


def test_gemm_exact_output(capsys):
    code, out, _ = run(capsys, "gemm", "1", "8192", "8192", "--chips", "h100", "wse-3")
    assert code == 0
    assert out == GEMM_EXPECTED


def test_footprint_json_fields(capsys):
    code, out, _ = run(
        capsys,
        "footprint",
        "llama-3.1-8b",
        "--weights",
        "bf16",
        "--context",
        "128k",
        "128Ki",
        "--json",
    )
    assert code == 0
    d = json.loads(out)
    for key in (
        "total_params",
        "active_params",
        "attention_params",
        "ffn_params",
        "embedding_params",
        "weight_bytes",
        "kv_bytes_per_token",
        "kv_bytes",
    ):
        assert key in d
    assert d["kv_bytes"]["128000"] == 131072 * 128000
    assert d["kv_bytes"]["131072"] == 131072 * 131072
    assert d["kv_bytes_per_token"] == 131072


def test_deploy_json_fields(capsys):
    code, out, _ = run(
        capsys,
        "deploy",
        "gpt-oss-120b",
        "--on",
        "cs-3",
        "--weights",
        "bf16",
        "--context",
        "8k",
        "--json",
    )
    assert code == 0
    d = json.loads(out)
    for key in (
        "feasible",
        "binding_constraint",
        "min_systems",
        "chips_per_system",
        "layers_per_system",
        "weight_bytes_per_system",
        "free_memory_bytes_per_system",
        "max_concurrent_sequences",
        "kv_transfer_s",
    ):
        assert key in d
    assert d["feasible"] is True and sum(d["layers_per_system"]) == 36


def test_roofline_json(capsys):
    _, out, _ = run(capsys, "roofline", "--dtype", "fp8", "--json")
    rows = json.loads(out)
    assert {
        "chip",
        "dtype",
        "peak_flops",
        "memory_bandwidth_bytes_per_s",
        "ridge_flop_per_byte",
    } <= set(rows[0])


@pytest.mark.parametrize("argv", [["models"], ["hardware"], ["reproduce"], ["roofline"]])
def test_listing_commands_run(capsys, argv):
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out.strip()
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0 and json.loads(out)


BAD = [
    (["footprint", "llama-3-8b"], "did you mean llama-3.1-8b"),
    (["deploy", "llama-3.1-8b", "--on", "cs3"], "did you mean cs-3"),
    (["footprint", "llama-3.1-8b", "--context", "0"], "positive"),
    (["footprint", "llama-3.1-8b", "--context", "-5"], "token count"),
    (["footprint", "llama-3.1-8b", "--context", "999999999999"], "beyond any model"),
    (["footprint", "llama-3.1-8b", "--context", "lots"], "token count"),
    (["gemm", "0", "1", "1"], "between 1 and"),
    (["gemm", "1", "1", "1", "--dtype", "fp3"], "dtype 'fp3'"),
    (["deploy", "llama-3.1-8b", "--on", "cs-3", "--systems", "0"], "positive"),
    (["roofline", "--chips", "h1000"], "unknown chip"),
    (["dashboard", "--port", "80"], "--port must be in 1024..65535"),
]


@pytest.mark.parametrize(("argv", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_one_line_exit_2(capsys, argv, needle):
    assert_cli_error(capsys, argv, needle)


def test_malformed_config_and_catalog(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run(capsys, "footprint", str(bad))
    assert code == 2 and "malformed JSON" in err
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps({"hidden_size": 64, "num_hidden_layers": 2}))
    code, _, err = run(capsys, "footprint", str(missing))
    assert code == 2 and "lacks 'vocab_size'" in err
    toml = tmp_path / "chip.toml"
    toml.write_text('id = "x"\nname = 3\nvendor = "v"\n')
    code, _, err = run(capsys, "hardware", "--catalog", str(toml))
    assert code == 2 and "chip.toml" in err and "invalid chip" in err
    toml.write_text("id = [\n")
    code, _, err = run(capsys, "hardware", "--catalog", str(toml))
    assert code == 2 and "malformed TOML" in err
    toml.write_text('extends = "wse-3"\nid = "w"\nbogus_field = 1\n')
    code, _, err = run(capsys, "hardware", "--catalog", str(toml))
    assert code == 2 and "bogus_field" in err


def test_argparse_errors_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "tokenfrontier.views.cli", "deploy", "llama-3.1-8b"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "--on" in proc.stderr and "Traceback" not in proc.stderr


def test_help_imports_no_heavy_library():
    code = (
        "import sys, tokenfrontier.views.cli as c\n"
        "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'plotly', 'streamlit', 'scipy') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().endswith("[]")
