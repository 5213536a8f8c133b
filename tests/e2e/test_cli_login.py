"""Every face asks who you are: the CLI logs an operator in exactly as the TUI does (issue 11).

Same passwords, same lock-out, roles checked, every reveal of full personal data audited, and a
password typed as a name never stored.
"""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from forms.catalog import load_catalog
from station import events as ev
from station.cli import main
from station.operators import MAX_FAILURES, add_operator, os_account
from station.sample_data import make_submission
from station.store import Store
from station.testing import TEST_ADMIN, TEST_PASSWORD, VILLAGE, cli_login_env

NO_LOGIN = {"STATION_OPERATOR": None, "STATION_PASSWORD": None}
# Commands that touch no station data: they need no login (issue 11), and the platform's commands act
# on a platform home, guarded by the platform server's account (docs/security.md).
# restore makes a new home, as init does: the backup's passphrase is what proves the right to its data
NO_LOGIN_COMMANDS = {"init", "demo", "restore", "catalog list", "catalog show"}


def run(*args: str, input: str | None = None, env: dict | None = None) -> tuple[int, dict]:
    result = CliRunner().invoke(main, [*args, "--json"], input=input, env=env if env is not None else NO_LOGIN)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def leaf_commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    for name, cmd in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            out.update(leaf_commands(cmd, path + " "))
        else:
            out[path] = cmd
    return out


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "village"
    code, data = run("init", "--home", str(h), "--division-code", VILLAGE, "--name", "测试村便民服务站",
                     "--admin", TEST_ADMIN, "--password-stdin", input=TEST_PASSWORD + "\n")
    assert code == 0, data
    with Store.open(h) as store:
        add_operator(store, "王小红", "agent", "secret123", os_account())
    return h


@pytest.fixture
def case_number(home: Path, tmp_path: Path) -> str:
    item = load_catalog(use_cache=False).search("dszn")[0]  # 独生子女: has a bank account field
    data = make_submission(item, random.Random(5), date.today())
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    code, filed = run("case", "file", "--home", str(home), "--item", item.code, "--data", str(path),
                      env=cli_login_env("王小红", "secret123"))
    assert code == 0, filed
    return filed["case_number"]


def events_of(home: Path, type_: str) -> list[ev.Event]:
    with Store.open(home) as store:
        return [e for e in store.iter_events() if e.type == type_]


def test_every_command_on_station_data_requires_a_login(home: Path, case_number: str) -> None:
    """Walk the whole command tree: each command that is not on the short no-login list offers the
    login options and refuses to run without an operator, changing nothing."""
    commands = leaf_commands(main)
    station_commands = {p: c for p, c in commands.items()
                        if p not in NO_LOGIN_COMMANDS and not p.startswith("platform ")}
    assert len(station_commands) >= 25
    with Store.open(home) as store:
        before = store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    for path, cmd in station_commands.items():
        params = {p.name for p in cmd.params}
        assert {"operator_name", "password_stdin"} <= params, f"{path} offers no login"
        args = path.split() + ["--home", str(home)]
        args += [a for p in cmd.params if isinstance(p, click.Argument) for a in [case_number]]
        for p in cmd.params:  # a plausible value for every required option, so only the login can refuse
            if isinstance(p, click.Option) and p.required:
                if p.is_flag or p.secondary_opts:
                    args.append(p.opts[0])
                elif isinstance(p.type, click.Choice):
                    args += [p.opts[0], p.type.choices[0]]
                else:
                    args += [p.opts[0], {"--data": "-", "--month": "2026-09", "--from": str(home),
                                         "--level": "5", "--device": "2"}.get(p.opts[0], "x")]
        code, err = run(*args, input="")
        assert code != 0, f"{path} ran without a login"
        assert err.get("error", {}).get("code") == "login_required", (path, args, err)
    with Store.open(home) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == before


def test_reveal_needs_a_login_and_is_its_own_audited_event(home: Path, case_number: str) -> None:
    code, err = run("case", "show", case_number, "--reveal", "--home", str(home))
    assert code != 0 and err["error"]["code"] == "login_required"
    assert events_of(home, ev.PII_REVEALED) == []

    code, masked = run("case", "show", case_number, "--home", str(home), env=cli_login_env("王小红", "secret123"))
    assert code == 0 and "*" in masked["applicant"]["id_number"]
    assert events_of(home, ev.PII_REVEALED) == []  # looking at masked data reveals nothing

    code, shown = run("case", "show", case_number, "--reveal", "--home", str(home), "--operator", "王小红",
                      "--password-stdin", input="secret123\n")
    assert code == 0 and "*" not in shown["applicant"]["id_number"] and len(shown["applicant"]["id_number"]) == 18
    (reveal,) = events_of(home, ev.PII_REVEALED)
    assert reveal.operator == "王小红" and reveal.case_number == case_number
    assert reveal.body["face"] == "cli"
    assert {"id_number", "phone"} <= set(reveal.body["fields"])
    assert any(f.startswith("fields.") for f in reveal.body["fields"])  # the bank account
    assert shown["timeline"][-1]["type"] == ev.PII_REVEALED  # the case's own record shows who looked


