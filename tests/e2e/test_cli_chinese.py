"""Every text the CLI shows a person is Chinese (issue 15): each command's help, click's own usage
errors, and with --json every outcome (usage errors included) is one JSON document with a code.

English words are allowed only where they are literal input (option names, choice values, codes an
operator types) or on the short allow-list of terms the Chinese reader knows (PDF, USB, JSON…)."""

from __future__ import annotations

import json
import re

import click
import pytest
from click.testing import CliRunner

from station.cli import main
from tests.e2e.test_cli_login import leaf_commands

ALLOWED = {"pdf", "usb", "json", "csv", "xlsx", "toml", "https", "http", "url", "qr", "tls", "ca", "pem", "id",
           "tui", "cli", "uvicorn", "cups", "lp", "zip", "ctrl", "stdin", "yyyy", "mm", "dd", "a4", "roll80", "roll58", "case_number",
           "escpos", "station", "python", "m", "vse", "json", "pinyin", "hpke", "nginx", "utf", "postgresql",
           "pos", "esc", "sqlite", "db", "u", "c"}


def english_words(text: str, literals: set[str]) -> set[str]:
    """ASCII words in ``text`` that are neither literal input nor allowed terms."""
    text = re.sub(r"https?://\S+", " ", text)                        # an example address
    text = re.sub(r"\bstation(?: [a-z][a-z-]*)+", " ", text)        # a command to type, quoted in help
    text = re.sub(r"(?<![\w-])--?[a-z][\w-]*", " ", text)          # option names
    text = re.sub(r"\$?\b[A-Z][A-Z0-9_]{3,}\b", " ", text)          # environment variables
    text = re.sub(r"[\w./-]+\.(?:py|toml|json|pdf|vse|csv|xlsx|key)\b", " ", text)  # file names
    words = {w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text)}
    return {w for w in words if w.lower() not in ALLOWED and w not in literals}


def literals_of(cmd: click.Command) -> set[str]:
    """What an operator types as is: choice values, sub-command names, the program name."""
    out: set[str] = {"main"} | (set(cmd.commands) if isinstance(cmd, click.Group) else set())
    for p in cmd.params:
        if isinstance(p.type, click.Choice):
            out |= {str(c) for c in p.type.choices}
    return {part for word in out for part in [word, *word.split("-")]}


def all_commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {"": main}

    def walk(group: click.Group, prefix: str) -> None:
        for name, cmd in group.commands.items():
            found[f"{prefix}{name}"] = cmd
            if isinstance(cmd, click.Group):
                walk(cmd, f"{prefix}{name} ")

    walk(main, "")
    return found


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), env={"STATION_OPERATOR": None, "STATION_PASSWORD": None})


@pytest.mark.parametrize("path", sorted(all_commands()))
def test_help_of_every_command_is_chinese(path: str) -> None:
    cmd = all_commands()[path]
    result = run(*path.split(), "--help")
    assert result.exit_code == 0, result.output
    literals = literals_of(cmd) | set(re.split(r"[\s-]+", path)) | {"x"}  # x: click's range notation 1<=x<=9
    assert not english_words(result.output, literals), (path, english_words(result.output, literals), result.output)
    if path:
        assert re.search(r"[\u4e00-\u9fff]", cmd.help or ""), f"{path} has no Chinese help"


@pytest.mark.parametrize("args", [
    ["no-such-command"], ["case", "list", "--no-such-option"], ["case", "list", "--limit", "many"],
    ["case", "show"], ["review", "decide", "N", "--action", "maybe"], ["init", "--name", "x"],
    ["case", "list", "--limit", "0"], ["print", "receipt"],
])
def test_usage_errors_are_chinese_and_json_with_a_code(args: list[str]) -> None:
    text = run(*args)
    assert text.exit_code == 2
    message = text.stderr if hasattr(text, "stderr") else text.output
    typed = {part for a in args for part in re.split(r"[\s-]+", a)} | {"main", "x"}
    typed |= {w for c in all_commands().values() for w in literals_of(c)}  # the values the message offers
    assert "错误" in message and not english_words(message, typed), message
    as_json = run(*args, "--json")
    assert as_json.exit_code == 2
    doc = json.loads(as_json.stdout)
    assert doc["error"]["code"] in {"unknown_command", "unknown_option", "bad_value", "missing_value", "usage_error"}
    assert re.search(r"[\u4e00-\u9fff]", doc["error"]["message"])


def test_the_version_and_the_abort_are_chinese() -> None:
    assert "版本" in run("--version").output
    aborted = CliRunner().invoke(main, ["operator", "add", "--name", "x", "--role", "admin", "--home", "/nonexistent"],
                                 input="")
    assert "Traceback" not in aborted.output and "Aborted" not in aborted.output


def test_chinese_status_names_and_the_total_count(tmp_path) -> None:
    """`--status` takes the Chinese names operators use; `count` is the total, the page size beside it."""
    from station.demo import create_demo
    from station.testing import cli_login_env

    home = tmp_path / "demo"
    create_demo(home)
    env = cli_login_env("李建国", "admin1234")

    def listed(*args: str) -> dict:
        result = CliRunner().invoke(main, ["case", "list", "--home", str(home), "--json", *args], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    by_code = listed("--status", "received", "--limit", "100")
    for name in ("村级已收件", "已收件"):
        assert listed("--status", name, "--limit", "100")["cases"] == by_code["cases"]
    page = listed("--limit", "5")
    everything = listed("--limit", "1000")
    assert page["count"] == everything["count"] == len(everything["cases"]) > 5
    assert page["page_size"] == 5 and page["returned"] == len(page["cases"]) == 5
    second = listed("--limit", "5", "--offset", "5")
    assert [c["case_number"] for c in page["cases"] + second["cases"]] == \
        [c["case_number"] for c in everything["cases"][:10]]
    bad = CliRunner().invoke(main, ["case", "list", "--home", str(home), "--json", "--status", "快办完了"], env=env)
    err = json.loads(bad.stdout)["error"]
    assert bad.exit_code == 1 and err["code"] == "bad_status" and "已受理" in err["message"]
