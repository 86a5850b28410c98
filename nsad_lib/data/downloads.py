"""Download one file, verify it, and only then put it where loaders look.

Bytes go to a temporary file in the destination folder, the sha256 (or, where no checksum is
published, the exact size) is checked while streaming, and the file is renamed into place only
when it passed: a half-downloaded or wrong file never sits under a name a loader trusts.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nsad_lib.errors import DataError

__all__ = ["Download", "fetch"]

USER_AGENT = "nsad-lib (dataset downloader; +https://github.com/)"
CHUNK = 1 << 16


@dataclass(frozen=True)
class Download:
    """One remote file: where it lives and how to know it is the right one.

    ``member`` names a file inside a zip archive to extract; ``sha256``/``size`` then describe
    the member. A download with neither checksum nor size is refused: unverifiable bytes are not
    worth keeping.
    """

    url: str
    filename: str
    sha256: str | None = None
    size: int | None = None
    member: str | None = None


def _stream(response: BinaryIO, out: BinaryIO, total: int | None, label: str, progress: bool) -> str:
    digest = hashlib.sha256()
    if progress:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task(label, total=total)
            while block := response.read(CHUNK):
                out.write(block)
                digest.update(block)
                bar.advance(task, len(block))
    else:
        while block := response.read(CHUNK):
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, digest: str, spec: Download, url: str) -> None:
    if spec.sha256 is not None and digest != spec.sha256:
        raise DataError(f"download of {url} has sha256 {digest}, expected {spec.sha256}; "
                        f"the file was not kept")
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        raise DataError(f"download of {url} has {size} bytes, expected {spec.size}; the file was not kept")


def _extract_member(archive: Path, spec: Download, url: str) -> Path:
    """Pull ``spec.member`` out of a downloaded zip into a temporary file beside it."""
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(spec.member or "") as src:
            fd, name = tempfile.mkstemp(dir=archive.parent, prefix=".nsad-", suffix=".part")
            with os.fdopen(fd, "wb") as out:
                digest = hashlib.sha256()
                while block := src.read(CHUNK):
                    out.write(block)
                    digest.update(block)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"download of {url}: no member {spec.member!r} in the zip ({exc})") from exc
    part = Path(name)
    try:
        _verify(part, digest.hexdigest(), spec, f"{url} (member {spec.member})")
    except DataError:
        part.unlink(missing_ok=True)
        raise
    return part


def fetch(spec: Download, dest_dir: str | Path, url: str | None = None, progress: bool = True,
          timeout: float = 60.0) -> Path:
    """Download ``spec`` into ``dest_dir/spec.filename`` and return that path.

    ``url`` overrides ``spec.url`` (a mirror, or a local server in tests). Failures raise a
    ``DataError`` that says what to do without network.
    """
    if spec.sha256 is None and spec.size is None:
        raise DataError(f"refusing to download {spec.url}: nothing to verify it against")
    url = url or spec.url
    dest_dir = Path(dest_dir)
    dest = dest_dir / spec.filename
    hint = f"place {spec.filename} in {dest_dir} or set NSAD_DATA_DIR to a folder holding it"
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot download {url}: cannot create {dest_dir} ({exc}); {hint}") from exc
    fd, name = tempfile.mkstemp(dir=dest_dir, prefix=".nsad-", suffix=".part")
    part = Path(name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            digest = _stream(response, out, total, f"downloading {spec.filename}", progress)
        if spec.member is None:
            _verify(part, digest, spec, url)
            final = part
        else:
            final = _extract_member(part, spec, url)
            part.unlink(missing_ok=True)
        os.replace(final, dest)
    except DataError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            reason: object = f"HTTP {exc.code} {exc.reason}"
        else:
            reason = getattr(exc, "reason", None) or exc
        raise DataError(f"cannot download {url}: {reason}; {hint}") from exc
    finally:
        part.unlink(missing_ok=True)
    return dest
