"""Issue 13, item 2: ``tokenfrontier sweep GRID.toml`` — declarative grids, executors (serial,
process, Ray), a resumable Parquet store (kill -9 loses and duplicates nothing), bad-grid reports."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfrontier import api
from tokenfrontier.errors import InvalidInputError, TokenFrontierError
from tokenfrontier.grid import (
    evaluate_cell,
    evaluate_task,
    executor,
    load_grid,
    load_sweep,
    make_tasks,
    sweep_grid,
)
from tokenfrontier.views.cli import main

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC.parent
#: predict (HBM, batched, and SRAM, per cell), simulate and frontier cells, one failing cell
SMALL = {
    "command": ["predict", "simulate", "frontier"],
    "models": ["llama-3.1-8b"],
    "hardware": ["dgx-h100", "cs-3"],
    "policies": ["closed-loop", "queued"],
    "weights": ["native", "fp8"],
    "concurrency": [1, 16, 128],
    "workloads": [{"name": "chat", "isl": 1024, "osl": 128}],
    "simulate": {"requests": 40},
}
TINY = """\
name = "tiny"
command = ["predict", "simulate"]
models = "llama-3.1-8b"
hardware = ["dgx-h100", "groq-rack"]
tp = 2
concurrency = [1, 8]
isl = 1024
osl = 128

[simulate]
requests = 20
"""
VOLATILE = ["elapsed_s"]


def _frame(path: Path) -> pd.DataFrame:
    return load_sweep(path).set_index("cell_hash").sort_index()


def test_example_grid_loads():
    g = load_grid(ROOT / "examples" / "grid_small.toml")
    assert g.name == "small" and g.commands == ("predict", "simulate")
    assert len(g.cells) == 2 * 3 * 2 * 2 * 4 * 2  # models x hardware x workloads x weights x conc x commands


def test_cell_hash_is_canonical():
    a = load_grid({**SMALL, "models": "llama-3.1-8b", "weights": ["fp8", "native"]})
    b = load_grid(SMALL)
    assert {c["cell_hash"] for c in a.cells} == {c["cell_hash"] for c in b.cells}
    assert len({c["cell_hash"] for c in b.cells}) == len(b.cells)


@settings(max_examples=25, deadline=None)
@given(
    weights=st.lists(st.sampled_from(["native", "fp8", "bf16", "fp4"]), min_size=1, max_size=4, unique=True),
    conc=st.lists(st.integers(1, 4096), min_size=1, max_size=6, unique=True),
    data=st.data(),
)
def test_cell_hashes_do_not_depend_on_how_the_grid_is_written(weights, conc, data):
    grid = {"models": "llama-3.1-8b", "hardware": "dgx-h100", "isl": 1024, "osl": 128}
    a = load_grid({**grid, "weights": weights, "concurrency": conc})
    b = load_grid(
        {
            **grid,
            "weights": data.draw(st.permutations(weights)),
            "concurrency": data.draw(st.permutations(conc)),
        }
    )
    assert {c["cell_hash"] for c in a.cells} == {c["cell_hash"] for c in b.cells}
    assert len(a.cells) == len(weights) * len(conc)
    for c in a.cells:  # a cell, taken alone as a grid, has the same hash
        alone = load_grid({**grid, "weights": c["weights"], "concurrency": c["concurrency"]})
        assert alone.cells[0]["cell_hash"] == c["cell_hash"]


def test_batched_predict_equals_the_api():
    analytic = {k: v for k, v in SMALL.items() if k != "simulate"}
    g = load_grid({**analytic, "command": "predict", "tp": ["auto", 4], "concurrency": [1, 7, 64, 900]})
    tasks = make_tasks(g.cells)
    assert len(tasks) < len(g.cells)  # concurrencies share one sweep
    rows = {r["cell_hash"]: r for t in tasks for r in evaluate_task(t)}
    for c in g.cells[::5]:
        p = api.predict(c["model"], c["hardware"], isl=c["isl"], osl=c["osl"], concurrency=c["concurrency"],
                        tp=c["tp"], weights=c["weights"], policy=c["policy"])  # fmt: skip
        r = rows[c["cell_hash"]]
        assert r == evaluate_cell(c)
        assert (r["tok_s_per_user"], r["total_tok_s_per_chip"], r["chips"]) == (
            p.tok_s_per_user, p.total_tok_s_per_chip, p.chips)  # fmt: skip


def test_serial_and_process_agree_and_rerun_skips(tmp_path):
    serial = sweep_grid(SMALL, tmp_path / "s", executor_kind="serial")
    procs = sweep_grid(SMALL, tmp_path / "p", executor_kind="process", workers=2)
    assert serial.computed == procs.computed == serial.cells and serial.failed == 0
    pd.testing.assert_frame_equal(_frame(tmp_path / "s"), _frame(tmp_path / "p"))
    again = sweep_grid(SMALL, tmp_path / "s", executor_kind="serial")
    assert (again.already_stored, again.computed) == (serial.cells, 0)
    df = load_sweep(tmp_path / "s")
    assert list(df["cell_index"]) == list(range(serial.cells))
    assert {"ttft_s", "tok_s_per_user", "ttft_p99_s", "max_tok_s_per_user", "error"} <= set(df.columns)


@pytest.fixture(scope="module")
def ray_session():
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not importable: pip install 'tokenfrontier[cluster]' (CI installs it)")
    # workers import this checkout's source, as the driver does
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(SRC)}})  # fmt: skip
    yield ray
    ray.shutdown()


def test_ray_equals_serial_cell_for_cell(tmp_path, ray_session):
    ray_run = sweep_grid(SMALL, tmp_path / "ray", executor_kind="ray", ray_address="auto")
    assert ray_run.executor == "ray" and ray_run.computed == ray_run.cells
    sweep_grid(SMALL, tmp_path / "serial", executor_kind="serial")
    pd.testing.assert_frame_equal(_frame(tmp_path / "ray"), _frame(tmp_path / "serial"))
    assert ray_session.is_initialized()  # the executor leaves a session it did not start
    with executor("ray") as ex:  # any callable, builtins included
        assert sorted(ex.map(abs, range(-6, 0))) == [1, 2, 3, 4, 5, 6]


def test_executor_factory():
    with executor("serial") as ex:
        assert list(ex.map(abs, [-1, 2, -3])) == [1, 2, 3]
    with executor("process", workers=2) as ex:
        assert sorted(ex.map(abs, range(-20, 0))) == list(range(1, 21))
    with pytest.raises(InvalidInputError, match="executor 'dask' is unknown; valid: serial, process, ray"):
        executor("dask")
    with pytest.raises(InvalidInputError, match="--workers: expected a positive integer"):
        executor("process", workers=0)
    with (
        pytest.raises(TokenFrontierError, match="a worker process died"),
        executor("process", workers=1) as ex,
    ):
        list(ex.map(os._exit, [3]))


def test_ray_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(InvalidInputError, match=r"pip install 'tokenfrontier\[cluster\]'"):
        executor("ray")


KILL_GRID = """\
command = "simulate"
models = ["llama-3.1-8b", "qwen3-30b-a3b"]
hardware = ["dgx-h100", "dgx-b300"]
concurrency = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
isl = [512, 2048]
osl = 128

