"""Find a data file on disk, or download it once, verified, without ever leaving half a file.

Where a file is looked for, in order:

1. the ``data_dir`` argument of the loader,
2. ``$COURSE_DATA_DIR``,
3. the user cache, ``$COURSE_CACHE_DIR`` or ``~/.cache/course_lib``.

In each folder a file is found either at ``<folder>/<subdir>/<name>`` (the layout of the
course's data folder: ``mnist/``, ``imdb/``) or directly at ``<folder>/<name>``. A file that is
nowhere is downloaded into the user cache (or ``data_dir`` when given) from its public mirrors,
with a progress bar, into a temporary file that is renamed only after its SHA-256 matched.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """A data file the course knows by name, checksum and public URLs (tried in order)."""
    name: str
    sha256: str
    urls: tuple[str, ...] = ()
    size: int | None = None


class DataError(RuntimeError):
    """A data file is missing, cannot be downloaded, or fails its checksum."""


def cache_dir() -> Path:
    """The user cache: ``$COURSE_CACHE_DIR`` or ``~/.cache/course_lib``."""
    env = os.environ.get("COURSE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "course_lib"


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for data files, in order."""
    dirs = [Path(data_dir).expanduser()] if data_dir is not None else []
    if os.environ.get("COURSE_DATA_DIR"):
        dirs.append(Path(os.environ["COURSE_DATA_DIR"]).expanduser())
    dirs.append(cache_dir())
    return dirs


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, spec: RemoteFile) -> Path:
    """Return ``path`` if its SHA-256 is ``spec.sha256``; raise :class:`DataError` otherwise."""
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise DataError(
            f"{path} is corrupt or not the expected file: its SHA-256 is\n  {actual}\n"
            f"but {spec.name} must have\n  {spec.sha256}\n"
            f"Delete it and load again to download a fresh copy, or replace it with the original "
            f"from {spec.urls[0] if spec.urls else 'the course data folder'}.")
    return path


def find_local(spec: RemoteFile, subdir: str, data_dir: str | os.PathLike | None = None
               ) -> Path | None:
    """The first existing copy of ``spec`` in the search folders (not yet verified), or None."""
    for folder in search_dirs(data_dir):
        for candidate in (folder / subdir / spec.name, folder / spec.name):
            if candidate.is_file():
                return candidate
    return None


def download(spec: RemoteFile, dest: Path, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download ``spec`` to ``dest`` from the first mirror that works; verified, atomic.

    The bytes go to a temporary file in ``dest``'s folder, which is renamed to ``dest`` only
    after the checksum matched: an interrupted or corrupt download leaves nothing behind.
    """
    from tqdm.auto import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in spec.urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.name}.", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                total = int(resp.headers.get("Content-Length") or 0) or spec.size
                with tqdm(total=total, unit="B", unit_scale=True, desc=spec.name,
                          disable=not progress, leave=False) as bar:
                    for block in iter(lambda: resp.read(CHUNK), b""):
                        out.write(block)
                        bar.update(len(block))
            verify(tmp, spec)
            os.replace(tmp, dest)
            return dest
        except (urllib.error.URLError, http.client.HTTPException, OSError, DataError, ValueError) as err:
            failures.append(f"  {url}: {err}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DataError(f"Could not download {spec.name}:\n" + "\n".join(failures))


def locate(files: Sequence[RemoteFile], subdir: str, data_dir: str | os.PathLike | None = None,
           download_missing: bool = True, progress: bool = True) -> list[Path]:
    """Return a verified local path for each of ``files``, downloading the missing ones.

    Raises :class:`DataError` naming every missing file, where to put it and which variable
    to set when a file is neither on disk nor downloadable.
    """
    found = {spec.name: find_local(spec, subdir, data_dir) for spec in files}
    missing = [spec for spec in files if found[spec.name] is None]
    target = (Path(data_dir).expanduser() if data_dir is not None else cache_dir()) / subdir
    errors = []
    if download_missing:
        for spec in missing:
            try:
                found[spec.name] = download(spec, target / spec.name, progress=progress)
            except DataError as err:
                errors.append(str(err))
    if any(path is None for path in found.values()):
        names = ", ".join(spec.name for spec in files if found[spec.name] is None)
        looked = "\n".join(f"  {d / subdir}" for d in search_dirs(data_dir))
        raise DataError(
            f"Missing data file(s): {names}\nLooked in:\n{looked}\n"
            + ("\n".join(errors) + "\n" if errors else "")
            + f"Put the file(s) in {target} (or any folder above), or point the course at a "
            f"folder holding '{subdir}/' with: export COURSE_DATA_DIR=/path/to/data")
    return [verify(found[spec.name], spec) for spec in files]


def locate_any(alternatives: Sequence[RemoteFile], subdir: str,
               data_dir: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Return the first of ``alternatives`` found on disk (verified), else download the first
    downloadable one. For data sets that exist in interchangeable packagings."""
    for spec in alternatives:
        if find_local(spec, subdir, data_dir) is not None:
            return locate([spec], subdir, data_dir, download_missing=False)[0]
    downloadable = [spec for spec in alternatives if spec.urls]
    return locate(downloadable[:1], subdir, data_dir, progress=progress)[0]


def derived_cache(source: Path, key: str) -> Path:
    """Where to keep an array file derived from ``source`` (e.g. parsed ``.npz``).

    Beside the source when that folder is writable, else in the user cache. ``key`` must
    change whenever the derivation does (include the source's checksum and any options).
    """
    name = f"{source.name}.{key}.npz"
    # Mode bits too: root passes os.access even on a folder marked read-only for sharing.
    if os.access(source.parent, os.W_OK) and source.parent.stat().st_mode & 0o222:
        return source.parent / name
    return cache_dir() / "derived" / name


def save_atomic_npz(path: Path, **arrays) -> None:
    """``np.savez`` to a temp file in the same folder, then rename: never a half-written cache."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
