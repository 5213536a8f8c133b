"""The command list of the operator guide, generated from the commands themselves.

``python -m station.cli.reference --write`` rewrites the section of docs/操作手册.md between the two
markers; tests/test_docs.py fails when the section is not what this would write (as sqlite-utils keeps
its CLI reference with cog), so a new command cannot be left out of the guide.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

BEGIN = "<!-- 命令一览：由 python -m station.cli.reference --write 生成，请勿手改 -->"
END = "<!-- 命令一览结束 -->"
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "操作手册.md"


def _rows(group: click.Group, prefix: str) -> list[tuple[str, str]]:
    rows = []
    for name, cmd in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            rows += _rows(cmd, path + " ")
        else:
            first = (cmd.help or "").strip().splitlines()[0] if cmd.help else ""
            rows.append((path, first))
    return rows


def command_reference() -> str:
    from station.cli import main

    lines = ["| 命令 | 作用 |", "|---|---|"]
    lines += [f"| `station {path}` | {text} |" for path, text in _rows(main, "")]
    return "\n".join(lines)


def section(text: str) -> str:
    """The generated part of ``text`` (between the markers), or '' when there is none."""
    if BEGIN not in text or END not in text:
        return ""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def write(path: Path = GUIDE) -> bool:
    """Rewrite the section; True when it changed."""
    text = path.read_text(encoding="utf-8")
    fresh = f"{BEGIN}\n{command_reference()}\n{END}"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        new = before + fresh + rest.split(END, 1)[1]
    else:
        new = text.rstrip() + "\n\n## 附：命令一览\n\n" + fresh + "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        print("已更新" if write() else "无变化", GUIDE)
    else:
        print(command_reference())
