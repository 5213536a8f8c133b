"""Operators: roles, Argon2id passwords, lock-out, audit of every attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest

from station.operators import (MAX_FAILURES, add_operator, authenticate, os_account, require, set_disabled,
                               set_password)
from forms.problems import StationError


def _events(store, type_: str) -> int:
    return store.conn.execute("SELECT COUNT(*) FROM events WHERE type=?", (type_,)).fetchone()[0]


def test_password_is_hashed_with_argon2id_and_never_logged(store) -> None:
    add_operator(store, "王小红", "agent", "secret123", os_account())
    phc = store.conn.execute("SELECT password_hash FROM credentials").fetchone()[0]
    assert phc.startswith("$argon2id$") and "m=65536" in phc
    log = " ".join(r[0] for r in store.conn.execute("SELECT body FROM events"))
    assert "secret123" not in log and "argon2" not in log


def test_login_lockout_after_repeated_failures(store, clock) -> None:
    add_operator(store, "王小红", "agent", "secret123", os_account())
    assert authenticate(store, "王小红", "secret123").role == "agent"
    for i in range(MAX_FAILURES - 1):
        with pytest.raises(StationError) as err:
            authenticate(store, "王小红", "wrong")
        assert err.value.code == "login_failed"
    with pytest.raises(StationError) as err:
        authenticate(store, "王小红", "wrong")
    assert err.value.code == "operator_locked"
    with pytest.raises(StationError) as err:  # even the right password is refused while locked
        authenticate(store, "王小红", "secret123")
    assert err.value.code == "operator_locked"
    clock.now += timedelta(minutes=16)
    assert authenticate(store, "王小红", "secret123").name == "王小红"
    assert _events(store, "operator.login_failed") == MAX_FAILURES + 1
    assert _events(store, "operator.login") == 2


def test_unknown_and_disabled_operators(store) -> None:
    with pytest.raises(StationError) as err:
        authenticate(store, "nobody", "x")
    assert err.value.code == "login_failed"
    add_operator(store, "张三", "agent", "secret123", os_account())
    set_disabled(store, "张三", True, os_account())
    with pytest.raises(StationError) as err:
        authenticate(store, "张三", "secret123")
    assert err.value.code == "operator_disabled"


def test_roles_are_enforced_in_the_domain_and_refusals_audited(store) -> None:
    agent = add_operator(store, "代办", "agent", "secret123", os_account())
    reviewer = add_operator(store, "审核", "reviewer", "secret123", os_account())
    require(store, agent, "file", "收件")
    with pytest.raises(StationError) as err:
        require(store, agent, "decide", "审核决定")
    assert err.value.code == "forbidden"
    with pytest.raises(StationError):
        require(store, reviewer, "file", "收件")
    with pytest.raises(StationError):
        add_operator(store, "新人", "agent", "secret123", agent)  # only admins add operators
    assert _events(store, "access.refused") == 3
    set_disabled(store, "代办", True, os_account())
    with pytest.raises(StationError):
        require(store, agent, "file", "收件")


def test_password_rules_and_reset(store) -> None:
    with pytest.raises(StationError) as err:
        add_operator(store, "王", "agent", "123", os_account())
    assert err.value.problems[0].field == "password"
    add_operator(store, "王", "agent", "secret123", os_account())
    with pytest.raises(StationError):
        add_operator(store, "王", "agent", "secret123", os_account())
    set_password(store, "王", "newpass456", os_account())
    with pytest.raises(StationError):
        authenticate(store, "王", "secret123")
    assert authenticate(store, "王", "newpass456").name == "王"
