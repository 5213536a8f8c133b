"""Printing through a fake ``lp`` on PATH: the real subprocess path, no mocks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from printouts import send_to_printer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="lp is the POSIX path")


def fake_lp(bindir: Path, body: str) -> None:
    bindir.mkdir(exist_ok=True)
    script = bindir / "lp"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    p = tmp_path / "prints" / "r.pdf"
    p.parent.mkdir()
    p.write_bytes(b"%PDF-1.4 test")
    return p


def test_sends_to_named_printer(tmp_path, pdf, monkeypatch):
    log = tmp_path / "args.txt"
    fake_lp(tmp_path / "bin", f'printf "%s\\n" "$@" > "{log}"\necho "request id is HP-42 (1 file(s))"\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    out = send_to_printer(pdf, "HP")
    assert out.sent
    assert log.read_text().splitlines() == ["-d", "HP", str(pdf)]
    assert "HP-42" in out.message_zh


def test_default_printer_has_no_destination(tmp_path, pdf, monkeypatch):
    log = tmp_path / "args.txt"
    fake_lp(tmp_path / "bin", f'printf "%s\\n" "$@" > "{log}"\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    out = send_to_printer(pdf, None)
    assert out.sent and "默认打印机" in out.message_zh
    assert log.read_text().splitlines() == [str(pdf)]


def test_failing_lp_is_reported_and_file_kept(tmp_path, pdf, monkeypatch):
    fake_lp(tmp_path / "bin", 'echo "lp: The printer or class does not exist." >&2\nexit 1\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    out = send_to_printer(pdf, "nosuch")
    assert not out.sent
    assert "错误码 1" in out.message_zh and "does not exist" in out.message_zh
    assert str(pdf) in out.message_zh and pdf.is_file()


def test_missing_lp(tmp_path, pdf, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = send_to_printer(pdf, "HP")
    assert not out.sent and "未找到打印命令 lp" in out.message_zh and pdf.is_file()


def test_hanging_lp_times_out(tmp_path, pdf, monkeypatch):
    fake_lp(tmp_path / "bin", "exec /bin/sleep 10\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    out = send_to_printer(pdf, "HP", timeout=0.5)
    assert not out.sent and "没有响应" in out.message_zh and pdf.is_file()


def test_missing_file(tmp_path):
    out = send_to_printer(tmp_path / "gone.pdf", "HP")
    assert not out.sent and "不存在" in out.message_zh
