"""The receipt straight to a thermal roll printer in ESC/POS (python-escpos): text, native QR, cut.
(Other documents go as raster images of their roll PDF: :func:`send_document`, printouts/thermal_raster.py.)

No PDF in between: the head prints its own font, as many columns as it has (font A, 12×24 dots:
an 80 mm roll's 72 mm head has 576 dots, 48 ASCII or 24 Chinese characters a line; a 58 mm roll's
48 mm head 384 dots, 32 or 16). Chinese goes in GB18030 inside the printer's Chinese mode (``FS &``
… ``FS .``), lines are broken by :mod:`printouts.linebreak` counting columns, the QR code is the
printer's own (``GS ( k``), and the paper is cut at the end.

:func:`receipt_parts` is the layout (pure data, tested on its own); :func:`write_receipt` turns it
into commands on any python-escpos printer (``escpos.printer.Dummy`` in tests);
:func:`send_receipt` opens the configured printer, asks it whether it is online and has paper,
prints, and never raises: every failure is a Chinese message, and the PDF stays in the archive.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Sequence, Union

from .formatting import fmt_due, group_case_number, material_status
from .linebreak import break_lines
from .model import CaseDoc
from .printer import PrintOutcome
from .printer_target import ESCPOS_NETWORK, ESCPOS_SERIAL, ESCPOS_USB, PrinterTarget
from .qr import qr_is_link, qr_payload
from .receipt import case_rows, next_steps, where_now
from .texts import Texts

#: Columns of font A (12 dots wide; a Chinese character takes two) per roll format.
COLUMNS: dict[str, int] = {"roll80": 48, "roll58": 32}
#: QR module size in dots per format (a URL of ~60 characters: version 4, 33 modules + quiet zone).
QR_MODULE: dict[str, int] = {"roll80": 6, "roll58": 5}

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"
INIT = ESC + b"@"
CHINESE_ON = FS + b"&"        # FS &: Chinese character mode (the double-byte code the printer knows)
CHINESE_OFF = FS + b"."
ALIGN = {"left": ESC + b"a\x00", "center": ESC + b"a\x01"}
BOLD = {False: ESC + b"E\x00", True: ESC + b"E\x01"}
SIZE = {1: GS + b"!\x00", 2: GS + b"!\x01", 4: GS + b"!\x11"}   # normal, double height, double both
ENCODING = "gb18030"


def columns_of(text: str) -> int:
    """Printed width in columns: ASCII one, anything the printer draws from its Chinese font two."""
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


@dataclass(frozen=True)
class Text:
    text: str
    align: str = "left"
    bold: bool = False
    size: int = 1          # 1 normal, 2 double height, 4 double height and width (half the columns)
    indent: int = 0        # columns of hanging indent for the lines after the first
    margin: int = 0        # columns left blank before every line


@dataclass(frozen=True)
class QR:
    payload: str


@dataclass(frozen=True)
class Rule:
    char: str = "-"


Part = Union[Text, QR, Rule]


@dataclass(frozen=True)
class _Only:
    """What the receipt's shared helpers need of a layout context: the wording."""

    texts: Texts


def receipt_parts(case: CaseDoc, texts: Texts) -> list[Part]:
    """The receipt as printed on a roll, in the order of the PDF receipt."""
    t, ctx = texts, _Only(texts)
    out: list[Part] = []
    if case.reprint_count:
        out.append(Text(t("common", "reprint_mark", n=case.reprint_count), "center", bold=True))
    out += [Text(case.station.name, "center", bold=True), Text(t("receipt", "title"), "center", bold=True, size=4),
            Text(t("common", "case_number"), "center"),
            Text(group_case_number(case.case_number, two_lines=True), "center", bold=True, size=2),
            Text(t("common", "query_password"), "center")]
    out.append(Text(case.query_password, "center", bold=True, size=4) if case.query_password
               else Text(t("common", "password_withheld"), "center"))
    out.append(QR(qr_payload(case.case_number, case.query_password, case.station.query_url)))
    out.append(Text(t("receipt", "qr_caption" if qr_is_link(case.station.query_url) else "qr_caption_text"), "center"))
    received = [m for m in case.materials if m.status == "received"]
    to_bring = [m for m in case.materials if m.status != "received"]
    if to_bring:
        out += [Rule(), Text("■ " + t("receipt", "materials_to_bring"), bold=True)]
        out += _materials(to_bring, t, status=True)
    out.append(Rule())
    rows = case_rows(ctx, case)  # type: ignore[arg-type]
    rows.append((t("common", "agent"), case.agent_name))
    if case.statutory:
        rows.append((t("common", "statutory"), fmt_due(case.statutory, t)))
    rows += [(t("common", "status"), case.status_label),
             (t("common", "promised"), fmt_due(case.promised, t, weekday=True))]
    out += [Text(f"{k}：{v}", indent=2) for k, v in rows]
    out += [Rule(), Text("■ " + t("receipt", "next_title"), bold=True), Text(next_steps(ctx, case))]  # type: ignore[arg-type]
    out += [Text(line) for line in where_now(ctx, case)]  # type: ignore[arg-type]
    if any(d is not None and d.estimate for d in (case.promised, case.statutory)):
        out.append(Text(t("common", "estimate_note")))
    out += [Text("■ " + t("receipt", "materials_received"), bold=True)]
    out += _materials(received, t, status=False) or [Text(t("common", "none"))]
    out += [Rule(), Text(t("receipt", "keep"))]
    blank = "_" * 12
    out += [Text(t("common", "sign_agent") + blank), Text(t("common", "sign_applicant") + blank),
            Text(t("common", "sign_date") + blank)]
    st = case.station
    out += [Rule(), Text(t("common", "footer", station_name=st.name, station_phone=st.phone)), Text(st.address)]
    return out


