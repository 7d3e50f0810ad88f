"""The `ds1ray` command line: one sub-command module per area, wired here.

Each module in `COMMAND_MODULES` exposes `register(subparsers)`, which adds its
sub-commands and binds each to a function taking the parsed arguments and
returning an exit code. Errors meant for the user are raised as
`ds1ray.errors.UserError` and printed as one line, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ds1ray.errors import UserError

COMMAND_MODULES: tuple[str, ...] = ("ds1ray.config.cli", "ds1ray.run_command", "ds1ray.sweep.cli", "ds1ray.store.cli",
                                     "ds1ray.report.cli", "ds1ray.tune.cli", "ds1ray.live.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ds1ray",
        description="Simulate and run DS1, an autonomous dropshipping business, on Ray.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except UserError as error:
        print(f"ds1ray {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"ds1ray {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`ds1ray run | head`): stop quietly, as Unix tools do.
        sys.stdout = None
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
