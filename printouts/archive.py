"""The station's print archive: every PDF handed to a citizen is kept, written atomically."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from forms.problems import StationError

_UNSAFE = re.compile(r"[^0-9A-Za-z_\-]+")


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip("_") or "x"


def archive_pdf(home: Path, case_number: str | None, kind: str, pdf: bytes,
                when: datetime) -> Path:
    """Write ``pdf`` to ``home/prints/YYYY/MM/<case>-<kind>-<timestamp>.pdf`` and return the path.

    Temp file in the same folder + fsync + ``os.replace`` (+ fsync of the folder), so a power cut
    leaves either the whole file or none. An existing name is never overwritten (a reprint in the
    same microsecond gets a ``-2`` suffix). ``case_number`` None (the daily report) drops that part.
    """
    folder = Path(home) / "prints" / f"{when.year:04d}" / f"{when.month:02d}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StationError("archive_failed", f"无法创建打印存档目录 {folder}：{exc}") from exc
    stamp = when.strftime("%Y%m%d-%H%M%S-%f")
    stem = "-".join(([_safe(case_number)] if case_number else []) + [_safe(kind), stamp])
    target = folder / f"{stem}.pdf"
    n = 2
    while target.exists():
        target = folder / f"{stem}-{n}.pdf"
        n += 1
    tmp = folder / f".{target.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o640)
        try:
            view = memoryview(pdf)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        _fsync_dir(folder)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # the temp file is harmless; the error below is what matters
        raise StationError("archive_failed", f"打印文件存档失败（{target}）：{exc}") from exc
    return target


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open directories."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
