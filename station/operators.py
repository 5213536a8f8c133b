"""Operators, roles, passwords and lock-out.

Passwords are hashed with Argon2id (memory-hard; cryptography's implementation, PHC string
format). Hashes and failure counters are station-local secrets kept in ``credentials``, outside
the event log, because the log is shipped to the platform; who was added, with which role, and
every login, failure and lock-out *are* events, so the audit trail shows them.
"""

from __future__ import annotations

import getpass
import os
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from station import events as ev
from forms.problems import Problem, StationError
from station.store import Store

ROLES = {"agent": "代办员", "reviewer": "审核员", "admin": "管理员"}
PERMISSIONS: dict[str, frozenset[str]] = {
    "file": frozenset({"agent", "admin"}),
    "handle": frozenset({"agent", "reviewer", "admin"}),   # materials, printing, delivery, rating
    "decide": frozenset({"reviewer", "admin"}),
    "admin": frozenset({"admin"}),
}
PERMISSION_LABELS = {"file": "收件", "handle": "办件处理", "decide": "审核决定", "admin": "系统管理"}
MAX_FAILURES = 5
LOCK_MINUTES = 15
# 64 MiB, 3 passes: about 0.1–0.2 s on a village PC, expensive for an offline guesser.
_KDF = dict(length=32, iterations=3, lanes=1, memory_cost=64 * 1024)


@dataclass(frozen=True)
class Operator:
    name: str
    role: str
    disabled: bool = False
    system: bool = False  # the OS account acting through the CLI

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)


def hash_password(password: str) -> str:
    return Argon2id(salt=os.urandom(16), **_KDF).derive_phc_encoded(password.encode("utf-8"))


def _verify(password: str, phc: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), phc)
        return True
    except InvalidKey:
        return False


def check_password_rules(password: str) -> None:
    if len(password) < 6:
        raise StationError("weak_password", "密码至少6位", [Problem("password", "too_short", "密码至少6位")])
    if len(password) > 128:
        raise StationError("bad_password", "密码不能超过128位", [Problem("password", "too_long", "密码不能超过128位")])


def get_operator(store: Store, name: str) -> Operator | None:
    row = store.conn.execute("SELECT name, role, disabled FROM operators WHERE name=?", (name,)).fetchone()
    return Operator(row[0], row[1], bool(row[2])) if row else None


def list_operators(store: Store) -> list[Operator]:
    return [Operator(r[0], r[1], bool(r[2]))
            for r in store.conn.execute("SELECT name, role, disabled FROM operators ORDER BY name")]


def add_operator(store: Store, name: str, role: str, password: str, by: Operator) -> Operator:
    require(store, by, "admin", "添加操作员")
    name = (name or "").strip()
    if not name or len(name) > 30:
        raise StationError("bad_name", "操作员姓名不能为空，且不超过30个字", [Problem("name", "bad_name", "姓名不能为空，且不超过30个字")])
    # terminal escapes, RTL overrides, zero widths, line breaks; private-use and newer code points stay
    # allowed: rare characters of people's names live there
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        raise StationError("bad_name", "操作员姓名不能含控制字符或不可见字符",
                           [Problem("name", "bad_name", "姓名含控制字符或不可见字符")])
    if role not in ROLES:
        raise StationError("bad_role", f"角色只能是 {'、'.join(f'{k}（{v}）' for k, v in ROLES.items())}",
                           [Problem("role", "bad_role", "角色不对")])
    check_password_rules(password)
    if get_operator(store, name):
        raise StationError("operator_exists", f"操作员「{name}」已存在", [Problem("name", "exists", "该操作员已存在")])
    phc = hash_password(password)
    with store.transaction():
        store.append(ev.OPERATOR_ADDED, {"name": name, "role": role}, by.name)
        store.conn.execute("INSERT INTO credentials(operator, password_hash) VALUES (?, ?)", (name, phc))
    return Operator(name, role)


def set_password(store: Store, name: str, password: str, by: Operator) -> None:
    if by.name != name:
        require(store, by, "admin", "重置密码")
    check_password_rules(password)
    if not get_operator(store, name):
        raise StationError("unknown_operator", f"没有名为「{name}」的操作员")
    phc = hash_password(password)
    with store.transaction():
        store.append(ev.OPERATOR_CHANGED, {"name": name, "password_reset": True}, by.name)
        store.conn.execute("UPDATE credentials SET password_hash=?, failed_count=0, locked_until=NULL"
                           " WHERE operator=?", (phc, name))


def set_disabled(store: Store, name: str, disabled: bool, by: Operator) -> None:
    require(store, by, "admin", "停用操作员")
    if not get_operator(store, name):
        raise StationError("unknown_operator", f"没有名为「{name}」的操作员")
    store.append(ev.OPERATOR_CHANGED, {"name": name, "disabled": disabled}, by.name)


