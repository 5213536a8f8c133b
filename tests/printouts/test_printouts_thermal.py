"""ESC/POS receipts: the byte stream python-escpos's Dummy printer collects, and a thermal printer on
loopback (a real TCP socket) that is off, out of paper, or prints."""

from __future__ import annotations

import re
import socket
import threading
from contextlib import contextmanager
from typing import Iterator

import pytest

from printouts import samples
from printouts.printer_target import ESCPOS_NETWORK, parse_target
from printouts.texts import load_texts
from printouts.thermal import (CHINESE_OFF, CHINESE_ON, COLUMNS, columns_of, render_receipt, send_receipt)
from station.settings import printer_problems

NUMBER = "421381105201-261123-0001-1"
TEMPLATE = "https://zwfw.example/q?n={case_number}"
GS_QR = b"\x1d(k"
QR_PRINT = GS_QR + b"\x03\x001Q0"
CUT = (b"\x1dV\x00", b"\x1dV\x01", b"\x1dVA", b"\x1dVB")
_COMMAND = re.compile(rb"\x1b@|\x1c&|\x1c\.|\x1ba[\x00-\x02]|\x1bE[\x00\x01]|\x1d![\x00-\xff]")



def printed_lines(stream: bytes) -> list[tuple[bool, str]]:
    """(double width?, text) of every printed line, commands taken out, decoded from GB18030."""
    out = []
    size = b"\x00"
    for raw in stream.split(b"\n"):
        if GS_QR in raw:
            continue
        for m in re.finditer(rb"\x1d!([\x00-\xff])", raw):
            size = m.group(1)
        text = _COMMAND.sub(b"", raw).split(b"\x1dV")[0]
        out.append((size == b"\x11", text.decode("gb18030")))
    return out


@pytest.mark.parametrize("fmt", ["roll80", "roll58"])
def test_receipt_byte_stream_has_chinese_qr_and_cut(fmt):
    case = samples.case(case_number=NUMBER, station=samples.station(query_url=TEMPLATE))
    stream = render_receipt(case, load_texts(None), fmt)
    # Chinese mode on, GB18030 text, Chinese mode off before the cut
    assert stream.startswith(b"\x1b@" + CHINESE_ON)
    for text in ("收件回执", "某某镇某某村便民服务站", "查询密码", "还要带来的材料", "户口簿", "容缺，请于2026年3月20日前"):
        assert text.encode("gb18030") in stream, text
    # the case number in large type, as the village part and the day part
    assert b"4213 8110 5201\n" in stream and b"261123 - 0001 - 1\n" in stream
    assert b"583920" in stream                       # the citizen's copy carries the password
    assert "1101**********002X".encode("gb18030") in stream and samples.SAMPLE_ID.encode() not in stream
    # the printer's own QR code: model 2, level M, the link (no password), print
    link = f"https://zwfw.example/q?n={NUMBER}".encode()
    assert GS_QR + bytes([len(link) + 3, 0]) + b"1P0" + link in stream
    assert QR_PRINT in stream and b"583920" not in stream[stream.index(GS_QR):stream.index(QR_PRINT)]
    assert "扫码查询进度".encode("gb18030") in stream
    # then the cut, last
    assert stream.rindex(CHINESE_OFF) < max(stream.rfind(c) for c in CUT)
    assert any(stream.rstrip(b"\x00").endswith(c) or c in stream[-8:] for c in CUT)


