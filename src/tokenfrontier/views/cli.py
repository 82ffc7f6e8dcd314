"""The ``tokenfrontier`` command line. Human tables by default, ``--json`` on every command.

Bad input prints one line ``tokenfrontier: error: ...`` on stderr and exits with status 2.
Only argparse is imported at start-up so ``--help`` is instant; the core loads per command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = ["main"]

WEIGHTS = ("bf16", "fp16", "fp8", "int8", "fp4", "mxfp4", "native")
KV = ("bf16", "fp16", "fp8", "int8", "fp4")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def _common() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument("--json", action="store_true", help="print JSON (SI units)")
    p.add_argument(
        "--catalog",
        action="append",
        default=[],
        metavar="PATH",
        help="extra catalog TOML/config.json file or folder (repeatable)",
    )
    return p


def _model_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    p.add_argument("--kv-dtype", default="bf16", choices=KV, help="KV-cache dtype")
    p.add_argument(
        "--full-attention",
        action="store_true",
        help="ignore sliding/chunked windows (the published-table convention)",
    )


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(
        prog="tokenfrontier",
        description="LLM inference footprint, deployment and roofline on GPUs and SRAM machines.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("models", parents=[common], help="list catalog models")
    sub.add_parser("hardware", parents=[common], help="list catalog chips and systems")

    p = sub.add_parser("footprint", parents=[common], help="parameters, weight and KV bytes")
    _model_opts(p)
    p.add_argument(
        "--context",
        nargs="+",
        default=["128k"],
        metavar="N",
        help="contexts in tokens (8192, 128k = 128,000, 128Ki = 131,072)",
    )

    p = sub.add_parser("deploy", parents=[common], help="systems needed for one model copy")
    _model_opts(p)
    p.add_argument("--on", required=True, metavar="SYSTEM", help="system or chip id")
    p.add_argument("--context", default="8192", metavar="N", help="context per sequence")
    p.add_argument("--systems", type=int, metavar="N", help="use exactly N systems")

    p = sub.add_parser("roofline", parents=[common], help="ridge point per chip and dtype")
    p.add_argument("--dtype", help="one dtype (default: every native dtype)")
    p.add_argument("--chips", nargs="+", metavar="CHIP", help="only these chips")

    p = sub.add_parser("gemm", parents=[common], help="GEMM arithmetic intensity per chip")
    for dim in ("M", "N", "K"):
        p.add_argument(dim.lower(), metavar=dim, help=f"GEMM dimension {dim}")
    p.add_argument("--dtype", default="fp8", help="operand dtype (default fp8)")
    p.add_argument("--chips", nargs="+", metavar="CHIP", help="only these chips")

    sub.add_parser(
        "reproduce", parents=[common], help="SPEC's published tables vs their stated methods"
    )
    return parser


def _int(text: str, name: str) -> int:
    from ..units import parse_positive_int

    return parse_positive_int(text, name, limit=10**7)


def _run(args: argparse.Namespace) -> Any:
    from .. import api
    from ..catalog import default_catalog

    cat = default_catalog().with_paths(args.catalog) if args.catalog else None
    commands: dict[str, Callable[[], Any]] = {
        "models": lambda: api.models(cat),
        "hardware": lambda: api.hardware(cat),
        "footprint": lambda: api.footprint(
            args.model, args.weights, args.kv_dtype, args.context, args.full_attention, cat
        ),
        "deploy": lambda: api.deploy(
            args.model,
            args.on,
            args.weights,
            args.kv_dtype,
            args.context,
            args.full_attention,
            args.systems,
            cat,
        ),
        "roofline": lambda: api.roofline(args.dtype, args.chips, cat),
        "gemm": lambda: api.gemm(
            _int(args.m, "M"), _int(args.n, "N"), _int(args.k, "K"), args.dtype, args.chips, cat
        ),
        "reproduce": lambda: api.reproduce(cat),
    }
    return commands[args.command]()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..errors import TokenFrontierError

    try:
        result = _run(args)
    except TokenFrontierError as exc:
        sys.stderr.write(f"tokenfrontier: error: {exc}\n")
        return 2
    out = result.to_json() if args.json else str(result)
    sys.stdout.write(out + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
