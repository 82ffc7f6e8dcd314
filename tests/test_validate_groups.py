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


@pytest.mark.parametrize("profile_id", ["blackwell-trt", "hopper-vllm", "cdna4-sglang"])
def test_a_batch_of_profiles_picks_exactly_what_each_profile_picks(profile_id):
    """calibrate evaluates a finite-difference Jacobian's profiles together (fitted fields as
    arrays along a leading axis): every pick and every metric at it must be bit for bit what
    the profile alone gives."""
    from tokenfrontier.validation import BUNDLED_MEASURED, pick_groups, pick_groups_batch, plan_groups

    cat = default_catalog()
    rows = [r for f in BUNDLED_MEASURED["measured"] for r in read_measured(f)]
    errors, groups = plan_groups(rows, cat, cat.profiles)
    mine = {k: m for k, m in groups.items() if m[0][1].scen.profile.id == profile_id}
    assert mine
    base = cat.profiles[profile_id]
    fields = (
        "bandwidth_efficiency",
        "flops_efficiency",
        "kernel_latency_s",
        "collective_latency_s",
        "step_overhead_s",
        "decode_flops_efficiency",
        "request_overhead_s",
        "a2a_latency_s",
    )
    profs = [base] + [
        base.model_copy(update={f: getattr(base, f) * 1.3 + 1e-7 * (f.endswith("_s"))}) for f in fields
    ]
    batch = base.model_copy(
        update={f: np.array([getattr(p, f) for p in profs]).reshape(-1, 1, 1) for f in fields}
    )

    def under(prof):
        return {k: [(n, plan.with_profile(prof)) for n, plan in m] for k, m in mine.items()}

    layouts: dict = {}
    together = pick_groups_batch(errors, under(batch), len(profs), layouts)
    for prof, picks in zip(profs, together, strict=True):
        alone = pick_groups(errors, under(prof))
        for a, b in zip(alone, picks, strict=True):
            if isinstance(a, Exception):
                assert type(a) is type(b) and str(a) == str(b)
                continue
            assert a[2:] == b[2:]  # the same concurrency column and candidate
            j, i = a[2:]
            for key, value in a[1].metrics.items():
                assert np.array_equal(value, b[1].metrics[key], equal_nan=True), key
                if i >= 0:
                    assert value[i, j].tobytes() == b[1].metrics[key][i, j].tobytes(), key
