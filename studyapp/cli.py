"""Command line: `studyapp` launches the app; subcommands do one thing and exit.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets
`func(args) -> exit code`. Add a module to SUBCOMMAND_MODULES to add a subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from studyapp import __version__

SUBCOMMAND_MODULES = [
    "studyapp.shell.screenshot",
    "studyapp.review.cli",  # notes, stats
]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="where your review history, settings and trained models live "
                             "(default: $STUDYAPP_DATA_DIR, else the platform's user data folder)")
    common.add_argument("--notes", type=Path, default=argparse.SUPPRESS,
                        help="a notes file to study (default: the bundled deck)")
    parser = argparse.ArgumentParser(
        prog="studyapp", parents=[common],
        description="Study 'Build a Large Language Model (From Scratch)': flashcards from your "
                    "notes and live labs running a bundled GPT.")
    parser.add_argument("--version", action="version", version=f"studyapp {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(name)
        before = set(subparsers.choices)
        module.register(subparsers)
        for added in set(subparsers.choices) - before:
            # Common options are accepted after the subcommand too.
            for action in common._actions:
                if action.option_strings and not any(
                        s in subparsers.choices[added]._option_string_actions
                        for s in action.option_strings):
                    subparsers.choices[added]._add_action(action)
    return parser


def run(argv: list[str] | None = None) -> int:
    """Parse and run; returns the exit code (the GUI's, or the subcommand's)."""
    args = build_parser().parse_args(argv)
    args.data_dir = getattr(args, "data_dir", None)
    args.notes = getattr(args, "notes", None)
    if args.notes is not None and not args.notes.is_file():
        what = ("is a folder, not a notes file" if args.notes.is_dir() else
                "is not a regular file (a pipe, device or socket)" if args.notes.exists() else
                "no such notes file")
        print(f"studyapp: {args.notes}: {what}", file=sys.stderr)
        return 2
    try:
        if args.command is None:
            from studyapp.paths import resolve_data_dir
            from studyapp.shell.app import run_gui

            return run_gui(resolve_data_dir(args.data_dir), args.notes)
        return args.func(args)
    except OSError as exc:
        print(f"studyapp: {exc}", file=sys.stderr)
        return 1