def _materials(materials: Sequence[Any], t: Texts, status: bool) -> list[Part]:
    out: list[Part] = []
    for i, m in enumerate(materials, 1):
        desc = m.name + ("" if m.required else t("common", "optional")) + (f"（{m.note}）" if m.note else "")
        line = f"{i}. {desc}（{m.form_text}，{t('common', 'copies', copies=m.copies)}）"
        out.append(Text(line, indent=3))
        if status:
            out.append(Text("→ " + material_status(m, t), indent=2, margin=3))
    return out


def lines_of(part: Text, columns: int) -> list[str]:
    """A text part broken into printed lines for ``columns`` (halved by double width), centred by the printer."""
    width = (columns // 2 if part.size == 4 else columns) - part.margin
    out: list[str] = []
    for line in break_lines(part.text, (width, width - part.indent), lambda s: float(columns_of(s))):
        out.append(" " * part.margin + (line if not out else " " * part.indent + line))
    return out


def write_receipt(printer: Any, parts: Sequence[Part], fmt: str, cut: bool = True) -> None:
    """Send the receipt's commands to a python-escpos printer (``printer._raw`` is its byte sink)."""
    from escpos.constants import QR_ECLEVEL_M

    columns = COLUMNS[fmt]
    raw = printer._raw
    raw(INIT + CHINESE_ON)
    for part in parts:
        if isinstance(part, Rule):
            raw(ALIGN["left"] + SIZE[1] + BOLD[False] + (part.char * columns).encode(ENCODING) + b"\n")
        elif isinstance(part, QR):
            raw(ALIGN["center"])
            printer.qr(part.payload, ec=QR_ECLEVEL_M, size=QR_MODULE[fmt], native=True)
            raw(b"\n")
        else:
            raw(ALIGN[part.align] + BOLD[part.bold] + SIZE[part.size])
            for line in lines_of(part, columns):
                raw(line.encode(ENCODING, errors="replace") + b"\n")
    raw(ALIGN["left"] + SIZE[1] + BOLD[False] + CHINESE_OFF)
    if cut:
        printer.cut()


def render_receipt(case: CaseDoc, texts: Texts, fmt: str) -> bytes:
    """The receipt's whole ESC/POS byte stream (what the printer would receive)."""
    from escpos.printer import Dummy

    if fmt not in COLUMNS:
        from forms.problems import StationError
        raise StationError("bad_format", f"热敏打印机只能用卷纸（{'、'.join(COLUMNS)}），收到 {fmt}")
    dummy = Dummy()
    write_receipt(dummy, receipt_parts(case, texts), fmt)
    return dummy.output


# --- the printer itself -----------------------------------------------------------------------

def open_printer(target: PrinterTarget, timeout: float) -> Any:
    """A python-escpos printer for ``target`` (opened on first use)."""
    from escpos import printer as p

    if target.kind == ESCPOS_NETWORK:
        return p.Network(target.host, target.port, timeout=timeout)
    if target.kind == ESCPOS_USB:
        if not p.Usb.is_usable():
            raise _Unusable("缺少 USB 支持（pyusb），无法直接连接 USB 打印机")
        return p.Usb(target.vendor, target.product, timeout=int(timeout * 1000))
    if target.kind == ESCPOS_SERIAL:
        if not p.Serial.is_usable():
            raise _Unusable("缺少串口支持（pyserial），无法直接连接串口打印机")
        return p.Serial(target.device, baudrate=target.baudrate, timeout=timeout)
    raise _Unusable(f"{target.describe()}不是热敏打印机")


class _Unusable(Exception):
    pass


def _status(printer: Any, query: bytes, wait: float) -> int | None:
    """One real-time status byte (DLE EOT n), or None when the printer does not answer in ``wait`` s."""
    device = printer.device
    settimeout = getattr(device, "settimeout", None)
    old = device.gettimeout() if settimeout else None
    try:
        if settimeout:
            settimeout(wait)
        printer._raw(query)
        reply = printer._read()
    except (socket.timeout, TimeoutError, NotImplementedError, AttributeError):
        return None
    finally:
        if settimeout:
            settimeout(old)
    return reply[0] if reply else None


def check_ready(printer: Any, wait: float = 2.0) -> str | None:
    """Why the printer cannot print now (offline, cover open, no paper), or None when it can or says nothing."""
    online = _status(printer, DLE + b"\x04\x01", wait)
    if online is not None and online & 0x08:
        return "打印机未就绪（离线）：请检查是否开机、纸仓盖是否合上"
    paper = _status(printer, DLE + b"\x04\x04", wait)
    if paper is not None and paper & 0x60 == 0x60:
        return "打印机缺纸：请装入热敏纸后补打"
    return None


#: What a thermal head's own Chinese font is sure to have: GB2312/GBK. GB18030 encodes every character,
#: but a 生僻字 outside GBK (䶮, 𠮷) is a slot the head's font leaves empty or fills with something else.
PRINTER_FONT_CODE = "gbk"


def fits_printer_font(case: CaseDoc, texts: Texts) -> bool:
    """Whether every character of the receipt is in the head's own font (:data:`PRINTER_FONT_CODE`);
    when not, the receipt must go as an image of its roll PDF (:func:`send_document`), whose fonts draw it."""
    for part in receipt_parts(case, texts):
        if isinstance(part, Text):
            try:
                part.text.encode(PRINTER_FONT_CODE)
            except UnicodeEncodeError:
                return False
    return True


def send_receipt(target: PrinterTarget, case: CaseDoc, texts: Texts, fmt: str, timeout: float = 10.0,
                 kept: str = "") -> PrintOutcome:
    """Print the receipt on the thermal printer; never raises (the PDF is already archived)."""
    if fmt not in COLUMNS:
        return _send(target, fmt, lambda printer: None, timeout, kept)
    parts = receipt_parts(case, texts)
    return _send(target, fmt, lambda printer: write_receipt(printer, parts, fmt), timeout, kept)


def send_document(target: PrinterTarget, pdf: bytes, fmt: str, timeout: float = 10.0,
                  kept: str = "") -> PrintOutcome:
    """Print a roll-format PDF document on the thermal printer as raster images
    (:mod:`printouts.thermal_raster`); never raises."""
    from .thermal_raster import pdf_rasters, write_rasters

    if fmt not in COLUMNS:
        return _send(target, fmt, lambda printer: None, timeout, kept)
    images = pdf_rasters(pdf, fmt)  # drawn before the printer is opened: a slow PC does not hold it
    return _send(target, fmt, lambda printer: write_rasters(printer, images), timeout, kept)


def _send(target: PrinterTarget, fmt: str, write: Any, timeout: float, kept: str) -> PrintOutcome:
    """Open the printer, ask whether it can print, ``write(printer)``, close; every failure a Chinese message."""
    where = target.describe()
    kept = kept or "文书已存档（PDF），可在修好后补打"
    if fmt not in COLUMNS:
        return PrintOutcome(False, f"{where}只能打印卷纸，请在设置中把纸张改为80或58毫米卷纸。{kept}")
    printer = None
    try:
        printer = open_printer(target, timeout)
        printer.open()
        problem = check_ready(printer)
        if problem:
            return PrintOutcome(False, f"{where}：{problem}。{kept}")
        write(printer)
    except _Unusable as exc:
        return PrintOutcome(False, f"{exc}。{kept}")
    except Exception as exc:  # noqa: BLE001 - escpos, pyusb and pyserial raise many kinds; each becomes a message
        return PrintOutcome(False, f"无法连接{where}（{_why(exc)}），请检查打印机是否开机、连线是否正常。{kept}")
    finally:
        if printer is not None:
            try:
                printer.close()
            except Exception:  # noqa: BLE001 - closing a dead connection: nothing more to say
                pass
    return PrintOutcome(True, f"已发送到{where}。")


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, ConnectionRefusedError) or "Connection refused" in text or "拒绝" in text:
        return "连接被拒绝"
    if isinstance(exc, (socket.timeout, TimeoutError)) or "timed out" in text:
        return "连接超时"
    return text[:120] or type(exc).__name__