[simulate]
requests = 1000
"""


def test_kill_minus_9_then_rerun_stores_every_cell_once(tmp_path):
    grid = tmp_path / "kill.toml"
    grid.write_text(KILL_GRID)
    out = tmp_path / "kill.sweep"
    cmd = [sys.executable, "-m", "tokenfrontier.views.cli", "sweep", str(grid), "--out", str(out),
           "--workers", "2", "--store-every", "0"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("part-*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed; make KILL_GRID larger"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes
        proc.wait()
    total = len(load_grid(grid).cells)
    stored = len(load_sweep(out))
    assert 0 < stored < total
    (out / ".part-0-0-000001.parquet.x1y2.tmp").write_bytes(b"PAR1 half a file")  # a torn write
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"already stored  {stored}" in rerun.stdout
    import pyarrow as pa
    import pyarrow.parquet as pq

    hashes = pa.concat_tables([pq.read_table(p, columns=["cell_hash"]) for p in out.glob("part-*.parquet")])
    hashes = hashes.column(0).to_pylist()
    assert len(hashes) == len(set(hashes)) == total  # every cell, exactly once
    assert set(hashes) == {c["cell_hash"] for c in load_grid(grid).cells}
    assert not list(out.glob(".*.tmp"))  # the torn write was cleaned, never read


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        (
            {**SMALL, "models": ["llama-3.1-8b", "llama-9b"]},
            r"grid <grid>: models\[1\] 'llama-9b': unknown model 'llama-9b': .*valid model ids: .*llama-3",
        ),
        ({**SMALL, "hardware": ["dgx-h101"]}, r"hardware 'dgx-h101': unknown .*did you mean dgx-h100"),
        ({**SMALL, "concurrency": []}, r"concurrency: empty axis; give at least one value"),
        ({**SMALL, "isl": 1024, "osl": 128}, r"workloads: conflicts with top-level isl/osl"),
        (
            {
                "models": "llama-3.1-8b",
                "hardware": "h100",
                "isl": 1,
                "osl": 1,
                "command": "frontier",
                "tp": 8,
            },
            r"tp: conflicts with command 'frontier'",
        ),
        ({**SMALL, "command": "predict"}, r"simulate: applies to simulate cells only"),
        ({**SMALL, "weights": ["fp8", "fp8"]}, r"weights: 'fp8' is listed twice"),
        (
            {**SMALL, "policies": "fastest"},
            r"policies 'fastest': serving policy 'fastest' is unknown; valid: ",
        ),
        ({**SMALL, "command": "estimate"}, r"command 'estimate': .*valid: predict, simulate, frontier"),
        ({**SMALL, "model": "x"}, r"model: unknown key; valid keys: name, command, models"),
        ({k: v for k, v in SMALL.items() if k != "hardware"}, r"hardware: missing; give at least one"),
    ],
)
def test_bad_grids_are_reported_before_running(grid, expected):
    with pytest.raises(InvalidInputError, match=expected) as err:
        load_grid(grid)
    assert "\n" not in str(err.value) and str(err.value).endswith("(nothing run)")


def test_every_problem_is_reported_together():
    with pytest.raises(InvalidInputError) as err:
        load_grid({**SMALL, "models": ["nope"], "concurrency": [], "kv_dtype": "fp3"})
    lines = str(err.value).splitlines()
    assert lines[0] == "grid <grid>: 3 problems, nothing run:"
    assert [ln.split(":")[0].strip() for ln in lines[1:]] == [
        "models 'nope'",
        "kv_dtype 'fp3'",
        "concurrency",
    ]


def test_tiny_grid_cli_output_exact(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("tiny.toml").write_text(TINY)
    rc = main(["sweep", "tiny.toml", "--executor", "serial"])
    out = capsys.readouterr().out
    assert rc == 1  # the grid completed, two cells failed
    expected = """\
