"""The ``nnrs`` command line (``nnrs <command> ...`` or ``python -m nnrs.cli <command> ...``).

Commands:

- ``nnrs info [--json]``: version, available backends, threads, SIMD level, numpy and
  Python versions.

Adding a command takes one function: decorate it with ``@command(name, help)``; it gets
the argparse sub-parser to add its options to, and returns the function that runs the
command (``args -> exit code``)::

    @command("hello", "say hello")
    def _hello(parser):
        parser.add_argument("--name", default="world")

        def run(args):
            print(f"hello {args.name}")
            return 0

        return run
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

# name -> (help, setup(parser) -> run(args) -> int), in the order the commands were declared
_COMMANDS: dict = {}


def command(name: str, help: str):
    """Register a subcommand (see the module docstring)."""

    def register(setup):
        _COMMANDS[name] = (help, setup)
        return setup

    return register


def collect_info() -> dict:
    """What ``nnrs info`` reports, as a dict."""
    import numpy as np

    from . import _core, backend

    return {
        "version": _core.__version__,
        "backends": backend.available(),
        "threads": int(_core.get_num_threads()),
        "simd": str(_core.simd_level()),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@command("info", "show the nnrs version, backends, threads and SIMD level")
def _info(parser):
    parser.add_argument("--json", action="store_true", help="print the information as JSON")

    def run(args):
        info = collect_info()
        if args.json:
            print(json.dumps(info, indent=2))
            return 0
        rows = [
            ("nnrs", info["version"]),
            ("backends", ", ".join(info["backends"]) or "(none)"),
            ("threads", info["threads"]),
            ("simd", info["simd"]),
            ("numpy", info["numpy"]),
            ("python", info["python"]),
            ("platform", info["platform"]),
        ]
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
        return 0

    return run


def build_parser() -> argparse.ArgumentParser:
    from . import _core

    parser = argparse.ArgumentParser(prog="nnrs", description="nnrs: deep learning with Rust CPU kernels.")
    parser.add_argument("--version", action="version", version=f"nnrs {_core.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, (help_, setup) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_run=setup(p))
    return parser


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
