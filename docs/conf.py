"""Sphinx configuration of the sketchkit documentation (``scripts/build_docs.sh``).

Sphinx with numpydoc, because every public docstring is written in numpydoc style
with Sphinx roles (``:func:``, ``:class:``, ``.. math::``), which Sphinx's autodoc
renders as they are; myst-parser includes the README and the benchmark results
(Markdown) without copying them; the speed-up plots are drawn from the results files
at build time (``_ext_benchplots``) and the command-line help from the argument
parser (``_ext_cli``). Generated files go to ``docs/_generated`` and ``docs/_build``
(not committed). The build needs no network and no GPU.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))  # the local extensions _ext_cli and _ext_benchplots

import sketchkit  # noqa: E402 - the installed package (native module included)

project = "sketchkit"
author = "sketchkit developers"
copyright = "sketchkit developers"  # noqa: A001 - Sphinx's name
release = sketchkit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "_ext_cli",
    "_ext_benchplots",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# ---------------------------------------------------------------------- autodoc
autodoc_typehints = "none"  # the numpydoc sections give the types
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True}
autoclass_content = "class"

# ---------------------------------------------------------------------- numpydoc
numpydoc_show_class_members = False  # members are listed by autodoc's :members:
numpydoc_xref_param_type = False
numpydoc_class_members_toctree = False

# ---------------------------------------------------------------------- MyST
myst_heading_anchors = 4  # the README's "#performance"-style links
myst_enable_extensions = ["dollarmath"]
# The README and the benchmark results jump from "##" to "####" headings on purpose
# (a table per subsection): a style note, not a broken reference.
suppress_warnings = ["myst.header"]

# ---------------------------------------------------------------------- nitpicky
# Broken references to sketchkit's own objects fail the build (-n -W). References to
# other projects' objects are left unresolved instead of fetched (no intersphinx: the
# build must not need the network).
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(numpy|scipy|sklearn|imblearn|pandas|pyarrow|tqdm|os|csv|argparse|dask|distributed)"
        r"(\..*)?",
    ),
    (r"py:.*", r"(array_like|array-like|ndarray|int|float|bool|str|None|object)"),
]

# ---------------------------------------------------------------------- HTML
html_theme = os.environ.get("SKETCHKIT_DOCS_THEME", "alabaster")
html_title = f"sketchkit {release}"
html_static_path: list[str] = []
html_show_sourcelink = False


# ---------------------------------------------------------------------- setup
def _skip_foreign_members(app, what, name, obj, skip, options):  # noqa: ANN001, ARG001
    """Leave out members inherited from scikit-learn (``get_params``, ``set_output``,
    ...): their docstrings refer to scikit-learn's own documentation."""
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] in ("sklearn", "imblearn"):
        return True
    return None


def setup(app):  # noqa: ANN001, ANN201
    app.connect("autodoc-skip-member", _skip_foreign_members)
