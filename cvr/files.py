"""Opening the files of a CVR source: regular files only, inside the source's folder, read in bounds.

An export is input from outside, so a reader opens nothing that is not a regular file (a device, a
FIFO or a socket would be read forever, or block), follows no symlink out of the folder it was
given, and never holds more of a file than a stated limit: an archive member is streamed and
refused once it inflates past `Limits.record_bytes` (an .xlsx part past `Limits.member_bytes`, checked
before the library that reads it inflates it), and so is one record (a JSON object, a ballot's XML
document) past `Limits.record_bytes`. The limits are settings (`TALLY_CVR_*`, docs/settings.md).
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import CvrError


@dataclass(frozen=True)
class Limits:
    member_bytes: int  # a part of an .xlsx workbook, inflated
    record_bytes: int  # one record: a JSON record or session, a ballot's XML document (a Hart .zip entry), a manifest
    csv_field_bytes: int  # one CSV field


@lru_cache(maxsize=1)
def limits() -> Limits:
    def number(name: str, default: int) -> int:
        value = os.environ.get(name)
        return int(value) if value not in (None, "") else default

    return Limits(
        member_bytes=number("TALLY_CVR_MEMBER_BYTES", 2 << 30),
        record_bytes=number("TALLY_CVR_RECORD_BYTES", 64 << 20),
        csv_field_bytes=number("TALLY_CVR_CSV_FIELD_BYTES", 1 << 20),
    )


def inside(path: Path, root: Path | None) -> Path:
    """`path` with every symlink resolved, refused when it does not exist or leaves `root`."""
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise CvrError(path, "", "", "no such file or directory") from None
    except OSError as exc:
        raise CvrError(path, "", "", exc.strerror or str(exc)) from None
    if root is not None and not real.is_relative_to(root.resolve()):
        raise CvrError(path, "", "", f"leaves the source folder {root} (through a symlink or `..`): not read")
    return real


def open_regular(path: Path, root: Path | None = None) -> BinaryIO:
    """The file for reading, once it is known to be a regular file inside `root`. Opened without
    blocking, so that a FIFO is refused instead of waited on, and checked on the open descriptor."""
    real = inside(path, root)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise CvrError(path, "", "", exc.strerror or str(exc)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CvrError(path, "", "", "is not a regular file (devices, FIFOs and sockets are never read)")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def folder(path: Path, root: Path | None = None) -> Path:
    real = inside(path, root)
    if not real.is_dir():
        raise CvrError(path, "", "", "is not a folder")
    return real


def entries(directory: Path, suffix: str = "", prefix: str = "") -> list[Path]:
    """The folder's files whose names match, in name order (symlinks among them are checked when opened)."""
    return sorted(p for p in directory.iterdir()
                  if p.name.startswith(prefix) and p.name.lower().endswith(suffix) and not p.is_dir())


def read_capped(handle: BinaryIO, limit: int, name: str, what: str) -> bytes:
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise CvrError(name, "", "", f"{what} is larger than {limit:,} bytes (TALLY_CVR_RECORD_BYTES): not read")
    return data


def members(archive: zipfile.ZipFile, name: str, suffix: str) -> Iterator[tuple[str, bytes]]:
    """Each member ending in `suffix`, in name order, read whole: at most `record_bytes`, whatever
    its header says (a member is streamed, so a forged size cannot make it inflate further)."""
    limit = limits().record_bytes
    for info in sorted((i for i in archive.infolist() if i.filename.lower().endswith(suffix)), key=lambda i: i.filename):
        where = f"{name}!{info.filename}"
        if info.file_size > limit:
            raise CvrError(where, "", "", f"inflates to {info.file_size:,} bytes, more than {limit:,} (TALLY_CVR_RECORD_BYTES): not read")
        try:
            with archive.open(info) as member:
                yield where, read_capped(member, limit, where, "the member")
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise CvrError(where, "", "", f"cannot be read from the archive: {exc}") from None


def check_inflated(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse an archive whose members would inflate past `member_bytes` (an .xlsx read by a library
    that inflates members itself, so their sizes are checked before it starts)."""
    limit = limits().member_bytes
    for info in archive.infolist():
        if info.file_size > limit:
            raise CvrError(f"{name}!{info.filename}", "", "",
                           f"inflates to {info.file_size:,} bytes, more than {limit:,} (TALLY_CVR_MEMBER_BYTES): not read")