def has_operators(store: Store) -> bool:
    """False on a new home: the first administrator may then be created without a login."""
    return store.conn.execute("SELECT 1 FROM operators LIMIT 1").fetchone() is not None


def create_first_admin(store: Store, name: str, password: str) -> Operator:
    """The home's first administrator, created by whoever set the home up (``station init --admin``,
    the TUI's first run, ``station operator add`` on an empty home). Refused once any operator exists."""
    with store.transaction():
        if has_operators(store):
            raise StationError("operators_exist", "本站已有操作员，请由管理员登录后添加",
                               [Problem("operator", "login_required", "需要管理员登录")])
        return add_operator(store, name, "admin", password, _BOOTSTRAP)


def authenticate(store: Store, name: str, password: str, face: str = "tui") -> Operator:
    """Log in on any face (TUI or CLI). Five failures in a row lock the account for 15 minutes; every
    attempt is audited. A name that is no operator is never recorded: it is often the password typed
    into the wrong box, and the log leaves the station."""
    now = store.clock()
    name = (name or "").strip()
    op = get_operator(store, name) if name else None
    cred = store.conn.execute("SELECT password_hash, failed_count, locked_until FROM credentials WHERE operator=?",
                              (name,)).fetchone()
    if op is None or cred is None:
        store.append(ev.OPERATOR_LOGIN_FAILED, {"reason": "unknown", "face": face}, "?")
        raise StationError("login_failed", "用户名或密码错误")
    phc, failures, locked_until = cred
    if op.disabled:
        store.append(ev.OPERATOR_LOGIN_FAILED, {"name": name, "reason": "disabled", "face": face}, name)
        raise StationError("operator_disabled", "该操作员已停用，请联系管理员")
    if locked_until and datetime.fromisoformat(locked_until) > now:
        store.append(ev.OPERATOR_LOGIN_FAILED, {"name": name, "reason": "locked", "face": face}, name)
        raise StationError("operator_locked", f"密码错误次数过多，账户已锁定，请在 {locked_until[11:16]} 之后再试或请管理员重置密码")
    if not _verify(password, phc):
        failures += 1
        lock = (now + timedelta(minutes=LOCK_MINUTES)).isoformat(timespec="seconds") if failures >= MAX_FAILURES else None
        with store.transaction():
            store.conn.execute("UPDATE credentials SET failed_count=?, locked_until=? WHERE operator=?",
                               (0 if lock else failures, lock, name))
            store.append(ev.OPERATOR_LOGIN_FAILED, {"name": name, "reason": "password", "locked": bool(lock),
                                                    "face": face}, name)
        if lock:
            raise StationError("operator_locked", f"密码连续错误{MAX_FAILURES}次，账户锁定{LOCK_MINUTES}分钟")
        raise StationError("login_failed", f"用户名或密码错误（还可尝试{MAX_FAILURES - failures}次）")
    with store.transaction():
        store.conn.execute("UPDATE credentials SET failed_count=0, locked_until=NULL WHERE operator=?", (name,))
        store.append(ev.OPERATOR_LOGIN, {"name": name, "face": face}, name)
    return op


def record_idle_lock(store: Store, operator: Operator, idle_seconds: int, face: str = "tui") -> None:
    """Audit an idle session locked on ``face`` after ``idle_seconds`` without input: whoever uses the
    PC next must log in again (the login that follows is audited by :func:`authenticate`)."""
    store.append(ev.OPERATOR_LOCKED, {"name": operator.name, "reason": "idle", "idle_seconds": int(idle_seconds),
                                      "face": face}, operator.name)


def os_account() -> Operator:
    """A system actor for library callers only: building the demo, tests and benchmarks.

    No face accepts it: the CLI and the TUI always authenticate an operator (issue 11). It bypasses
    role checks, so it must never be reachable from user input.
    """
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Operator(f"系统账户:{user}", "admin", system=True)


_BOOTSTRAP = Operator("系统初始化", "admin", system=True)


def require(store: Store, op: Operator, permission: str, action: str) -> None:
    """Roles are enforced here, in the domain; a refusal is audited."""
    if op.system:
        return
    current = get_operator(store, op.name)
    reason = None
    if current is None:
        reason = "该操作员不存在"
    elif current.disabled:
        reason = "该操作员已停用"
    elif current.role not in PERMISSIONS[permission]:
        reason = f"角色「{current.role_label}」没有「{PERMISSION_LABELS[permission]}」权限"
    if reason:
        store.append(ev.ACCESS_REFUSED, {"name": op.name, "action": action, "permission": permission}, op.name)
        raise StationError("forbidden", f"不能{action}：{reason}", [Problem("operator", "forbidden", reason)])
