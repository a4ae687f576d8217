"""File I/O every package shares: atomic writes, strict JSON, safe YAML/JSON reading, output checks.

- Writes go to a temporary file beside the target and are renamed over it: a reader never sees half a
  file, and a failed write (full disk, kill) leaves the old file as it was.
- JSON is strict: NaN and Infinity are written as null, never as the non-standard tokens.
- YAML is read with PyYAML's safe loader (plain data only, no Python objects) and without aliases
  (``*name``), which no condnet file needs and which make "billion laughs" documents possible; numbers
  such as ``1e-3`` are numbers (plain YAML 1.1 reads them as strings).
- Output paths are checked before any work starts: no overwrite without ``force``, never the file a
  command is reading, no directory where a file goes, and a writable parent.
"""

import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml

from condnet.errors import CondnetError, RunDirError

MAX_TEXT_BYTES = 16 * 2**20  # configs and hierarchies are small; a larger file is not one of them
MAX_NESTING = 100  # deeper YAML/JSON nesting than any config or class tree (32 levels) needs


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary file beside ``path`` (name ``.<name>.<random>.tmp<suffix>``) to write and check; on
    success it is renamed over ``path`` (permissions as for a plain ``open``, i.e. 0666 minus the umask), on
    failure deleted: readers never see half a file, and a refused result never appears."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; renamed over ``path`` on success (see
    :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, mode) as handle:
        yield handle


def remove_temp_files(folder: Path) -> list[Path]:
    """Delete the temporary files an interrupted :func:`atomic_file` left in ``folder``; returns them."""
    leftovers = [p for p in Path(folder).glob(".*.tmp*") if p.is_file()] if Path(folder).is_dir() else []
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file via a temporary file and a rename."""
    with atomic_file(Path(path)) as handle:
        handle.write(text)


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN or Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def json_text(value: Any, indent: int | None = None) -> str:
    """Strict JSON text of ``value`` (non-finite floats as null)."""
    return json.dumps(strict_json(value), indent=indent, allow_nan=False)


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"YAML aliases (*name) are not supported (line {mark.line + 1}); "
                                 "write the value out in full")
        return super().compose_node(parent, index)


# YAML 1.1 reads 1e-3 (no dot) as a string; every user means the number.
_NoAliasLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of lists and mappings, stopping early past ``limit``."""
    stack, deepest = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack += [(v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


def parse_yaml_text(text: str, what: str) -> Any:
    """Parse YAML text (safe loader, no aliases, bounded nesting); errors name ``what``."""
    try:
        value = yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass: plain data only
    except yaml.YAMLError as exc:
        raise CondnetError(f"{what} is not valid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise CondnetError(f"{what} nests deeper than {MAX_NESTING} levels; no condnet file does") from None
    if _depth(value, MAX_NESTING) > MAX_NESTING:
        raise CondnetError(f"{what} nests deeper than {MAX_NESTING} levels; no condnet file does")
    return value


def read_text_file(path: str | Path, what: str) -> str:
    """The UTF-8 text of a small file; clear errors for missing, oversized, unreadable or non-UTF-8 files."""
    path = Path(path)
    if not path.is_file():
        raise CondnetError(f"{what} {path} not found{' (it is a directory)' if path.is_dir() else ''}")
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise CondnetError(f"{what} {path} is {size:,} bytes, more than the {MAX_TEXT_BYTES:,} a {what} may "
                           "have; pass the right file")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CondnetError(f"{what} {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise CondnetError(f"cannot read {what} {path}: {exc.strerror}") from None


def read_data_file(path: str | Path, what: str) -> Any:
    """A small YAML (or, by suffix ``.json``, JSON) file's content, read safely (see module docstring)."""
    path = Path(path)
    text = read_text_file(path, what)
    if path.suffix != ".json":
        return parse_yaml_text(text, f"{what} {path}")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise CondnetError(f"{what} {path} is not valid JSON: {reason}") from None
    if _depth(value, MAX_NESTING) > MAX_NESTING:
        raise CondnetError(f"{what} {path} nests deeper than {MAX_NESTING} levels; no condnet file does")
    return value


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_file(path: str | Path, force: bool = False, reading: Iterable[str | Path] = (),
                      option: str = "--out") -> Path:
    """Refuse an output path before any work: an existing file without ``force``, a file the command
    reads, a directory, or a location that cannot be written. Returns the path."""
    path = Path(path)
    for source in reading:
        source = Path(source)
        sources = [source, *source.rglob("*")] if source.is_dir() else [source]
        if any(_same_file(path, s) for s in sources):
            raise RunDirError(f"{option} {path} is a file this command reads; write the output elsewhere")
    if path.is_dir():
        raise RunDirError(f"{option} {path} is a directory; give a file name")
    if path.exists() and not force:
        raise RunDirError(f"{option} {path} already exists; "
                          "pass --force to replace it or choose another path")
    check_writable_dir(path.parent, option)
    return path


def check_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Refuse an output directory that is a file or cannot be created or written. Returns the path."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{option} {path} is a file, not a directory; choose a directory path")
    check_writable_dir(path, option)
    return path


def check_writable_dir(folder: Path, option: str) -> None:
    """The nearest existing ancestor of ``folder`` must be a writable directory."""
    existing = Path(folder).absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise RunDirError(f"{option}: {existing} is a file, so {folder} cannot be created; "
                          "choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunDirError(f"{option}: {existing} is not writable; choose a location you can write to")
