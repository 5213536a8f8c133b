"""Printing a real case from the store: the right document, archived, recorded, reprints marked."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from station.cases import CaseReader, file_case
from station.hlc import Stamp
from station.home import update_config
from station.printing import documents_for, print_case_document, print_daily
from forms.problems import StationError
from station.sample_data import make_submission
from station.store import Store
from tests.support import item_by_initials


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_receipt_and_notice_for_a_waived_case(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    data = make_submission(item, rng, store.clock().date(), waive=True, id_number="11010519401231018X")
    filed = file_case(store, catalog, item.code, data, agent)
    case = CaseReader(store).get(filed.number)
    assert documents_for(case) == ["receipt", "application", "notice", "commitment"]
    receipt = print_case_document(store, filed.number, "receipt", agent)
    text = _text(receipt.path)
    assert receipt.path.is_relative_to(store.home / "prints")
    assert filed.query_password in text and item.name in text and "1101**********018X" in text
    assert "11010519401231018X" not in text and data["applicant"]["phone"] not in text
    assert "补打" not in text
    notice = _text(print_case_document(store, filed.number, "notice", agent, fmt="roll80", large=True).path)
    assert "一次性告知" in notice
    again = print_case_document(store, filed.number, "receipt", agent)
    assert again.reprint_count == 1 and "补打" in _text(again.path)
    printed = store.conn.execute("SELECT body FROM events WHERE type='notice.printed'").fetchall()
    assert len(printed) == 3
    assert [t.type for t in CaseReader(store).get(filed.number).timeline].count("notice.printed") == 3


def test_documents_that_do_not_apply_are_refused(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    filed = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)
    for kind in ("result", "refusal", "correction", "notice"):
        with pytest.raises(StationError) as err:
            print_case_document(store, filed.number, kind, agent)
        assert err.value.code == "not_applicable"
    assert store.conn.execute("SELECT COUNT(*) FROM events WHERE type='notice.printed'").fetchone()[0] == 0


def test_refusal_and_result_follow_the_decision(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    a = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent).number
    b = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent).number
    base = int(datetime(2026, 9, 23).timestamp() * 1000)
    store.ingest_remote([
        {"id": f"421381105000:{n}", "station": "421381105000", "seq": n, "hlc": str(Stamp(base + n, 0)),
         "operator": "赵审核", "case": c, "type": t, "body": body, "recorded_at": "2026-09-23T10:00:00"}
        for n, (c, t, body) in enumerate([
            (a, "case.accepted", {}), (a, "case.approved", {"certificate": "广民高龄〔2026〕88号"}),
            (b, "case.not_accepted", {"reason": "申请人户籍不在本镇"})], start=1)])
    result = _text(print_case_document(store, a, "result", agent).path)
    assert "广民高龄〔2026〕88号" in result
    refusal = _text(print_case_document(store, b, "refusal", agent).path)
    assert "申请人户籍不在本镇" in refusal and "复议" in refusal and "诉讼" in refusal


def test_configured_printer_is_used_and_a_failure_loses_nothing(village_home, catalog, rng, clock, tmp_path,
                                                              monkeypatch) -> None:
    from station.operators import os_account

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "lp").write_text("#!/bin/sh\necho \"$@\" > \"$LP_LOG\"\nexit 1\n")
    (bin_dir / "lp").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("LP_LOG", str(tmp_path / "lp.log"))
    update_config(village_home, printer="村站打印机")
    with Store.open(village_home, clock=clock) as store:
        item = item_by_initials(catalog, "sbkqy")
        number = file_case(store, catalog, item.code, make_submission(item, rng, clock().date()), os_account()).number
        result = print_case_document(store, number, "receipt", os_account())
    assert not result.sent and result.message and result.path.exists()
    assert "村站打印机" in (tmp_path / "lp.log").read_text()


def test_daily_report(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    for _ in range(3):
        file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)
    text = _text(print_daily(store, store.clock().date(), agent).path)
    assert item.name in text and "3" in text


def _archived(store, number: str, kind: str = "receipt") -> Path:
    """The archive copy the last notice.printed event of ``number`` recorded."""
    (last,) = [e for e in store.case_events(number) if e.type == "notice.printed" and e.body["kind"] == kind][-1:]
    return store.home / last.body["path"]


def test_the_archived_receipt_keeps_no_query_password(store, catalog, agent, rng, tmp_path) -> None:
    """The query password is sealed in the store; the archive copy leaves it out, only the citizen's
    copy carries it (issue 11)."""
    item = item_by_initials(catalog, "gljt")
    filed = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)
    out = tmp_path / "citizen.pdf"
    result = print_case_document(store, filed.number, "receipt", agent, out=out)
    archived = _archived(store, filed.number)
    assert result.path == out and filed.query_password in _text(out)
    assert out.stat().st_mode & 0o077 == 0
    archive_text = _text(archived)
    assert filed.query_password not in archive_text and "存档联不印查询密码" in archive_text
    assert filed.number.split("-")[1] in archive_text.replace(" ", "")
    assert filed.query_password.encode() not in archived.read_bytes()
    # no printer and no --out: the citizen's copy waits in prints/outgoing, owner-only, and goes after a day
    waiting = print_case_document(store, filed.number, "receipt", agent)
    assert waiting.path.parent == store.home / "prints" / "outgoing" and filed.query_password in _text(waiting.path)
    assert waiting.path.stat().st_mode & 0o077 == 0 and "一天后自动删除" in waiting.message
    import os
    import time
    day_old = time.time() - 2 * 86400
    os.utime(waiting.path, (day_old, day_old))
    print_case_document(store, filed.number, "receipt", agent, out=tmp_path / "again.pdf")
    assert not waiting.path.exists()


def test_the_citizens_copy_goes_to_the_printer_and_is_not_left_behind(store, catalog, agent, rng, tmp_path,
                                                                      monkeypatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "lp.log"
    lp = bindir / "lp"
    # a fake lp that, like CUPS, copies the job before it returns
    lp.write_text(f'#!/bin/sh\nfor a in "$@"; do last="$a"; done\ncp "$last" "{tmp_path}/spooled.pdf"\n'
                  f'echo "$last" > "{log}"\necho "request id is HP-7 (1 file(s))"\n')
    lp.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    store.config = update_config(store.home, printer="HP")
    item = item_by_initials(catalog, "gljt")
    filed = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)
    result = print_case_document(store, filed.number, "receipt", agent)
    assert result.sent
    printed = Path(log.read_text().strip())
    assert printed.parent == store.home / "prints" / "outgoing" and not printed.exists()
    assert filed.query_password in _text(tmp_path / "spooled.pdf")
    assert filed.query_password not in _text(_archived(store, filed.number))


def test_a_printer_setting_the_settings_screen_refuses_is_not_used(store, catalog, agent, rng, tmp_path,
                                                                   monkeypatch) -> None:
    """station.toml comes from a backup too, and a backup may be someone else's: a printer address the 设置
    screen would refuse (or a kind it does not know) is not handed to lp or opened as a device."""
    from printouts.printer_target import ESCPOS_SERIAL, parse_target

    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "lp.log"
    (bindir / "lp").write_text(f'#!/bin/sh\necho "$@" >> "{log}"\necho "request id is X-1"\n')
    (bindir / "lp").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    item = item_by_initials(catalog, "gljt")
    filed = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)
    for kind, address in (("cups", "-o raw /etc/passwd"), ("cups", "a/b#c"), ("bogus", "HP"),
                          ("escpos-serial", "/dev/../home/victim/.bashrc")):
        store.config = update_config(store.home, printer=address, printer_kind=kind)
        result = print_case_document(store, filed.number, "receipt", agent)
        assert not result.sent and "打印机设置有误" in result.message, (kind, address)
    assert not log.exists()
    assert parse_target(ESCPOS_SERIAL, "/dev/../etc/x")[0] is None
    assert parse_target(ESCPOS_SERIAL, "/dev/ttyUSB0@9600")[0] is not None
