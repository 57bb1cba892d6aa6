"""Speed-up plots drawn from the committed benchmark results at build time.

For each ``benches/<name>.md`` listed in :data:`PLOTS`, the Markdown table with the
columns ``workload``, ``peer`` and ``speed-up`` is parsed and drawn as a horizontal
bar chart (log scale, one bar per row, a line at 1×) into
``docs/_generated/speedup_<name>.png``, which the page ``docs/benches/<name>.md``
shows above the table. The images are build outputs: never committed, redrawn from
the results files on every build, so a plot cannot disagree with its table.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

#: The result files that get a plot, by name under ``benches/``.
PLOTS = ("results", "results_fwht", "results_linalg")

_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*×")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_table(text: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table of ``text`` that has a ``speed-up`` column."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        if not line.lstrip().startswith("|"):
            continue
        header = _cells(line)
        if "speed-up" not in header:
            continue
        rows = []
        for body in lines[i + 2 :]:
            if not body.lstrip().startswith("|"):
                break
            cells = _cells(body)
            if len(cells) == len(header):
                rows.append(dict(zip(header, cells, strict=True)))
        return rows
    return []


def speedup(cell: str) -> tuple[float, str] | None:
    """``"**12.1×**"`` -> ``(12.1, "12.1×")``; ``"**≥ 32.4×**"`` -> ``(32.4, "≥ 32.4×")``
    (a lower bound); None when the cell holds no speed-up."""
    match = _NUMBER.search(cell)
    if match is None:
        return None
    bound = "≥ " if "≥" in cell[: match.start()] else ""
    return float(match.group(1)), f"{bound}{match.group(1)}×"


def _label(row: dict[str, str]) -> str:
    threads = row.get("sketchkit threads")
    what = row["workload"]
    if threads:
        what += f" [{threads} thread{'' if threads == '1' else 's'}]"
    text = f"{what} vs {row['peer']}".replace("`", "").replace("**", "")
    return "\n".join(textwrap.wrap(text, 60))


def draw(name: str, source: Path, target: Path) -> None:
    """Draw the speed-up chart of ``source`` into the PNG file ``target``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows = [r for r in parse_table(source.read_text(encoding="utf-8")) if "workload" in r]
    points = [(_label(r), s) for r in rows if (s := speedup(r.get("speed-up", ""))) is not None]
    if not points:
        raise ExtensionError(f"{source}: no table with workload, peer and speed-up columns")
    labels = [label for label, _ in points]
    values = [value for _, (value, _) in points]
    texts = [text for _, (_, text) in points]
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.2 * lines + 0.12 * len(labels)))
    ypos = list(range(len(values)))[::-1]
    colors = ["#2a7ab9" if v >= 1 else "#c0504d" for v in values]
    ax.barh(ypos, values, color=colors, height=0.7)
    ax.set_yticks(ypos, labels, fontsize=7)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}×"))
    ax.axvline(1.0, color="black", linewidth=0.8)
    for y, v, text in zip(ypos, values, texts, strict=True):
        ax.annotate(
            text, (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7
        )
    ax.set_xlabel("speed-up of sketchkit over the peer (log scale; right of 1×: sketchkit faster)")
    ax.set_title(f"benches/{name}.md", fontsize=9)
    ax.margins(x=0.12, y=0.02)
    fig.subplots_adjust(left=0.42, right=0.97)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=100, bbox_inches="tight")
    plt.close(fig)


def _draw_all(app: Sphinx) -> None:
    docs = Path(app.srcdir)
    for name in PLOTS:
        draw(
            name,
            docs.parent / "benches" / f"{name}.md",
            docs / "_generated" / f"speedup_{name}.png",
        )


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("builder-inited", _draw_all)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
