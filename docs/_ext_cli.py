"""A Sphinx directive that prints the ``--help`` text of the ``sketchkit`` commands.

``.. sketchkit-help:: project`` renders ``sketchkit project --help`` as a literal
block, generated from the argument parser at build time, so the page never goes out
of date and nothing generated is committed.
"""

from __future__ import annotations

import argparse
import os

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx


def _help(command: str) -> str:
    from sketchkit.cli import _build_parser

    os.environ["COLUMNS"] = "88"  # argparse wraps to this width
    parser = _build_parser()
    if not command:
        return parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command].format_help()
    raise ValueError(f"no subcommand {command!r}")


class SketchkitHelp(Directive):
    optional_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        command = self.arguments[0] if self.arguments else ""
        text = _help(command)
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("sketchkit-help", SketchkitHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
