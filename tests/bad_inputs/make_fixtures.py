"""Write the fixture files of the bad-input corpus (``python tests/bad_inputs/make_fixtures.py``).

The files are committed; this script documents how each was made and rebuilds them.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "fixtures"
ROOT = HERE.parents[1]
MODELS = ROOT / "src" / "tokenfrontier" / "catalog" / "models"
MEASURED = ROOT / "src" / "tokenfrontier" / "catalog" / "measured" / "calibration.csv"


def random_bytes(n: int = 256) -> bytes:
    rng = random.Random(9)
    return b"\x80" + bytes(rng.randrange(256) for _ in range(n))  # 0x80 can never start UTF-8


def write(name: str, data: str | bytes) -> None:
    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def catalogs() -> None:
    chip = 'id = "wse-3x"\nextends = "wse-3"\n'
    write("catalog-random/x.toml", random_bytes())
    write("catalog-utf16/x.toml", (chip + "price_usd = 5\n").encode("utf-16"))
    write("catalog-utf16-nobom/x.toml", (chip + "price_usd = 5\n").encode("utf-16-le"))
    write("catalog-bom/x.toml", b"\xef\xbb\xbf" + (chip + "price_usd = 5\n").encode())  # legit
    write("catalog-extends-list/x.toml", 'id = "wse-3x"\nextends = ["cs-3"]\n')
    write("catalog-extends-number/x.toml", 'id = "wse-3x"\nextends = 3\n')
    write("catalog-id-table/x.toml", 'id = {a = 1}\nextends = "wse-3"\n')
    write("catalog-nan-flops/x.toml", chip + "[dense_flops_per_s]\nbf16 = nan\nfp16 = nan\nfp8 = nan\n")
    write("catalog-tiny-flops/x.toml", chip + "[dense_flops_per_s]\nbf16 = 1e-300\n")
    mem = 'memory = [{{name = "sram", capacity_bytes = {c}, bandwidth_bytes_per_s = {b}}}]\n'
    write("catalog-inf-memory/x.toml", chip + mem.format(c="inf", b="2.1e16"))
    write("catalog-inf-bandwidth/x.toml", chip + mem.format(c="4.4e10", b="inf"))
    write("catalog-zero-bandwidth/x.toml", chip + mem.format(c="4.4e10", b="0"))
    write("catalog-inf-price/x.toml", chip + "price_usd = inf\n")
    write("catalog-string-price/x.toml", chip + 'price_usd = "1e6"\n')
    write("catalog-bool-power/x.toml", chip + "board_power_w = true\n")
    write("catalog-fraction-2/x.toml", chip + "usable_memory_fraction = 2\n")
    write("catalog-tiny-scale-out/x.toml", chip + "scale_out_bytes_per_s = 1e-300\n")
    system = 'id = "cs-3x"\nextends = "cs-3"\n'
    write("catalog-system-zero-chips/x.toml", system + "chips = 0\n")
    write("catalog-system-fraction-chips/x.toml", system + "chips = 1.5\n")
    write("catalog-system-nan-power/x.toml", system + "power_w = nan\n")
    write("catalog-system-chip-number/x.toml", system + "chip = 3\n")
    write("catalog-tco-nan-pue/x.toml", 'id = "p"\nextends = "default"\npue = nan\n')
    write("catalog-tco-inf-server/x.toml", 'id = "p"\nextends = "default"\nserver_usd = inf\n')
    write("catalog-rental-inf/x.toml", "usd_per_chip_hour = { h100 = [1.0, inf] }\n")
    card = (ROOT / "src/tokenfrontier/catalog/prices/card-default.toml").read_text()
    write("catalog-card-nan/x.toml", card.replace("output = ", "output = nan #", 1))
    prof = (ROOT / "src/tokenfrontier/catalog/profiles/hopper-vllm.toml").read_text()
    write(
        "catalog-profile-nan/x.toml",
        prof.replace("bandwidth_efficiency = 0.", "bandwidth_efficiency = nan #"),
    )
    write("catalog-profile-empty-framework/x.toml", prof.replace('framework = "vllm"', 'framework = ""'))


def configs() -> None:
    base = json.loads((MODELS / "llama-3.1-8b.json").read_text())

    def cfg(name: str, **changes: object) -> None:
        write(name, json.dumps({**base, **changes}, indent=1))

    write("config-random.json", random_bytes())
    write("config-utf16.json", json.dumps(base).encode("utf-16"))
    write("config-bom.json", b"\xef\xbb\xbf" + json.dumps(base).encode())  # legit
    write("config-nan.json", json.dumps(base).replace('"hidden_size": 4096', '"hidden_size": NaN'))
    write(
        "config-inf.json",
        json.dumps(base).replace('"num_hidden_layers": 32', '"num_hidden_layers": Infinity'),
    )
    write("config-1e400.json", json.dumps(base).replace('"vocab_size": 128256', '"vocab_size": 1e400'))
    cfg("config-huge-hidden.json", hidden_size=1e15)
    cfg("config-heads-7-over-8.json", num_attention_heads=7, num_key_value_heads=8)
    cfg("config-hidden-not-multiple.json", hidden_size=4000, num_attention_heads=48, num_key_value_heads=8)
    cfg("config-string-layers.json", num_hidden_layers="32")
    cfg("config-bool-layers.json", num_hidden_layers=True)
    cfg("config-fraction-layers.json", num_hidden_layers=31.5)
    cfg("config-negative-vocab.json", vocab_size=-5)
    cfg("config-tied-string.json", tie_word_embeddings="yes")
    cfg("config-unknown-dtype.json", torch_dtype="int3")
    cfg("config-quant-list.json", quantization_config=[1])
    write("config-array.json", "[1, 2, 3]")
    write("config-truncated.json", json.dumps(base)[:100])


def measured() -> None:
    lines = MEASURED.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    fields = header.split(",")

    def row(i: int, **changes: str) -> str:
        r = next(csv.DictReader([header, rows[i]]))
        r.update(changes)
        buf = io.StringIO()
        csv.DictWriter(buf, fieldnames=fields, lineterminator="\n").writerow(r)
        return buf.getvalue().rstrip("\n")

    def table(name: str, body: list[str], encoding: str = "utf-8") -> None:
        write(name, ("\n".join([header, *body]) + "\n").encode(encoding))

    write("measured-random.csv", random_bytes())
    table("measured-utf16.csv", rows[:3], "utf-16")
    table("measured-bom.csv", rows[:3], "utf-8-sig")  # legit
    table("measured-concurrency.csv", [row(0, concurrency="0"), row(1, concurrency="-5"), rows[2]])
    table("measured-negative-tok-s.csv", [row(0, tok_s_per_user="-80"), rows[2]])
    table("measured-nan.csv", [row(0, tok_s_per_gpu="nan"), row(1, isl="inf"), rows[2]])
    table("measured-1e30.csv", [row(i, tok_s_per_user="1e30", tok_s_per_gpu="1e30",
                                    output_tok_s_per_gpu="1e30") for i in range(6)])  # fmt: skip
    table("measured-escape.csv", [row(i, framework="../../evil") for i in range(4)])
    table("measured-slash.csv", [row(i, framework="a/b") for i in range(4)])
    table("measured-header-only.csv", [])
    write("measured-missing-column.csv", "model,hardware\nllama-3.1-8b,h100\n")
    vllm = [i for i, r in enumerate(rows) if ",h100,vllm," in r][:3]
    table("measured-small.csv", [rows[i] for i in vllm] + [row(vllm[0], concurrency="-5")])


def deals() -> None:
    """Ramp tables and a price card lacking a token type (issue 12)."""
    write("ramp-negative.csv", "quarter,mw_online\n2026Q1,10\n2026Q2,-5\n")
    write("ramp-empty.csv", "# a ramp table with a header and no rows\nquarter,mw_online\n")
    write("ramp-unsorted.csv", "quarter,mw_online\n2026Q3,30\n2026Q2,20\n")
    card = (ROOT / "src/tokenfrontier/catalog/prices/card-default.toml").read_text()
    write("catalog-card-no-output/x.toml", card.replace("output = 8.75\n", "", 1))


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    catalogs()
    configs()
    measured()
    deals()
    print(f"wrote {sum(1 for p in OUT.rglob('*') if p.is_file())} files to {OUT}")
