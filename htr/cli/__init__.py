"""The `htr` command: a thin layer over the library. Each subcommand lives in its own module
with a `register(subparsers)` that adds its parser and sets `func` to run it."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Subcommand modules, in the order `htr --help` lists them.
COMMANDS = ["read", "data", "train", "eval", "calibrate", "export", "lm", "serve"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="htr", description="Handwritten text recognition.")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"htr.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.own_process = argv is None   # a command may re-run itself (train) only if it owns the process
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:  # our errors say what went wrong and with which item
        print(f"htr: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
