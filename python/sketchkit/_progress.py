"""Progress bars: ``tqdm`` when it is installed, nothing otherwise.

Every progress display of the package (``sketchkit project``, ``sketchkit select`` and
the selectors' ``verbose`` flag) goes through ``sketchkit._progress.progress``. The bar is
:class:`tqdm.auto.tqdm` on standard error: a text bar on a terminal, a widget in a
Jupyter notebook (with ``ipywidgets``), and **nothing** when standard error is not a
terminal (a pipe, a log file, CI), so redirected output holds no carriage returns.

``tqdm`` is an optional dependency (the ``cli`` extra: ``pip install sketchkit[cli]``).
Without it every bar is silently off: no output, no warning, no error, and the
computation is the same.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress", "tqdm_available"]


class _NoBar:
    """The bar used when progress is off or ``tqdm`` is missing: does nothing."""

    disable = True

    def update(self, n: int = 1) -> None:
        """Ignore ``n`` more units of work."""

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Ignore a status text."""

    def close(self) -> None:
        """Nothing to finish."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tqdm_class() -> Any:
    """``tqdm.auto.tqdm``, or None when tqdm is not installed (imported on first use)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def tqdm_available() -> bool:
    """Whether ``tqdm`` is installed, that is whether progress bars can be drawn.

    Returns
    -------
    bool
        True when ``import tqdm`` succeeds.
    """
    return _tqdm_class() is not None


def progress(total: int, *, enabled: bool = True, unit: str = "it", desc: str | None = None) -> Any:
    """A progress bar over ``total`` units of work on standard error.

    Parameters
    ----------
    total : int
        The number of units of work (rows, stages).
    enabled : bool, default=True
        False turns the bar off. When True the bar is drawn on a terminal or in a
        notebook, and left out when standard error is not a terminal (tqdm's
        ``disable=None``).
    unit : str, default="it"
        The name of one unit, shown in the rate.
    desc : str or None, default=None
        A label in front of the bar.

    Returns
    -------
    tqdm.tqdm or object
        A ``tqdm`` bar, or (progress off, tqdm not installed) an object with the
        same ``update``, ``set_postfix_str`` and ``close`` methods that does nothing.
    """
    if not enabled or sys.stderr is None:  # no stream at all (pythonw): nothing to draw on
        return _NoBar()
    tqdm = _tqdm_class()
    if tqdm is None:
        return _NoBar()
    return tqdm(
        total=int(total),
        unit=unit,
        desc=desc,
        file=sys.stderr,
        disable=None,
        dynamic_ncols=True,
        leave=True,
    )
