"""A declarative sweep grid: parse and validate a TOML file into cells.

A grid names axes (models x hardware x workloads x policies x options); a *cell* is one
combination, evaluated by one command (``predict``, ``simulate`` or ``frontier``). Every axis
takes one value or a list::

    command = ["predict", "simulate"]
    models = ["llama-3.1-8b", "llama-3.1-70b"]
    hardware = ["dgx-h100", "cs-3"]
    policies = ["closed-loop", "queued"]   # serving policy of predict / frontier cells
    scheduling = ["chunked-mixed"]         # engine scheduler of simulate cells
    weights = ["native", "fp8"]
    kv_dtype = "bf16"
    tp = ["auto", 8]                       # "auto": the fastest feasible deployment
    concurrency = [1, 8, 64]               # default 1; frontier cells take the whole list as
                                           # their axis (default 1, 2, 4, ... 1024)

    [[workloads]]                          # or top-level isl = [...] and osl = [...]
    name = "chat"
    isl = 1024
    osl = 256                              # also: spread, kind (closed|poisson|gamma), qps

    [simulate]                             # fixed options of simulate cells
    requests = 500
    seed = 0

Validation collects every problem (unknown ids, empty axes, conflicting options) into one
report before anything runs. A cell's hash is the SHA-256 of its canonical JSON, so the same
cell has the same hash however the grid is written.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, TokenFrontierError

__all__ = ["AXES", "COMMANDS", "GRID_SCHEMA", "Grid", "cell_hash", "load_grid"]

#: Bumped when a cell's meaning changes, so old results are not mistaken for new ones.
GRID_SCHEMA = 1
COMMANDS = ("predict", "simulate", "frontier")
#: Top-level keys a grid may have (list-valued axes and tables).
AXES = ("command", "models", "hardware", "workloads", "isl", "osl", "policies", "scheduling", "weights",
        "kv_dtype", "tp", "concurrency")  # fmt: skip
TABLES = ("simulate",)
_TOP = ("name", *AXES, *TABLES)
_WORKLOAD_KEYS = ("name", "isl", "osl", "spread", "kind", "qps")
_KINDS = ("closed", "poisson", "gamma")
_SIMULATE_KEYS = {"requests": 2000, "seed": 0, "replicas": 1, "prefix_cache": True}
_FRONTIER_CONCURRENCIES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def cell_hash(values: Mapping[str, Any]) -> str:
    """16 hex digits of the SHA-256 of the cell's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps({"schema": GRID_SCHEMA, **values}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Grid:
    """A validated grid: its name, source and cells (dicts with ``cell_hash`` and ``cell_index``)."""

    name: str
    source: str
    cells: tuple[dict[str, Any], ...]

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c["command"] for c in self.cells))


