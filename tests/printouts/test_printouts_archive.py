"""The print archive: atomic writes under home/prints/YYYY/MM/."""

from __future__ import annotations

from datetime import datetime

import pytest

from printouts import archive_pdf, render, samples
from forms.problems import StationError


def test_archive_layout_and_content(tmp_path):
    pdf = render(samples.case(), "receipt")
    when = datetime(2026, 3, 15, 9, 30, 5, 123456)
    path = archive_pdf(tmp_path, samples.SAMPLE_CASE, "receipt", pdf, when)
    assert path == (tmp_path / "prints" / "2026" / "03" /
                    f"{samples.SAMPLE_CASE}-receipt-20260315-093005-123456.pdf")
    assert path.read_bytes() == pdf
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_same_moment_never_overwrites(tmp_path):
    when = datetime(2026, 3, 15, 9, 30)
    a = archive_pdf(tmp_path, "C1", "notice", b"%PDF-first", when)
    b = archive_pdf(tmp_path, "C1", "notice", b"%PDF-second", when)
    assert a != b and a.read_bytes() == b"%PDF-first" and b.read_bytes() == b"%PDF-second"


def test_daily_report_without_case_and_unsafe_names(tmp_path):
    when = datetime(2026, 12, 31, 18, 0)
    p = archive_pdf(tmp_path, None, "daily", b"%PDF", when)
    assert p.parent == tmp_path / "prints" / "2026" / "12" and p.name.startswith("daily-2026")
    q = archive_pdf(tmp_path, "../../etc/x", "receipt", b"%PDF", when)
    assert q.parent == p.parent


def test_unwritable_home_is_a_station_error(tmp_path):
    blocker = tmp_path / "home"
    blocker.write_text("not a folder")
    with pytest.raises(StationError) as e:
        archive_pdf(blocker, "C1", "receipt", b"%PDF", datetime(2026, 1, 1))
    assert e.value.code == "archive_failed"
