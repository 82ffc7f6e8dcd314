"""validate and calibrate predict rows in groups (one sweep per scenario, workload and pinned
deployment); the answers must be exactly those of predicting each row alone."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest

from tokenfrontier.candidates import Candidates, smallest_pipeline
from tokenfrontier.catalog import default_catalog
from tokenfrontier.validation import (
    BUNDLED_CALIBRATION,
    METRICS,
    pick_rows,
    predict_row,
    prediction_of,
    read_measured,
    validate,
)
from tokenfrontier.views import cli

PREDICTED = ("status", "skipped_reason", "pred_chips", "pred_deployment", "profile", *(m[1] for m in METRICS))


def _row_by_row(path) -> list[dict]:
    """What validate gave before grouping: predict_row on each row alone."""
    cat = default_catalog()
    out = []
    for raw in read_measured(path):
        row = dict(raw, status="skipped")
        try:
            pred = predict_row(raw, cat, cat.profiles)
        except Exception as exc:  # the reason text is compared below
            row["skipped_reason"] = str(exc)
            out.append(row)
            continue
        if not pred.feasible:
            row["skipped_reason"] = f"infeasible: {pred.explanation}"
        else:
            row.update(status="predicted", pred_chips=pred.chips, pred_deployment=pred.deployment)
            row["profile"] = pred.profile
            for _col, pred_col, attr, scale in METRICS:
                value = getattr(pred, attr)
                row[pred_col] = None if value is None else value * scale
        out.append(row)
    return out


def _perturbed(tmp_path, n: int = 400):
    """Bundled rows at other concurrencies (1..1024, some beyond the KV capacity) and lengths,
    plus rows that must be skipped with their reason."""
    rng = random.Random(7)
    base = read_measured(BUNDLED_CALIBRATION)
    rows = []
    for _ in range(n):
        row = dict(rng.choice(base))
        if row["tp"]:
            row.update(concurrency=str(rng.randint(1, 1024)), isl=str(rng.choice((1024, 8192))),
                       osl=str(rng.choice((256, 1024))))  # fmt: skip
        rows.append(row)
    rows[5] = dict(rows[5], model="no-such-model")
    rows[6] = dict(rows[6], concurrency="0")
    rows[7] = dict(rows[7], framework="no-such-stack")
    rows[8] = dict(rows[8], precision="fp3")
    path = tmp_path / "perturbed.csv"
    header = list(base[0])
    lines = [",".join(header)] + [",".join(f'"{r[k]}"' for k in header) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("which", ["bundled", "perturbed"])
def test_grouped_validate_is_exactly_row_by_row(tmp_path, which):
    path = BUNDLED_CALIBRATION if which == "bundled" else _perturbed(tmp_path)
    got = validate(path).rows
    want = _row_by_row(path)
    assert len(got) == len(want) == len(read_measured(path))  # every input row appears
    for g, w in zip(got, want, strict=True):
        for key in PREDICTED:
            assert g.get(key) == w.get(key), (key, g, w)
    if which == "perturbed":
        reasons = [r.get("skipped_reason") or "" for r in got[5:9]]
        assert "no-such-model" in reasons[0]
        assert "concurrency" in reasons[1]
        assert "no-such-stack" in reasons[2]
        assert "fp3" in reasons[3]
        assert sum(r["status"] == "predicted" for r in got) > 300


def test_grouped_predictions_equal_predict_row(tmp_path):
    # the whole Prediction (deployment, breakdown, notes), not only validate's columns
    cat = default_catalog()
    rows = read_measured(_perturbed(tmp_path, 150))
    for raw, picked in zip(rows, pick_rows(rows, cat, cat.profiles), strict=True):
        try:
            want = predict_row(raw, cat, cat.profiles)
        except Exception as exc:
            assert isinstance(picked, Exception) and str(picked) == str(exc)
            continue
        assert prediction_of(picked) == want


def test_smallest_pipeline_per_column_equals_each_column_alone():
    rng = np.random.default_rng(3)
    tp = rng.choice([1.0, 2.0, 4.0], 40)
    cand = Candidates(
        tp=tp, pp=rng.choice([1.0, 2.0, 4.0, 8.0], 40), ep=np.ones(40), stage_weight_bytes=np.ones(40)
    )
    feas = rng.random((40, 9)) < 0.4
    both = smallest_pipeline(cand, feas)
    for j in range(feas.shape[1]):
        assert (both[:, j] == smallest_pipeline(cand, feas[:, j])).all()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_for_large_inputs(monkeypatch):
    monkeypatch.setattr(cli.sys, "stderr", io.StringIO())
    assert cli._progress("validate") is None  # not a terminal: nothing at all
    tty = _Tty()
    monkeypatch.setattr(cli.sys, "stderr", tty)
    report = cli._progress("validate")
    assert report is not None
    report(100, 1_000)  # small input: silent
    assert tty.getvalue() == ""
    for done in range(0, 50_001, 500):
        report(done, 50_000)
    lines = tty.getvalue().splitlines()
    assert 10 <= len(lines) <= 11 and lines[-1] == "tokenfrontier validate: 50,000 of 50,000 rows"


def test_validate_reports_progress_to_the_end():
    seen = []
    validate(BUNDLED_CALIBRATION, progress=lambda done, total: seen.append((done, total)))
    n = len(read_measured(BUNDLED_CALIBRATION))
    assert seen[-1] == (n, n) and len(seen) < n  # once per group, not per row