def load_grid(grid: str | Path | Mapping[str, Any]) -> Grid:
    """Read and validate a grid (a TOML path or the parsed mapping); every problem is reported
    together in one :class:`InvalidInputError`, one line per problem."""
    if isinstance(grid, Mapping):
        raw, source = dict(grid), "<grid>"
    else:
        path = Path(grid).expanduser()
        source = str(grid)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInputError(f"grid {source}: no such file") from None
        except OSError as exc:
            raise InvalidInputError(f"grid {source}: cannot read: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInputError(f"grid {source}: not valid TOML ({exc})") from None
    checker = _Checker()
    axes = checker.axes(raw)
    cells = _cells(axes, checker) if not checker.problems else []
    if checker.problems:
        n = len(checker.problems)
        if n == 1:  # one problem, one line
            raise InvalidInputError(f"grid {source}: {checker.problems[0]} (nothing run)")
        lines = "\n".join(f"  {p}" for p in checker.problems)
        raise InvalidInputError(f"grid {source}: {n} problems, nothing run:\n{lines}")
    name = str(raw.get("name") or (Path(source).stem if source != "<grid>" else "grid"))
    return Grid(name=name, source=source, cells=tuple(cells))


class _Checker:
    """Collects the problems of a grid (axis: value: why; valid options)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, why: str) -> None:
        self.problems.append(f"{where}: {why}")

    def values(self, raw: dict[str, Any], key: str, default: list[Any] | None) -> list[Any]:
        if key not in raw:
            return list(default) if default is not None else []
        value = raw[key]
        values = value if isinstance(value, list) else [value]
        if not values:
            self.add(key, "empty axis; give at least one value (or leave the key out for the default)")
        seen: set[str] = set()
        for v in values:
            text = json.dumps(v, sort_keys=True, default=str)
            if text in seen:
                self.add(key, f"{v!r} is listed twice")
            seen.add(text)
        return values

    def each(self, key: str, values: list[Any], check: Callable[[Any], Any]) -> list[Any]:
        """``check(v)`` every value; a TokenFrontierError becomes a problem of ``key[i]``."""
        out = []
        for i, v in enumerate(values):
            try:
                out.append(check(v))
            except TokenFrontierError as exc:
                self.add(f"{key}[{i}] {v!r}" if len(values) > 1 else f"{key} {v!r}", str(exc))
        return out

    def axes(self, raw: dict[str, Any]) -> dict[str, Any]:
        from ..catalog import default_catalog
        from ..footprint import KV_DTYPES, WEIGHT_DTYPES
        from ..resolve import get_model, get_system
        from ..serving import get_policy
        from ..sim.engine import POLICIES as SCHEDULERS
        from ..units import parse_positive_int

        for key in raw:
            if key not in _TOP:
                self.add(key, f"unknown key; valid keys: {', '.join(_TOP)}")
        choice = _choice
        ax: dict[str, Any] = {}
        ax["command"] = self.each("command", self.values(raw, "command", ["predict"]),
                                  lambda v: choice(v, COMMANDS, "command"))  # fmt: skip
        for key in ("models", "hardware"):
            if key not in raw:
                self.add(key, "missing; give at least one catalog id")

        def model(v: Any) -> str:  # a catalog id (normalized) or a config.json path (kept)
            arch = get_model(_str(v))
            return arch.id if v.strip().lower() in default_catalog().model_ids else v

        ax["models"] = self.each("models", self.values(raw, "models", []), model)
        ax["hardware"] = self.each("hardware", self.values(raw, "hardware", []),
                                   lambda v: get_system(_str(v)).id)  # fmt: skip
        ax["policies"] = self.each("policies", self.values(raw, "policies", ["closed-loop"]),
                                   lambda v: get_policy(_str(v)).name)  # fmt: skip
        ax["scheduling"] = self.each("scheduling", self.values(raw, "scheduling", ["chunked-mixed"]),
                                     lambda v: choice(v, SCHEDULERS, "scheduling policy"))  # fmt: skip
        ax["weights"] = self.each("weights", self.values(raw, "weights", ["native"]),
                                  lambda v: choice(v, WEIGHT_DTYPES, "weights dtype"))  # fmt: skip
        ax["kv_dtype"] = self.each("kv_dtype", self.values(raw, "kv_dtype", ["bf16"]),
                                   lambda v: choice(v, KV_DTYPES, "KV dtype"))  # fmt: skip

        def tp(v: Any) -> int | None:
            return None if v == "auto" else parse_positive_int(v, "tp", 100_000)

        ax["tp"] = self.each("tp", self.values(raw, "tp", ["auto"]), tp)
        given_conc = "concurrency" in raw
        ax["concurrency"] = self.each("concurrency", self.values(raw, "concurrency", [1]),
                                      lambda v: parse_positive_int(v, "concurrency"))  # fmt: skip
        if not given_conc:
            ax["frontier_concurrency"] = list(_FRONTIER_CONCURRENCIES)
        else:
            ax["frontier_concurrency"] = sorted(ax["concurrency"])
        ax["workloads"] = self.workloads(raw)
        ax["simulate"] = self.simulate(raw)
        self.conflicts(raw, ax)
        return ax

    def workloads(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        from ..units import check_number, parse_context

        if "workloads" in raw and ("isl" in raw or "osl" in raw):
            self.add("workloads", "conflicts with top-level isl/osl; give one or the other")
            return []
        if "workloads" not in raw:
            if "isl" not in raw or "osl" not in raw:
                self.add("workloads", "missing; give [[workloads]] tables or top-level isl and osl")
                return []
            isls = self.each("isl", self.values(raw, "isl", []), lambda v: parse_context(v, "isl"))
            osls = self.each("osl", self.values(raw, "osl", []), lambda v: parse_context(v, "osl"))
            return [{"workload": f"{i}/{o}", "isl": i, "osl": o, "spread": 1.0, "kind": "closed", "qps": None}
                    for i, o in itertools.product(isls, osls)]  # fmt: skip
        out: list[dict[str, Any]] = []
        tables = self.values(raw, "workloads", [])
        for n, w in enumerate(tables):
            where = f"workloads[{n}]"
            if not isinstance(w, dict):
                self.add(where, "expected a table with isl and osl ([[workloads]])")
                continue
            bad = set(w) - set(_WORKLOAD_KEYS)
            if bad:
                self.add(
                    where, f"unknown key(s) {', '.join(sorted(bad))}; valid: {', '.join(_WORKLOAD_KEYS)}"
                )
            try:
                isl, osl = parse_context(w.get("isl", ""), "isl"), parse_context(w.get("osl", ""), "osl")
                spread = check_number(w.get("spread", 1.0), "spread", 0, 100)
                kind = _choice(w.get("kind", "closed"), _KINDS, "workload kind")
                qps = w.get("qps")
                if kind == "closed" and qps is not None:
                    raise InvalidInputError("qps applies to kind poisson or gamma, not closed")
                if kind != "closed":
                    if qps is None:
                        raise InvalidInputError(f"kind '{kind}' needs qps (requests per second)")
                    qps = check_number(qps, "qps", 0, 1e9, lo_open=True)
            except TokenFrontierError as exc:
                self.add(where, str(exc))
                continue
            name = str(w.get("name") or f"{isl}/{osl}")
            if any(x["workload"] == name for x in out):
                self.add(where, f"workload name '{name}' is used twice")
            out.append({"workload": name, "isl": isl, "osl": osl, "spread": float(spread), "kind": kind,
                        "qps": None if qps is None else float(qps)})  # fmt: skip
        return out

    def simulate(self, raw: dict[str, Any]) -> dict[str, Any]:
        from ..units import parse_positive_int

        table = raw.get("simulate", {})
        if not isinstance(table, dict):
            self.add("simulate", "expected a table ([simulate]) of fixed simulate options")
            return dict(_SIMULATE_KEYS)
        for key in set(table) - set(_SIMULATE_KEYS):
            self.add(f"simulate.{key}", f"unknown option; valid: {', '.join(_SIMULATE_KEYS)}")
        out = {**_SIMULATE_KEYS, **{k: v for k, v in table.items() if k in _SIMULATE_KEYS}}
        try:
            out["requests"] = parse_positive_int(out["requests"], "simulate.requests", 10_000_000)
            out["replicas"] = parse_positive_int(out["replicas"], "simulate.replicas", 100_000)
            if isinstance(out["seed"], bool) or not isinstance(out["seed"], int) or out["seed"] < 0:
                raise InvalidInputError(f"simulate.seed: expected an integer >= 0, got {out['seed']!r}")
            if not isinstance(out["prefix_cache"], bool):
                raise InvalidInputError("simulate.prefix_cache: expected true or false")
        except TokenFrontierError as exc:
            self.add("simulate", str(exc))
        return out

    def conflicts(self, raw: dict[str, Any], ax: dict[str, Any]) -> None:
        cmds = set(ax["command"])
        if cmds and "simulate" not in cmds:
            for key in ("scheduling", "simulate"):
                if key in raw:
                    self.add(key, "applies to simulate cells only, and command has no 'simulate'")
            if any(w["kind"] != "closed" for w in ax["workloads"]):
                self.add("workloads", "kind poisson/gamma (open-loop arrivals) needs command 'simulate'")
        if cmds == {"simulate"} and "policies" in raw:
            self.add("policies", "applies to predict and frontier cells; simulate cells take 'scheduling'")
        if cmds == {"frontier"} and "tp" in raw:
            self.add("tp", "conflicts with command 'frontier', which searches every deployment; "
                     "drop tp or add command 'predict'")  # fmt: skip


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise InvalidInputError(f"expected a string id, got {v!r}")
    return v


def _choice(v: Any, valid: tuple[str, ...] | list[str], what: str) -> str:
    if v not in valid:
        raise InvalidInputError(f"{what} {v!r} is not supported; valid: {', '.join(valid)}")
    return str(v)


def _cells(ax: dict[str, Any], checker: _Checker) -> list[dict[str, Any]]:
    """Every cell of the grid, in a fixed order, duplicates (same hash) dropped."""
    cells: dict[str, dict[str, Any]] = {}
    sim_opts = ax["simulate"]
    for cmd in ax["command"]:
        if cmd == "frontier":
            per = itertools.product(ax["models"], ax["hardware"], ax["workloads"], ax["policies"],
                                    ax["weights"], ax["kv_dtype"], [None], [None])  # fmt: skip
        elif cmd == "predict":
            per = itertools.product(ax["models"], ax["hardware"], ax["workloads"], ax["policies"],
                                    ax["weights"], ax["kv_dtype"], ax["tp"], ax["concurrency"])  # fmt: skip
        else:
            per = itertools.product(ax["models"], ax["hardware"], ax["workloads"], ax["scheduling"],
                                    ax["weights"], ax["kv_dtype"], ax["tp"], ax["concurrency"])  # fmt: skip
        for model, hw, wl, pol, weights, kv, tp, conc in per:
            values: dict[str, Any] = {"command": cmd, "model": model, "hardware": hw, **wl,
                                      "weights": weights, "kv_dtype": kv, "tp": tp}  # fmt: skip
            if cmd == "simulate":
                values |= {"scheduling": pol, "policy": None, **sim_opts,
                           "concurrency": conc if wl["kind"] == "closed" else None}  # fmt: skip
            else:
                values |= {"policy": pol, "scheduling": None, "concurrency": conc}
            if cmd == "frontier":
                values["concurrencies"] = ax["frontier_concurrency"]
            h = cell_hash(values)
            cells.setdefault(h, values)
    if not cells:
        checker.add("grid", "has no cells")
    return [{"cell_hash": h, "cell_index": i, **v} for i, (h, v) in enumerate(cells.items())]
