"""One catalog for chips, systems, models, profiles and prices (issue 8, item 5)."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import assert_cli_error
from tokenfrontier.catalog import CATALOG_DIR, Catalog, default_catalog, kind_of, read_toml
from tokenfrontier.errors import CatalogError
from tokenfrontier.views.cli import main

MEASURED = CATALOG_DIR / "measured" / "calibration.csv"
BUNDLED_KINDS = {
    "chips": {"chip"},
    "systems": {"system"},
    "profiles": {"profile"},
    "prices": {"tco", "card", "rental"},
}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def small_csv(tmp_path: Path, n: int = 8) -> Path:
    lines = MEASURED.read_text().splitlines()
    rows = [r for r in lines[1:] if r.startswith("gpt-oss-120b,h100,vllm,")][:n]
    path = tmp_path / "small.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


@pytest.mark.parametrize("folder", sorted(BUNDLED_KINDS))
def test_bundled_files_classify_by_content_as_their_folder(folder):
    files = sorted((CATALOG_DIR / folder).glob("*.toml"))
    assert files
    for path in files:
        raw = read_toml(path)
        assert kind_of(path, raw) in BUNDLED_KINDS[folder] or "extends" in raw, path


def test_catalog_holds_profiles_and_prices():
    cat = default_catalog()
    assert "hopper-vllm" in cat.profiles and cat.profile("hopper-vllm").framework == "vllm"
    assert {"default", "cs-3-vendor-fleet", "cs-3-customer"} <= set(cat.tco_presets)
    assert cat.tco_presets["cs-3-customer"].data["system"] == "cs-3"  # extends resolved
    assert "default" in cat.price_cards
    assert cat.rental_rates["h100"] == (1.30, 1.69)


def test_tco_keys_are_the_tco_inputs():
    from tokenfrontier.catalog import TCO_KEYS
    from tokenfrontier.economics.tco import TcoInputs

    assert set(TCO_KEYS) == set(TcoInputs.model_fields)


def test_calibrate_out_dir_is_a_catalog_folder(capsys, tmp_path):
    csv = small_csv(tmp_path)
    out = tmp_path / "fitted"
    assert main(["calibrate", "--measured", str(csv), "--out", str(out)]) == 0
    capsys.readouterr()
    user = Catalog.load([out])
    fitted = read_toml(out / "hopper-vllm.toml")
    assert user.profiles["hopper-vllm"].step_overhead_s == fitted["step_overhead_s"]
    assert user.profiles["hopper-vllm"] != default_catalog().profiles["hopper-vllm"]

    def median_tpot_error(*extra: str) -> float:
        v = run_json(capsys, "validate", "--measured", str(csv), *extra)
        return v["summary"]["overall"]["tpot_ms"]["median_ape_pct"]

    # refitted on these very rows, the user's profile predicts them better than the bundled one
    assert median_tpot_error("--catalog", str(out)) < median_tpot_error()


def _user_profile(folder: Path, step_overhead_s: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    raw = (CATALOG_DIR / "profiles" / "hopper-vllm.toml").read_text()
    lines = [
        f"step_overhead_s = {step_overhead_s!r}" if line.startswith("step_overhead_s") else line
        for line in raw.splitlines()
    ]
    path = folder / "my-hopper.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_user_profile_changes_predict(capsys, tmp_path):
    base = default_catalog().profiles["hopper-vllm"].step_overhead_s
    _user_profile(tmp_path / "cat", base + 0.010)
    argv = ["predict", "llama-3.1-8b", "--on", "h100", "--isl", "1k", "--osl", "256", "--tp", "1"]
    argv += ["--framework", "vllm"]
    bundled = run_json(capsys, *argv)
    user = run_json(capsys, *argv, "--catalog", str(tmp_path / "cat"))
    assert user["profile"] == bundled["profile"] == "hopper-vllm"
    # 10 ms more per step (plus a little more prefill stall: a longer step admits more prompts)
    assert bundled["tpot_s"] + 0.010 <= user["tpot_s"] <= bundled["tpot_s"] + 0.0105


def test_environment_catalog_reaches_resolve_profile(monkeypatch, tmp_path):
    import tokenfrontier as tf
    from tokenfrontier.profiles import resolve_profile

    base = default_catalog().profiles["hopper-vllm"].step_overhead_s
    before = tf.predict("llama-3.1-8b", "h100", isl=1024, osl=256, tp=1, framework="vllm").tpot_s
    _user_profile(tmp_path / "cat", base + 0.010)
    monkeypatch.setenv("TOKENFRONTIER_CATALOG", str(tmp_path / "cat"))
    chip = default_catalog().chip("h100")
    assert resolve_profile(chip, "vllm").step_overhead_s == pytest.approx(base + 0.010)
    after = tf.predict("llama-3.1-8b", "h100", isl=1024, osl=256, tp=1, framework="vllm").tpot_s
    assert before + 0.010 <= after <= before + 0.0105  # + the stall of a longer step


def test_user_tco_preset_with_catalog(capsys, tmp_path):
    (tmp_path / "my-cs3.toml").write_text(
        'id = "my-cs3"\nextends = "cs-3-vendor-fleet"\nserver_usd = 2000000\nsources = ["test"]\n'
    )
    t = run_json(capsys, "tco", "cs-3", "--preset", "my-cs3", "--catalog", str(tmp_path))
    assert t["preset"] == "my-cs3"
    assert t["inputs"]["server_usd"] == 2_000_000 and t["inputs"]["power_kw"] == 30  # inherited
    assert_cli_error(capsys, ["tco", "cs-3", "--preset", "my-cs3"], "unknown TCO preset 'my-cs3'")


def test_user_rental_rates_and_card(tmp_path):
    from tokenfrontier.economics.pricing import hourly_rate, load_card

    (tmp_path / "rates.toml").write_text("[usd_per_chip_hour]\nh200 = [2.0, 3.0]\n")
    card = (CATALOG_DIR / "prices" / "card-default.toml").read_text().replace("8.75", "10.0")
    (tmp_path / "card.toml").write_text(card)
    cat = Catalog.load([tmp_path])
    rate = hourly_rate(cat.system("h200"), rental=True, catalog=cat)
    assert rate.usd_per_chip_hour == 2.5 and rate.basis == "rental"
    assert cat.rental_rates["h100"] == (1.30, 1.69)  # bundled rates kept
    assert load_card(catalog=cat).usd_per_mtok["output"] == 10.0
    assert load_card().usd_per_mtok["output"] == 8.75


def test_user_entries_override_by_id_and_extend_each_other(tmp_path):
    # a chip extending a user chip of the same folder, and a system on that chip
    (tmp_path / "b.toml").write_text('extends = "wse-3-x"\nid = "wse-3-y"\nname = "Y"\n')
    (tmp_path / "a.toml").write_text('extends = "wse-3"\nid = "wse-3-x"\nname = "X"\n')
    (tmp_path / "s.toml").write_text('extends = "cs-3"\nid = "cs-3-y"\nname = "CS-3 Y"\nchip = "wse-3-y"\n')
    # replace a bundled entry by extending it under its own id
    (tmp_path / "cs3.toml").write_text('extends = "cs-3"\nid = "cs-3"\npower_w = 40000\n')
    cat = Catalog.load([tmp_path])
    assert cat.chip("wse-3-y").name == "Y" and cat.chip("wse-3-y").family == "wse"
    assert cat.system("cs-3-y").chip.id == "wse-3-y"
    assert cat.system("cs-3").power_w == 40000
    assert default_catalog().system("cs-3").power_w == 30000


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('id = "x"\nname = "nothing"\n', "not a catalog entry"),
        ('id = "x"\nfamilies = ["hopper"]\nchip = "h100"\n', "ambiguous catalog entry"),
        ('id = "x"\nextends = "no-such-entry"\n', "extends 'no-such-entry'"),
        ('id = "x"\nframework = "vllm"\nfamilies = []\n', "invalid profile"),
        ('id = "x"\nextends = "default"\npue = 0.5\n', "invalid TCO preset"),
        ("[usd_per_chip_hour]\nh100 = [3.0, 1.0]\n", "usd_per_chip_hour.h100"),
        ('extends = "x"\n[usd_per_chip_hour]\nh100 = [1.0, 2.0]\n', "unknown key.*extends"),
        ('id = "c"\nextends = "default"\n[usd_per_mtok]\ninput = 1.0\n', "invalid price card"),
    ],
)
def test_bad_user_toml_names_the_file(tmp_path, text, needle):
    path = tmp_path / "entry.toml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=needle) as err:
        from tokenfrontier.economics.tco import load_presets

        load_presets(Catalog.load([tmp_path]))
    assert str(path) in str(err.value)


def test_copied_bundled_folders_load_as_a_user_catalog(tmp_path):
    for sub in ("chips", "systems", "profiles", "prices"):
        shutil.copytree(CATALOG_DIR / sub, tmp_path / sub)
    cat = Catalog.load([tmp_path])
    ref = default_catalog()
    assert cat.chips == ref.chips and cat.systems == ref.systems and cat.profiles == ref.profiles
    assert set(cat.tco_presets) == set(ref.tco_presets)


# A source a reader can look up: a public datasheet or publication and its date (issue 12 item 9),
# never one of the project's own documents.
_INTERNAL = re.compile(
    r"\bSPEC\b|SPEC\.md|\bissues?\b|\btasks?\b|\bbrief\b|calibration\.csv|\btokenfrontier\b", re.I
)
_YEAR = re.compile(r"\b(19|20)\d{2}\b")
_COMMIT = re.compile(r"@[0-9a-f]{40}\b")


def _catalog_sources() -> list[tuple[str, str]]:
    out = []
    for path in sorted(CATALOG_DIR.rglob("*.toml")):
        stack: list[object] = [read_toml(path)]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                out += [(path.name, s) for s in node.get("sources", [])]
                stack += [v for k, v in node.items() if k != "sources"]
            elif isinstance(node, list):
                stack += node
    for path in sorted(CATALOG_DIR.rglob("*.csv")):
        rows = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
        for row in csv.DictReader(rows):
            if row.get("source"):  # measured rows date themselves in a `date` column
                out.append((path.name, f"{row['source']} {row.get('date') or ''}".strip()))
    return out


def test_every_source_is_public_and_dated():
    sources = _catalog_sources()
    assert len(sources) > 40
    internal = [(f, s) for f, s in sources if _INTERNAL.search(s)]
    assert internal == [], "sources naming internal documents"
    # a git commit pin (repo@sha) dates itself; "reference node" is the scale's origin, not a figure
    dated = [(f, s) for f, s in sources if _YEAR.search(s) or _COMMIT.search(s) or s == "reference node"]
    undated = sorted(set(sources) - set(dated))
    assert undated == [], "sources without a year"


@pytest.mark.parametrize(
    "source", ["SPEC.md §5", "see issue 12", "calibration.csv", "the brief", "NVIDIA H100 datasheet"]
)
def test_the_source_rule_rejects_internal_or_undated(source):
    assert _INTERNAL.search(source) or not _YEAR.search(source)
