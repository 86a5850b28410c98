"""Atomic writes: whole files only, with the permissions a plain ``open()`` would give."""

from __future__ import annotations

import os
import stat

import pytest

from nsad_lib.util.atomic import atomic_write_bytes, atomic_write_text

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_umask_mode_not_mkstemp_private(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").read_text() == "{}"
    assert _mode(tmp_path / "a.json") == 0o644  # a shared registry stays readable


def test_umask_is_respected_and_restored(tmp_path):
    old = os.umask(0o077)
    try:
        atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
        assert os.umask(0o077) == 0o077  # unchanged by the write
    finally:
        os.umask(old)
    assert _mode(tmp_path / "b.bin") == 0o600
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"


def test_replacing_a_file_keeps_its_mode(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert _mode(path) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["c.txt"]  # no temporary file left