def test_wrong_passwords_lock_the_cli_like_the_tui(home: Path, case_number: str) -> None:
    for i in range(MAX_FAILURES):
        code, err = run("review", "list", "--home", str(home), "--operator", "王小红", "--password-stdin",
                        input="wrong-guess\n")
        assert code != 0 and err["error"]["code"] == ("operator_locked" if i == MAX_FAILURES - 1 else "login_failed")
    code, err = run("case", "list", "--home", str(home), env=cli_login_env("王小红", "secret123"))
    assert code != 0 and err["error"]["code"] == "operator_locked"
    failures = [e for e in events_of(home, ev.OPERATOR_LOGIN_FAILED) if e.body.get("face") == "cli"]
    assert len(failures) == MAX_FAILURES + 1


def test_roles_are_checked_on_the_cli(home: Path, case_number: str, tmp_path: Path) -> None:
    agent = cli_login_env("王小红", "secret123")
    for args in (["review", "decide", case_number, "--action", "accept"], ["db", "rebuild"], ["keys", "export"],
                 ["sync", "configure", "--interval", "30"], ["operator", "list"], ["operator", "disable", "--name", "x"]):
        code, err = run(*args, "--home", str(home), env=agent)
        assert code != 0 and err["error"]["code"] == "forbidden", (args, err)
    code, err = run("operator", "add", "--name", "新人", "--role", "agent", "--home", str(home), "--password-stdin",
                    input="secret123\n", env=agent)
    assert code != 0 and err["error"]["code"] == "forbidden"
    refused = events_of(home, ev.ACCESS_REFUSED)
    assert len(refused) >= 7 and all(e.operator == "王小红" for e in refused)
    code, _ = run("db", "check", "--home", str(home), env=cli_login_env())
    assert code == 0


def test_first_administrator_without_login_only_on_an_empty_home(tmp_path: Path) -> None:
    h = tmp_path / "township"
    code, data = run("init", "--home", str(h), "--division-code", "421381105000", "--name", "测试镇便民服务中心",
                     "--role", "township")
    assert code == 0 and data["admin"] is None
    code, err = run("operator", "add", "--home", str(h), "--name", "镇审核", "--role", "reviewer",
                    "--password-stdin", input="secret123\n")
    assert code != 0 and err["error"]["code"] == "first_operator_admin"
    code, data = run("operator", "add", "--home", str(h), "--name", "镇管理员", "--role", "admin",
                     "--password-stdin", input="secret123\n")
    assert code == 0 and data == {"name": "镇管理员", "role": "admin"}
    code, err = run("operator", "add", "--home", str(h), "--name", "冒充者", "--role", "admin",
                    "--password-stdin", input="secret123\n")
    assert code != 0 and err["error"]["code"] == "login_required"
    # the admin adds the next one: login password first, then the new operator's, one per line
    code, data = run("operator", "add", "--home", str(h), "--name", "镇审核", "--role", "reviewer",
                     "--operator", "镇管理员", "--password-stdin", input="secret123\nreview456\n")
    assert code == 0 and data["role"] == "reviewer"
    code, _ = run("review", "list", "--home", str(h), env=cli_login_env("镇审核", "review456"))
    assert code == 0


def test_init_with_a_weak_admin_password_leaves_nothing(tmp_path: Path) -> None:
    h = tmp_path / "village"
    code, err = run("init", "--home", str(h), "--division-code", VILLAGE, "--name", "x", "--admin", "管理员",
                    "--password-stdin", input="123\n")
    assert code != 0 and err["error"]["code"] == "weak_password"
    assert not h.exists()


def test_a_password_typed_as_the_name_is_never_stored_or_sent(home: Path, case_number: str) -> None:
    """The tired operator types the password into the name box: the failure is audited without it."""
    secret = "Qiu-8812-mima"
    code, err = run("case", "list", "--home", str(home), "--operator", secret, "--password-stdin",
                    input="secret123\n")
    assert code != 0 and err["error"]["code"] == "login_failed"
    with Store.open(home) as store:
        rows = store.conn.execute("SELECT operator, body FROM events").fetchall()
        wire = [json.dumps(store.wire_event(e), ensure_ascii=False) for e in store.iter_events()]
    assert not any(secret in (op or "") or secret in body for op, body in rows)
    assert not any(secret in w for w in wire)
    db = (home / "station.db").read_bytes() + ((home / "station.db-wal").read_bytes()
                                               if (home / "station.db-wal").exists() else b"")
    assert secret.encode() not in db
    failed = events_of(home, ev.OPERATOR_LOGIN_FAILED)[-1]
    assert failed.body == {"reason": "unknown", "face": "cli"} and failed.operator == "?"
