"""A station whose printer is a thermal ESC/POS printer on the network (loopback): the receipt goes to it
in its own font; when it is off the operator is told in Chinese and the PDF stays archived for reprint."""

from __future__ import annotations

import subprocess
from pathlib import Path

from station.cases import file_case
from station.home import update_config
from station.printing import print_case_document
from station.sample_data import make_submission
from station.store import Store
from tests.printouts.test_printouts_thermal import closed_port, fake_printer
from tests.support import item_by_initials


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_printer_off_then_on_the_receipt_is_archived_and_reprinted(village_home, clock, catalog, rng) -> None:
    from station.operators import os_account

    port = closed_port()
    update_config(village_home, printer_kind="escpos-network", printer=f"127.0.0.1:{port}", paper_format="roll58")
    with Store.open(village_home, clock=clock) as store:
        item = item_by_initials(catalog, "gljt")
        filed = file_case(store, catalog, item.code, make_submission(item, rng, clock().date(), waive=True),
                          os_account())
        first = print_case_document(store, filed.number, "receipt", os_account())
        assert not first.sent
        assert f"无法连接网络热敏打印机 127.0.0.1:{port}" in first.message and "存档" in first.message
        # archived (the roll PDF, without the password) and recorded, ready for a reprint
        assert first.path.is_file() and first.path.is_relative_to(store.home / "prints")
        archived = _text(first.path)
        assert "收件回执" in archived and filed.query_password not in archived
        assert store.conn.execute("SELECT count FROM prints WHERE case_number=? AND kind='receipt'",
                                  (filed.number,)).fetchone()[0] == 1
        # other documents go to the same printer as images of their roll PDF: it is off, so they wait archived
        notice = print_case_document(store, filed.number, "notice", os_account())
        assert not notice.sent and "无法连接" in notice.message and "已存档" in notice.message
        assert notice.path.is_file()

    with fake_printer() as (port, received):
        update_config(village_home, printer=f"127.0.0.1:{port}")
        with Store.open(village_home, clock=clock) as store:
            again = print_case_document(store, filed.number, "receipt", os_account())
    assert again.sent and again.reprint_count == 1
    with fake_printer() as (port, raster):
        update_config(village_home, printer=f"127.0.0.1:{port}")
        with Store.open(village_home, clock=clock) as store:
            notice_again = print_case_document(store, filed.number, "notice", os_account())
    assert notice_again.sent and b"\x1dv0" in bytes(raster) and b"\x1dV" in bytes(raster)  # raster strips, cut
    assert "收件回执".encode("gb18030") not in bytes(raster)  # the notice, drawn, not the receipt's text
    data = bytes(received)
    assert "补打（第1次）".encode("gb18030") in data and "收件回执".encode("gb18030") in data
    assert filed.query_password.encode() in data       # the citizen's copy, printed in the head's font
    assert b"\x1d(k" in data and b"\x1dV" in data       # QR and cut


def test_a4_with_a_thermal_printer_is_refused_at_print_time(village_home, clock, catalog, rng) -> None:
    from station.operators import os_account

    update_config(village_home, printer_kind="escpos-network", printer=f"127.0.0.1:{closed_port()}")
    with Store.open(village_home, clock=clock) as store:
        item = item_by_initials(catalog, "gljt")
        filed = file_case(store, catalog, item.code, make_submission(item, rng, clock().date()), os_account())
        result = print_case_document(store, filed.number, "receipt", os_account(), fmt="a4")
    assert not result.sent and "只能打印卷纸" in result.message and result.path.is_file()


def test_a_name_outside_the_printers_font_prints_the_receipt_as_an_image(village_home, clock, catalog, rng) -> None:
    """A thermal head's own Chinese font is GB2312/GBK: a 生僻字 such as 䶮 (U+4DAE, four bytes in GB18030)
    would come out as garbage or nothing. Such a receipt goes as a raster of its roll PDF, whose fonts
    draw it; a receipt in ordinary characters still goes as text in the head's font."""
    from station.operators import os_account

    update_config(village_home, printer_kind="escpos-network", printer="127.0.0.1:9", paper_format="roll80")
    with Store.open(village_home, clock=clock) as store:
        item = item_by_initials(catalog, "gljt")
        filed = file_case(store, catalog, item.code, make_submission(item, rng, clock().date(), name="王䶮"),
                          os_account())
    with fake_printer() as (port, received):
        update_config(village_home, printer=f"127.0.0.1:{port}")
        with Store.open(village_home, clock=clock) as store:
            result = print_case_document(store, filed.number, "receipt", os_account())
    data = bytes(received)
    assert result.sent
    assert "䶮".encode("gb18030") not in data and "收件回执".encode("gb18030") not in data
    assert b"\x1dv0" in data and b"\x1dV" in data       # raster strips of the drawn receipt, cut
    assert "王䶮" in _text(result.path)                 # the archived PDF names the applicant
