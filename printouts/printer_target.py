"""Which printer a station prints on, and the rules of its address (no printing here, nothing heavy).

Kinds: ``cups`` (the system printer through ``lp``; the address is the CUPS printer name, empty for
the default one; what A4 needs), and the thermal roll printers spoken to directly in ESC/POS:
``escpos-usb`` (``VID:PID`` in hex, e.g. ``0416:5011``), ``escpos-serial`` (a device, optionally
with its speed: ``/dev/ttyUSB0``, ``COM3@9600``) and ``escpos-network`` (``host`` or ``host:port``,
port 9100 when left out). Checked by ``station.settings`` for the 设置 screen and station.toml, and
parsed again by ``printouts.thermal`` when it prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from forms.problems import Problem

CUPS = "cups"
ESCPOS_USB = "escpos-usb"
ESCPOS_SERIAL = "escpos-serial"
ESCPOS_NETWORK = "escpos-network"
PRINTER_KINDS: tuple[str, ...] = (CUPS, ESCPOS_USB, ESCPOS_SERIAL, ESCPOS_NETWORK)
ESCPOS_KINDS = frozenset({ESCPOS_USB, ESCPOS_SERIAL, ESCPOS_NETWORK})
PRINTER_KIND_LABELS: dict[str, str] = {
    CUPS: "系统打印机（CUPS/lp，A4 用这个）", ESCPOS_USB: "热敏小票机：USB 直连（ESC/POS）",
    ESCPOS_SERIAL: "热敏小票机：串口（ESC/POS）", ESCPOS_NETWORK: "热敏小票机：网口（ESC/POS）"}
#: What the address of each kind looks like, shown under the field.
ADDRESS_HINTS: dict[str, str] = {
    CUPS: "打印机名称，留空用默认打印机", ESCPOS_USB: "USB 编号 厂商:产品，如 0416:5011",
    ESCPOS_SERIAL: "串口设备，如 /dev/ttyUSB0 或 COM3@9600", ESCPOS_NETWORK: "IP 地址或主机名，如 192.168.1.50:9100"}
BAUD_RATES = (9600, 19200, 38400, 57600, 115200)
DEFAULT_PORT = 9100

_USB = re.compile(r"(?:0x)?([0-9a-fA-F]{4}):(?:0x)?([0-9a-fA-F]{4})")
_SERIAL = re.compile(r"(/dev/(?!.*\.\.)[A-Za-z0-9_./-]+|COM[1-9][0-9]?)(?:@(\d+))?")  # no way out of /dev
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


@dataclass(frozen=True)
class PrinterTarget:
    """A parsed printer setting: ``kind`` and what that kind needs."""

    kind: str
    name: str = ""            # cups
    vendor: int = 0           # usb
    product: int = 0
    device: str = ""          # serial
    baudrate: int = 9600
    host: str = ""            # network
    port: int = DEFAULT_PORT

    @property
    def escpos(self) -> bool:
        return self.kind in ESCPOS_KINDS

    def describe(self) -> str:
        """The printer in words, for messages."""
        if self.kind == ESCPOS_USB:
            return f"USB 热敏打印机 {self.vendor:04x}:{self.product:04x}"
        if self.kind == ESCPOS_SERIAL:
            return f"串口热敏打印机 {self.device}"
        if self.kind == ESCPOS_NETWORK:
            return f"网络热敏打印机 {self.host}:{self.port}"
        return f"打印机“{self.name}”" if self.name else "默认打印机"


def parse_target(kind: str, address: str, field: str = "printer") -> tuple[PrinterTarget | None, list[Problem]]:
    """The target of ``kind`` at ``address``, or the problems that stop it."""
    address = (address or "").strip()
    if kind not in PRINTER_KINDS:
        return None, [Problem("printer_kind", "bad_printer_kind", "打印机类型只能是 " + "、".join(PRINTER_KINDS))]
    if kind == CUPS:
        if any(ch.isspace() or ch in "/#" for ch in address) or len(address) > 127:
            return None, [Problem(field, "bad_printer", "打印机名称不能含空格、/ 或 #")]
        return PrinterTarget(CUPS, name=address), []
    if kind == ESCPOS_USB:
        m = _USB.fullmatch(address)
        if not m:
            return None, [Problem(field, "bad_printer", f"USB 打印机地址应为 厂商:产品 的十六进制编号，如 0416:5011（收到“{address}”）")]
        return PrinterTarget(kind, vendor=int(m.group(1), 16), product=int(m.group(2), 16)), []
    if kind == ESCPOS_SERIAL:
        m = _SERIAL.fullmatch(address)
        baud = int(m.group(2)) if m and m.group(2) else 9600
        if not m or baud not in BAUD_RATES:
            return None, [Problem(field, "bad_printer", "串口打印机地址应为 /dev/ttyUSB0 或 COM3，可加 @波特率"
                                                         f"（{'、'.join(map(str, BAUD_RATES))}），如 COM3@9600")]
        return PrinterTarget(kind, device=m.group(1), baudrate=baud), []
    host, _, port_text = address.rpartition(":") if ":" in address else (address, "", "")
    port = int(port_text) if port_text.isdigit() else (DEFAULT_PORT if not port_text else 0)
    if not host or not _HOST.fullmatch(host) or not 1 <= port <= 65535:
        return None, [Problem(field, "bad_printer", "网络打印机地址应为 IP 地址或主机名，可加 :端口（默认 9100），"
                                                     f"如 192.168.1.50:9100（收到“{address}”）")]
    return PrinterTarget(kind, host=host, port=port), []
