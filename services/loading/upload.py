"""What the admin API does with an uploaded file once it is on disk: the same loads as the CLI.

An upload is a ballots file (the ballots format), a CVR file (ES&S, CDF, Clear Ballot, generic CSV), or
a .zip of a folder export (Dominion, Hart). A .zip is unpacked here before it is read, member by member:
regular files only (no symlinks, devices or directories that climb out: each name must stay inside
the folder), each member streamed and refused once it inflates past `TALLY_CVR_MEMBER_BYTES`, the
whole past `TALLY_UPLOAD_UNPACKED_BYTES`. Then the load is the CLI's: one batch, the same checks,
refusals and audit events.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

import models as m
from cvr.errors import ConfigError, CvrError
from cvr.files import limits
from services.loading.ballot_file import open_ballot_file
from services.loading.ballots import load_ballots
from services.loading.cvr import load_cvr
from services.loading.export import load_export
from services.loading.fields import LoadError

COPY_BLOCK = 1 << 20


@dataclass
class UploadReport:
    batch_id: int | None
    loaded: int
    stored_raw: int
    contests: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    areas: int = 0
    warnings: list[str] = field(default_factory=list)


def load_upload(session: Session, path: Path, election: m.Election, period: m.VotingPeriod, provider: str | None,
                contest: str | None, options: dict, unpacked_limit: int, allow_duplicate: bool = False,
                small_batch: bool = False) -> UploadReport:
    """Load the file at `path` into the period: a ballots file without `provider`, else a CVR."""
    if provider is None:
        ballots = open_ballot_file(path)
        if (ballots.election, ballots.period) != (election.key, period.name):
            raise LoadError(f"ballots: the file is for election {ballots.election!r}, period {ballots.period!r}; "
                            f"this is {election.key!r}, period {period.name!r}")
        report = load_ballots(session, election.key, period.name, ballots.texts(), source=path.name,
                              file_sha256=ballots.sha256, allow_duplicate=allow_duplicate, small_batch=small_batch)
        return UploadReport(report.batch_id, report.loaded, report.stored_raw, contests=sorted(report.by_contest))
    source = path
    if zipfile.is_zipfile(path):
        source = unpack(path, path.parent / "unpacked", unpacked_limit)
    elif provider == "dominion":
        raise LoadError("provider 'dominion': its export is a folder; upload it as a .zip")
    try:
        if contest:
            one = load_cvr(session, source, provider, election.key, contest, period.name, options, allow_duplicate,
                           small_batch)
            return UploadReport(one.batch_id, one.loaded, one.stored_raw, [one.contest], areas=len(one.areas),
                                warnings=one.notes.lines())
        whole = load_export(session, source, provider, election.key, period.name, options, allow_duplicate, small_batch)
    except (CvrError, ConfigError) as exc:
        raise LoadError(_without_folder(str(exc), path.parent)) from None
    return UploadReport(whole.batch_id, whole.loaded, whole.stored_raw, whole.contests, whole.created,
                        len(whole.areas), whole.notes.lines())


def _without_folder(message: str, folder: Path) -> str:
    """The error as the client sent the file: the server's scratch folder is not its business."""
    return message.replace(f"{folder}/unpacked/", "").replace(f"{folder}/", "")


def unpack(archive_path: Path, into: Path, unpacked_limit: int) -> Path:
    """The archive's regular files under `into`; the one folder they all sit in, if they do."""
    member_limit = limits().member_bytes
    total = 0
    into.mkdir()
    try:
        with zipfile.ZipFile(archive_path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name = _member_path(info)
                target = into.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    raise LoadError(f"upload: {name} appears twice in the archive: refused")
                size = 0
                with archive.open(info) as member, open(target, "xb") as out:
                    while block := member.read(COPY_BLOCK):
                        size, total = size + len(block), total + len(block)
                        if size > member_limit:
                            raise LoadError(f"upload: {name} inflates past {member_limit:,} bytes (TALLY_CVR_MEMBER_BYTES)")
                        if total > unpacked_limit:
                            raise LoadError(f"upload: the archive inflates past {unpacked_limit:,} bytes "
                                            "(TALLY_UPLOAD_UNPACKED_BYTES)")
                        out.write(block)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise LoadError(f"upload: not a readable .zip archive ({exc})") from None
    entries = list(into.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    mode = info.external_attr >> 16  # Unix mode, when the archive was made on Unix; its type bits may be unset
    if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        raise LoadError(f"upload: {info.filename} is not a regular file (a symlink or a device): refused")
    name = PurePosixPath(info.filename.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or not name.parts:
        raise LoadError(f"upload: {info.filename} would be written outside the archive's folder: refused")
    return name


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