@pytest.mark.parametrize("fmt", ["roll80", "roll58"])
def test_every_line_fits_the_head(fmt):
    columns = COLUMNS[fmt]
    assert columns == {"roll80": 48, "roll58": 32}[fmt]
    from tests.printouts.test_printouts import stress_case
    stream = render_receipt(stress_case(), load_texts(None), fmt)
    lines = printed_lines(stream)
    assert len(lines) > 60
    for double, text in lines:
        assert columns_of(text) <= (columns // 2 if double else columns), (fmt, text)
    # a Chinese line does not start with a closing mark
    for (_, a), (_, b) in zip(lines, lines[1:]):
        assert not b.lstrip()[:1] or b.lstrip()[0] not in "，。、；：？！）》」』】", (a, b)


def test_text_qr_without_a_published_template():
    case = samples.case(case_number=NUMBER)
    stream = render_receipt(case, load_texts(None), "roll58")
    payload = f"办件编号:{NUMBER} 查询密码:583920".encode("utf-8")
    assert b"1P0" + payload in stream
    assert "扫码可读出办件编号".encode("gb18030") in stream and "扫码查询进度".encode("gb18030") not in stream


# --- a printer on the network (loopback) -------------------------------------------------------

@contextmanager
def fake_printer(paper: int = 0x12, online: int = 0x12) -> Iterator[tuple[int, bytearray]]:
    """A thermal printer on 127.0.0.1: answers the status queries (DLE EOT 1 / 4) and keeps what it is sent."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = bytearray()

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                received.extend(chunk)
                if chunk.endswith(b"\x10\x04\x01"):
                    conn.sendall(bytes([online]))
                elif chunk.endswith(b"\x10\x04\x04"):
                    conn.sendall(bytes([paper]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        server.close()
        thread.join(5)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()   # nothing listens there now
    return port


def target(port: int):
    t, problems = parse_target(ESCPOS_NETWORK, f"127.0.0.1:{port}")
    assert t and not problems
    return t


def test_printer_that_is_off_is_a_clear_chinese_error():
    port = closed_port()
    out = send_receipt(target(port), samples.case(), load_texts(None), "roll80", timeout=3)
    assert not out.sent
    assert f"无法连接网络热敏打印机 127.0.0.1:{port}（连接被拒绝）" in out.message_zh
    assert "请检查打印机是否开机" in out.message_zh and "存档" in out.message_zh


def test_printer_out_of_paper_is_told_and_nothing_printed():
    with fake_printer(paper=0x72) as (port, received):
        out = send_receipt(target(port), samples.case(), load_texts(None), "roll80", timeout=3)
    assert not out.sent and "缺纸" in out.message_zh and "存档" in out.message_zh
    assert "收件回执".encode("gb18030") not in bytes(received)


def test_printer_offline_is_told():
    with fake_printer(online=0x1A) as (port, _):
        out = send_receipt(target(port), samples.case(), load_texts(None), "roll80", timeout=3)
    assert not out.sent and "离线" in out.message_zh


def test_a_ready_printer_receives_the_receipt():
    case = samples.case(case_number=NUMBER)
    with fake_printer() as (port, received):
        out = send_receipt(target(port), case, load_texts(None), "roll58", timeout=3)
    assert out.sent and f"127.0.0.1:{port}" in out.message_zh
    data = bytes(received)
    assert data.startswith(b"\x10\x04\x01\x10\x04\x04")     # it asked first
    assert render_receipt(case, load_texts(None), "roll58") in data


# --- the setting --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,address,paper,ok", [
    ("cups", "", "a4", True), ("cups", "HP_LaserJet", "a4", True), ("cups", "bad name", "a4", False),
    ("escpos-usb", "0416:5011", "roll80", True), ("escpos-usb", "0x0416:0x5011", "roll58", True),
    ("escpos-usb", "416:5011", "roll80", False), ("escpos-usb", "", "roll80", False),
    ("escpos-serial", "/dev/ttyUSB0", "roll58", True), ("escpos-serial", "COM3@9600", "roll80", True),
    ("escpos-serial", "COM3@1234", "roll80", False), ("escpos-serial", "ttyUSB0", "roll80", False),
    ("escpos-network", "192.168.1.50", "roll80", True), ("escpos-network", "printer.lan:9100", "roll80", True),
    ("escpos-network", "192.168.1.50:70000", "roll80", False), ("escpos-network", "a b", "roll80", False),
    ("escpos-network", "192.168.1.50", "a4", False), ("laser", "x", "a4", False),
])
def test_printer_settings_are_checked(kind, address, paper, ok):
    problems = printer_problems(kind, address, paper)
    assert (not problems) == ok, problems
    for p in problems:
        assert p.code in ("bad_printer", "bad_printer_kind", "bad_format")
        assert re.search(r"[\u4e00-\u9fff]", p.message)
