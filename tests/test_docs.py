"""Docs that cannot drift (as sqlite-utils' test_docs does): every command of the `station` CLI is
named in the README's command table and in the operator guide, and every command has Chinese help."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from station.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "操作手册.md").read_text(encoding="utf-8")


def command_paths(group: click.Group = main, prefix: str = "") -> list[str]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            out += command_paths(cmd, path + " ")
        else:
            out.append(path)
    return out


def mentioned(doc: str, path: str) -> bool:
    """``station case deliver`` in full, or the group named and the leaf written as ``… deliver`` /
    ``case deliver`` (the tables list a group's commands together)."""
    group, _, leaf = path.rpartition(" ")
    if f"station {path}" in doc or f"`{path}`" in doc or f"{path} " in doc:
        return True
    return bool(group) and f"station {group}" in doc and re.search(rf"(?<![\w-]){re.escape(leaf)}(?![\w-])", doc) is not None


@pytest.mark.parametrize("path", command_paths())
def test_every_command_is_in_the_readme_and_the_operator_guide(path: str) -> None:
    assert mentioned(README, path), f"README.md does not name `station {path}`"
    assert mentioned(GUIDE, path), f"docs/操作手册.md does not name `station {path}`"


def test_the_guides_command_list_is_the_one_the_commands_make() -> None:
    """docs/操作手册.md's 命令一览 is generated (python -m station.cli.reference --write): stale = red."""
    from station.cli.reference import command_reference, section

    assert section(GUIDE) == command_reference()


@pytest.mark.parametrize("path", command_paths())
def test_every_command_has_chinese_help(path: str) -> None:
    cmd: click.Command = main
    for part in path.split():
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    assert cmd.help and re.search(r"[\u4e00-\u9fff]", cmd.help), path
