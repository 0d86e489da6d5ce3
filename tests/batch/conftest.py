"""Helpers shared by the batch tests (as fixtures: with ``--import-mode=importlib`` test modules
cannot import each other)."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest


def _zip(members: dict[str, bytes | str], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _touch(p: Path, data: bytes | str = "x = 1\n") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


@pytest.fixture(scope="session")
def make_zip():
    """``make_zip({name: data}, symlink=None) -> bytes``: a zip built in memory (members deflated, names
    taken as given, so unsafe names stay unsafe); ``symlink`` adds a symbolic-link member of that name."""
    return _zip


@pytest.fixture(scope="session")
def touch():
    """``touch(path, data="x = 1\\n") -> path``: write a file, creating its folders."""
    return _touch