sweep
quantity        value
--------------  -----------------
grid            tiny (tiny.toml)
commands        predict, simulate
cells           8
already stored  0
computed now    8
failed          2
executor        serial, 1 worker
results         tiny.sweep

failed cells (2; reason below each):
  8c24b867f4bf6682  simulate llama-3.1-8b on groq-rack 1024/128 scheduling=chunked-mixed weights=native kv_dtype=bf16 tp=2 concurrency=1
    simulate: no deployment of llama-3.1-8b on groq-rack at TP2 PPNone holds one request: weights (16.1 GB) do not fit the deployments considered (0.22 GB per chip usable, 95% of sram)
  940cab0b55bd985e  simulate llama-3.1-8b on groq-rack 1024/128 scheduling=chunked-mixed weights=native kv_dtype=bf16 tp=2 concurrency=8
    simulate: no deployment of llama-3.1-8b on groq-rack at TP2 PPNone holds one request: weights (16.1 GB) do not fit the deployments considered (0.22 GB per chip usable, 95% of sram)
"""  # noqa: E501
    assert out == expected
    # rerun: nothing computed, the stored failures still reported, still exit 1
    assert main(["sweep", "tiny.toml", "--executor", "serial", "--json"]) == 1
    assert '"already_stored": 8' in capsys.readouterr().out
    df = load_sweep("tiny.sweep")
    failed = df[df["error"].notna()]
    assert list(failed["cell_hash"]) == ["8c24b867f4bf6682", "940cab0b55bd985e"]
    infeasible = df[df["feasible"] == False]  # noqa: E712 (an answer, not an error)
    assert set(infeasible["hardware"]) == {"groq-rack"} and infeasible["error"].isna().all()


def test_cli_bad_grid_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.replace('"groq-rack"', '"groq-rock"'))
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tokenfrontier: error: grid {bad}: hardware[1] 'groq-rock': unknown")
    assert not (tmp_path / "o").exists()  # nothing run, nothing written
    assert main(["sweep", str(tmp_path / "none.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["sweep", str(bad), "--executor", "serial", "--ray", "auto"]) == 2
    assert "--ray runs on Ray; it conflicts with --executor serial" in capsys.readouterr().err
    if importlib.util.find_spec("ray"):  # fails fast, before the results folder exists
        good = tmp_path / "tiny.toml"
        good.write_text(TINY)
        assert main(["sweep", str(good), "--out", str(tmp_path / "r"), "--ray", "127.0.0.1:1"]) == 2
        assert "--ray 127.0.0.1:1: nothing answers there" in capsys.readouterr().err
        assert not (tmp_path / "r").exists()
    assert main(["sweep", str(bad), "--store-every", "nan"]) == 2
    assert "--store-every: expected seconds >= 0, got nan" in capsys.readouterr().err


def test_plot_of_a_sweep(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("tiny.toml").write_text(TINY)
    assert main(["sweep", "tiny.toml", "--executor", "serial", "--plot", "tiny.html", "--progress"]) == 1
    assert Path("tiny.html").stat().st_size > 1000
    bar = capsys.readouterr().err
    assert "sweep [############################] 8/8 cells 100%" in bar and "ETA 0:00:00" in bar
