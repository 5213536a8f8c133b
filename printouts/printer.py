"""Send an archived PDF to the printer; never raises, never touches the file.

Linux / UOS / Kylin: ``lp [-d PRINTER] FILE`` (CUPS). Windows: ``os.startfile(path, "print")``
(the default printer; a named printer cannot be chosen this way). Every failure comes back as a
Chinese message for the operator; the PDF stays in the archive so it can be printed later.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PrintOutcome:
    sent: bool
    message_zh: str


def send_to_printer(path: Path, printer: str | None = None, timeout: float = 30.0) -> PrintOutcome:
    path = Path(path)
    kept = f"PDF 已保存在：{path}"
    if not path.is_file():
        return PrintOutcome(False, f"要打印的文件不存在：{path}")
    if sys.platform == "win32":
        return _windows(path, printer, kept)
    lp = shutil.which("lp")
    if lp is None:
        return PrintOutcome(False, "未找到打印命令 lp：请安装并设置打印服务（CUPS），"
                                   f"或把文件拷到能打印的电脑上。{kept}")
    cmd = [lp] + (["-d", printer] if printer else []) + [str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return PrintOutcome(False, f"打印命令 {timeout:g} 秒没有响应，请检查打印机是否开机、"
                                   f"连线是否正常。{kept}")
    except OSError as exc:
        return PrintOutcome(False, f"无法运行打印命令 lp：{exc}。{kept}")
    target = f"打印机“{printer}”" if printer else "默认打印机"
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        why = f"：{detail[0]}" if detail else ""
        return PrintOutcome(False, f"{target}没有接受打印任务（错误码 {done.returncode}）{why}。"
                                   f"请检查打印机名称和状态。{kept}")
    job = done.stdout.strip()
    return PrintOutcome(True, f"已发送到{target}" + (f"（{job}）" if job else "") + "。")


def _windows(path: Path, printer: str | None, kept: str) -> PrintOutcome:
    startfile = getattr(os, "startfile", None)
    if startfile is None:
        return PrintOutcome(False, f"本系统不支持直接打印。{kept}")
    try:
        startfile(str(path), "print")
    except OSError as exc:
        return PrintOutcome(False, f"无法打印：{exc}（请确认已安装 PDF 阅读器并设置默认打印机）。{kept}")
    note = f"（已发送到默认打印机，未能指定“{printer}”）" if printer else ""
    return PrintOutcome(True, "已发送到默认打印机。" + note)
