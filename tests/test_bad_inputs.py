"""Issue 9: no bad input gets past the boundary, nothing is half-written.

``tests/bad_inputs/cases.toml`` is a corpus of real CLI commands with their expected outcome (an
exact error pattern, or a legitimate answer); one parametrized test runs them all, most through
``main()`` in-process and a representative handful in fresh interpreters. Hypothesis then
generates further catalog, config, measured-CSV and flag values (NaN, infinities, negative,
zero, huge, wrong types) and asserts the contract: exit 2, one line on stderr naming the input,
no traceback, no file created.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenfrontier.views.cli import main

HERE = Path(__file__).parent / "bad_inputs"
FIXTURES = HERE / "fixtures"
SRC = Path(__file__).resolve().parents[1] / "src"
CASES: list[dict[str, Any]] = tomllib.loads((HERE / "cases.toml").read_text())["case"]


def _snapshot(folder: Path) -> dict[str, int]:
    """Every path under ``folder`` (hidden ones too) with its size; folders as -1."""
    return {str(p.relative_to(folder)): (p.stat().st_size if p.is_file() else -1) for p in folder.rglob("*")}


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str], fresh: bool) -> tuple[int, str, str]:
    if not fresh:
        code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "tokenfrontier.views.cli", *argv],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def _assert_one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2, (code, out[:300], err)
    assert out == "", out[:300]
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_corpus_is_well_formed():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 90
    for case in CASES:
        assert ("error" in case) != ("stdout" in case), case["id"]
        assert set(case) <= {"id", "argv", "error", "stdout", "files", "touch", "mkdir", "env", "needs",
                             "subprocess"}, case["id"]  # fmt: skip
    assert sum(1 for c in CASES if c.get("subprocess")) >= 5


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_corpus(case, tmp_path, capsys, monkeypatch):
    if "needs" in case and not Path(case["needs"]).exists():
        pytest.skip(f"needs {case['needs']}")

    def expand(text: str) -> str:
        return text.replace("{fx}", str(FIXTURES)).replace("{tmp}", str(tmp_path))

    for name in case.get("touch", []):
        (tmp_path / name).write_text("keep me\n")
    for name in case.get("mkdir", []):
        (tmp_path / name).mkdir()
    for key, value in case.get("env", {}).items():
        monkeypatch.setenv(key, expand(value))
    before, fixtures_before = _snapshot(tmp_path), _snapshot(FIXTURES)
    code, out, err = _cli([expand(a) for a in case["argv"]], capsys, bool(case.get("subprocess")))
    if "error" in case:
        line = _assert_one_line_error(code, out, err)
        assert re.search(case["error"], line), line
        assert _snapshot(tmp_path) == before  # nothing written, not even a temporary file
    else:
        assert code == 0 and "Traceback" not in err, err
        assert re.search(case["stdout"], out), out[:2000]
        created = set(_snapshot(tmp_path)) - set(before)
        assert created == set(case.get("files", [])), created
    assert _snapshot(FIXTURES) == fixtures_before  # nothing escaped into the inputs


# -- hypothesis: generated bad values ----------------------------------------------------------------
_TEXT = st.text(alphabet="abcxyz019.-+e ", min_size=0, max_size=8)


def _bad_numbers(zero_ok: bool, integer: bool = False) -> st.SearchStrategy[Any]:
    """NaN, infinities, negative, (zero), huge, and values of the wrong type."""
    options = [
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.floats(max_value=-1e-6, allow_nan=False, allow_infinity=False),
        st.integers(max_value=-1, min_value=-(2**62)),
        st.floats(min_value=1e22, allow_nan=False, allow_infinity=False),
        _TEXT,
        st.booleans(),
        st.lists(st.integers(0, 9), max_size=2),
    ]
    if integer:
        options.append(st.integers(min_value=10**9 + 1, max_value=2**62))  # above every count limit
        options.append(st.floats(0.01, 0.99).map(lambda f: round(f, 2) + 3))  # fractions
    if not zero_ok:
        options.append(st.sampled_from([0, 0.0]))
    return st.one_of(options)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


_MEMORY = {"name": "hbm", "capacity_bytes": 8e10, "bandwidth_bytes_per_s": 3.35e12}
#: (kind, file head, field, zero is valid, integer field)
CATALOG_FIELDS = [
    ("chip", 'id = "xc"\nextends = "h100"\n', "dense_flops_per_s.bf16", False, False),
    ("chip", 'id = "xc"\nextends = "h100"\n', "memory.capacity_bytes", False, False),
    ("chip", 'id = "xc"\nextends = "h100"\n', "memory.bandwidth_bytes_per_s", False, False),
    ("chip", 'id = "xc"\nextends = "h100"\n', "board_power_w", False, False),
    ("chip", 'id = "xc"\nextends = "h100"\n', "usable_memory_fraction", False, False),
    ("chip", 'id = "xc"\nextends = "h100"\n', "price_usd", True, False),
    ("system", 'id = "xs"\nextends = "dgx-h100"\n', "chips", False, True),
    ("system", 'id = "xs"\nextends = "dgx-h100"\n', "power_w", False, False),
    ("system", 'id = "xs"\nextends = "dgx-h100"\n', "scale_out_bytes_per_s", False, False),
    ("system", 'id = "xs"\nextends = "dgx-h100"\n', "hop_latency_s", True, False),
    ("tco", 'id = "xt"\nextends = "default"\n', "pue", False, False),
    ("tco", 'id = "xt"\nextends = "default"\n', "useful_life_years", False, False),
    ("tco", 'id = "xt"\nextends = "default"\n', "server_usd", True, False),
]


def _catalog_text(head: str, field: str, value: Any) -> str:
    if field.startswith("memory."):
        key = field.split(".", 1)[1]
        tier = ", ".join(f"{k} = {_toml(v)}" for k, v in {**_MEMORY, key: value}.items())
        return head + f"memory = [{{ {tier} }}]\n"
    if "." in field:
        table, key = field.split(".")
        return head + f"[{table}]\n{key} = {_toml(value)}\n"
    return head + f"{field} = {_toml(value)}\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.sampled_from(CATALOG_FIELDS))
def test_generated_catalog_values_are_rejected(data, which, tmp_path_factory, capsys):
    _kind, head, field, zero_ok, integer = which
    value = data.draw(_bad_numbers(zero_ok, integer), label=field)
    folder = tmp_path_factory.mktemp("catalog")
    path = folder / "x.toml"
    path.write_text(_catalog_text(head, field, value), encoding="utf-8")
    code = main(["hardware", "--catalog", str(folder)])
    out, err = capsys.readouterr()
    line = _assert_one_line_error(code, out, err)
    assert str(path) in line and field.split(".")[-1] in line, line
    assert sorted(p.name for p in folder.iterdir()) == ["x.toml"]


CONFIG_FIELDS = [
    ("hidden_size", 1 << 20),
    ("num_hidden_layers", 10_000),
    ("vocab_size", 10_000_000),
    ("num_attention_heads", 65_536),
    ("num_key_value_heads", 65_536),
    ("intermediate_size", 10**9),
    ("head_dim", 65_536),
    ("max_position_embeddings", 10**9),
]
_BASE_CONFIG = (SRC / "tokenfrontier" / "catalog" / "models" / "llama-3.1-8b.json").read_text()


def _json_value(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.sampled_from(CONFIG_FIELDS))
def test_generated_config_values_are_rejected(data, which, tmp_path_factory, capsys):
    key, limit = which
    value = data.draw(
        st.one_of(_bad_numbers(zero_ok=False, integer=True), st.integers(limit + 1, 2**62)), label=key
    )
    folder = tmp_path_factory.mktemp("config")
    raw = json.loads(_BASE_CONFIG)
    raw[key] = "__VALUE__"
    path = folder / "config.json"
    path.write_text(json.dumps(raw).replace('"__VALUE__"', _json_value(value)), encoding="utf-8")
    code = main(["footprint", str(path)])
    out, err = capsys.readouterr()
    line = _assert_one_line_error(code, out, err)
    assert str(path) in line, line
    assert sorted(p.name for p in folder.iterdir()) == ["config.json"]


_MEASURED_ROW = (
    "gpt-oss-120b,h100,vllm,fp4,2,1,1024,1024,{concurrency},744.147,370.263,{tok_s},51.32,5.235,"
    "2026-01-02,test"
)
_MEASURED_HEADER = (
    "model,hardware,framework,precision,tp,ep,isl,osl,concurrency,tok_s_per_gpu,output_tok_s_per_gpu,"
    "tok_s_per_user,ttft_ms,tpot_ms,date,source"
)


def _number_or_blank(text: str) -> bool:
    """A CSV cell is text: "19" is a number there (it may be valid), "" an absent value."""
    try:
        float(text)
    except ValueError:
        return not text.strip()
    return True


def _csv_cell(value: Any) -> str:
    text = _toml(value) if not isinstance(value, str) else value
    return '"' + text.replace('"', '""') + '"'


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), column=st.sampled_from(["concurrency", "tok_s"]))
def test_generated_measured_cells_skip_their_row(data, column, tmp_path_factory, capsys):
    value = data.draw(_bad_numbers(zero_ok=False, integer=column == "concurrency").filter(
        lambda v: not (isinstance(v, str) and _number_or_blank(v)) and v != []), label=column)  # fmt: skip
    cells = {"concurrency": "4", "tok_s": "191.02", column: _csv_cell(value)}
    folder = tmp_path_factory.mktemp("measured")
    path = folder / "m.csv"
    path.write_text(f"{_MEASURED_HEADER}\n{_MEASURED_ROW.format(**cells)}\n", encoding="utf-8")
    code = main(["validate", "--measured", str(path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err, err
    (row,) = json.loads(out)["rows"]
    name = "concurrency" if column == "concurrency" else "tok_s_per_user"
    assert row["status"] == "skipped" and f"column '{name}'" in row["skipped_reason"], row
    assert sorted(p.name for p in folder.iterdir()) == ["m.csv"]


FLOAT_FLAGS = [
    (["deal", "--contract-usd", "{v}", "--mw", "10", "--years", "3"], "--contract-usd"),
    (["deal", "--contract-usd", "1e9", "--mw", "{v}", "--years", "3"], "--mw"),
    (["deal", "--contract-usd", "1e9", "--mw", "10", "--years", "{v}"], "--years"),
    (["deal", "--contract-usd", "1e9", "--mw", "10", "--years", "3", "--kw-per-system", "{v}"],
     "--kw-per-system"),
    (["tco", "cs-3", "--usd-per-hour", "{v}"], "--usd-per-hour"),
    (["fleet", "x", "--on", "cs-3", "--mw", "{v}", "--isl", "1", "--osl", "1"], "--mw"),
    (["predict", "x", "--on", "h100", "--isl", "1", "--osl", "1", "--length-spread", "{v}"],
     "--length-spread"),
]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.sampled_from(FLOAT_FLAGS))
def test_generated_flag_values_are_rejected(data, which, capsys):
    template, flag = which
    value = data.draw(
        st.one_of(
            st.sampled_from(["nan", "inf", "-inf", "NaN", "Infinity", "0", "-1", "1e400", "1e30", "x"]),
            st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False).map(repr),
        ),
        label=flag,
    )
    code = main([value if a == "{v}" else a for a in template])
    out, err = capsys.readouterr()
    line = _assert_one_line_error(code, out, err)
    assert f"argument {flag}:" in line, line


# -- helpers -----------------------------------------------------------------------------------------
def test_non_finite_results_are_found():
    from tokenfrontier.results import first_non_finite

    assert first_non_finite({"a": [1.0, {"b": math.nan}]}) == "a[1].b"
    assert first_non_finite({"a": [1.0, None, "x"], "c": math.inf}) == "c"
    assert first_non_finite({"a": [1.0, None]}) is None


def test_staged_outputs_appear_together_or_not_at_all(tmp_path):
    from tokenfrontier.errors import InvalidInputError
    from tokenfrontier.outputs import safe_name, staged, write_folder

    with pytest.raises(RuntimeError), staged() as out:
        out.add(tmp_path / "a.csv", lambda p: p.write_text("a"))
        raise RuntimeError("the second output failed")
    assert list(tmp_path.iterdir()) == []
    with staged() as out:
        out.add(tmp_path / "a.csv", lambda p: p.write_text("a"))
        out.add(tmp_path / "b.csv", lambda p: p.write_text("b"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]
    with pytest.raises(InvalidInputError, match="cannot name a file"):
        write_folder(tmp_path / "out", {"ok.toml": "x", "../evil.toml": "y"})
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.toml").exists()
    for bad in ("..", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(InvalidInputError):
            safe_name(bad, "name")
