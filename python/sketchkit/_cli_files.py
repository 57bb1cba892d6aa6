"""Files of the command line: output checks and all-or-nothing output.

Every command that writes a file goes through :func:`output_file`: the result is
written to a temporary file beside the target and moved over the target with
:func:`os.replace` only once it is complete, so that an error or an interrupt (an
error in a later chunk, Ctrl-C) leaves a pre-existing output untouched and no new or
partial file behind. :func:`check_distinct` refuses an output that is the same file
as an input, compared as real files (symbolic and hard links included).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable, Iterator

__all__ = ["CliError", "check_distinct", "check_output", "output_file"]


class CliError(Exception):
    """An error reported to the user with exit status 2."""


def _same_file(a: str, b: str) -> bool:
    """Whether paths ``a`` and ``b`` name the same file (after links, or same inode)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def check_distinct(output: str, inputs: Iterable[str], what: str = "output file") -> None:
    """Refuse an ``output`` that is the same file as one of ``inputs``.

    Parameters
    ----------
    output : str
        The path to be written.
    inputs : iterable of str
        Paths that are read and must never be overwritten.
    what : str, default="output file"
        How the error message names ``output``.

    Raises
    ------
    CliError
        If ``output`` and an input are the same file, through a symbolic link, a hard
        link or the same path spelled differently.
    """
    for path in inputs:
        if _same_file(output, path):
            raise CliError(
                f"{what} {output!r} is the same file as the input {path!r}: "
                "the output must differ from the input"
            )


def check_output(path: str) -> None:
    """Check that ``path`` can be an output file: its directory exists and it is not a
    directory. Writability is found when :func:`output_file` creates its temporary file.

    Parameters
    ----------
    path : str
        The output path given on the command line.

    Raises
    ------
    CliError
        If the directory of ``path`` does not exist or ``path`` is a directory.
    """
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise CliError(f"output {path!r} is a directory")
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        shown = parent if os.path.islink(path) else os.path.dirname(path) or "."
        raise CliError(f"output directory {shown!r} does not exist")


def _create_temporary(target: str, suffix: str) -> str:
    """Create an empty, new file beside ``target`` and return its path.

    The name ends in ``suffix`` (NumPy and SciPy append their extension otherwise);
    the file gets the mode a new file gets (``0o666`` less the umask), or the mode of
    ``target`` when it exists.
    """
    parent, name = os.path.split(target)
    for _ in range(100):
        tmp = os.path.join(parent, f".{name}.{secrets.token_hex(4)}.tmp{suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        with contextlib.suppress(OSError):  # a new target: the mode os.open gave
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        return tmp
    raise FileExistsError(f"no free temporary name beside {target!r}")  # pragma: no cover


@contextlib.contextmanager
def output_file(path: str, suffix: str = "") -> Iterator[str]:
    """Write ``path`` all at once: yield a temporary path to write the result to.

    On normal exit the temporary file replaces ``path`` (through symbolic links: the
    file a link points to is replaced, the link stays). On any exception, including
    :class:`KeyboardInterrupt`, the temporary file is removed and ``path`` is left as
    it was.

    Parameters
    ----------
    path : str
        The output path given on the command line (checked by :func:`check_output`).
    suffix : str, default=""
        Extension the temporary file's name ends in (``".npy"``, ``".npz"``).

    Yields
    ------
    str
        The temporary file, created empty, in the directory of ``path``'s real file.

    Raises
    ------
    CliError
        If the temporary file cannot be created (an unwritable directory) or cannot be
        moved over ``path``.
    """
    target = os.path.realpath(path)
    try:
        tmp = _create_temporary(target, suffix)
    except OSError as exc:
        raise CliError(f"cannot write {path!r}: {exc.strerror or exc}") from exc
    try:
        yield tmp
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise CliError(f"cannot write {path!r}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
