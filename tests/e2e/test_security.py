"""Security: owner-only files, no secret in logs / errors / exports, roles and jurisdiction enforced in the
domain and at the gateway with every refusal audited, and a gateway that answers hostile HTTP with 4xx JSON."""

from __future__ import annotations

import base64
import json
import logging
import random
import stat
from datetime import date
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms.catalog import load_catalog
from station import events as ev
from station.cases import file_case, record_materials
from station.cli import main
from station.testing import cli_login_env
from station.operators import add_operator, authenticate, os_account, set_disabled
from forms.problems import StationError
from station.review import Decision, decide
from station.sample_data import make_submission
from station.store import Store
from sync import envelope as env
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.keys import load_or_create
from sync.service import sync_now
from sync.gateway.testing import file_cases, make_platform, make_station
from tests.support import OTHER_TOWNSHIP, OTHER_VILLAGE, TOWNSHIP, VILLAGE

PASSWORD = "Zq7-very-secret-9981"
HTTP_FUZZ: dict[str, int] = {}  # requests sent, per platform store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_homes_and_every_key_file_are_owner_only(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    for home in (village, phome):
        assert _mode(home) == 0o700, home
        assert _mode(home / "keys") == 0o700
        for name in ("data.key", "sync.key"):
            assert _mode(home / "keys" / name) == 0o600, home / "keys" / name


def _secrets(home: Path) -> list[str]:
    """Every form a key could take in a log line: raw text, hex, base64 of each key file and its halves."""
    out = []
    for name in ("data.key", "sync.key"):
        raw = (home / "keys" / name).read_bytes()
        for part in (raw, raw[:32], raw[32:]):
            if part:
                out += [part.hex(), base64.b64encode(part).decode(), base64.urlsafe_b64encode(part).decode()]
    return out


def test_no_id_number_password_or_key_in_logs_errors_exports(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    runner = CliRunner(env=cli_login_env())
    outputs: list[str] = []

    def run(*args: str, input: str | None = None, ok: bool = True, env: dict | None = None) -> str:
        result = runner.invoke(main, list(args), input=input, env=env)
        assert (result.exit_code == 0) == ok, result.output
        outputs.append(result.output)
        return result.output

    catalog = load_catalog()
    item = next(i for i in catalog.items if any(f.type == "bank_account" for f in i.fields))
    rng = random.Random(3)
    data = make_submission(item, rng, date.today())
    id_number, phone = data["applicant"]["id_number"], data["applicant"]["phone"]
    bank = next(v for f, v in data["fields"].items() if any(fd.key == f and fd.type == "bank_account"
                                                            for fd in item.fields))
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    phome, keys = make_platform(tmp_path)
    stick = tmp_path / "usb"
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
        township = make_station(tmp_path, phome, keys, TOWNSHIP, "township", url=server.url)
        v = ["--home", str(village)]
        run("operator", "add", "--name", "王小红", "--role", "agent", "--password-stdin", *v, input=PASSWORD + "\n")
        filed = json.loads(run("case", "file", "--item", item.code, "--data", str(data_file), "--json", *v,
                               env=cli_login_env("王小红", PASSWORD)))
        number = filed["case_number"]
        # errors that carry the applicant's data back: wrong item, missing field, wrong password
        run("case", "file", "--item", "NO-SUCH-ITEM", "--data", str(data_file), *v, ok=False,
            env=cli_login_env("王小红", PASSWORD))
        broken = dict(data, fields={})
        data_file.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
        run("case", "file", "--item", item.code, "--data", str(data_file), "--json", *v, ok=False,
            env=cli_login_env("王小红", PASSWORD))
        with Store.open(village) as store:
            with pytest.raises(StationError) as err:
                authenticate(store, "王小红", PASSWORD + "x")
            outputs.append(err.value.message + json.dumps(err.value.to_dict(), ensure_ascii=False))
        run("case", "show", number, *v)
        run("case", "list", "--search", id_number[-4:], "--json", *v)
        run("sync", "export", "--to", str(stick), *v)
        run("platform", "import", "--home", str(phome), "--from", str(stick))
        run("sync", "import", "--from", str(stick), *v)
        run("sync", "now", *v)
        run("sync", "status", "--json", *v)
        run("sync", "now", "--home", str(township))
        requests.post(server.url + "/v1/batches", data=b"VSEB" + bytes(200), timeout=5)  # a refusal, logged
    text = "\n".join(outputs) + "\n" + caplog.text
    assert "已收件" in "\n".join(outputs) or number in text  # the flow really ran
    usb = b"".join(p.read_bytes() for p in stick.rglob("*") if p.is_file())
    assert {p.suffix for p in stick.rglob("*") if p.is_file()} == {".json", ".vse", ".ack"}  # only envelopes
    dbs = b"".join(p.read_bytes() for home in (village, township, phome) for p in home.glob("*.db*"))
    for secret in (id_number, phone, bank, PASSWORD):
        assert secret not in text, f"{secret[:4]}… appears in logs or command output"
        assert secret.encode() not in usb, f"{secret[:4]}… is on the USB stick in clear"
        assert secret.encode() not in dbs, f"{secret[:4]}… is in a database file in clear"
    for home in (village, township, phome):
        for secret in _secrets(home):
            assert secret not in text and secret.encode() not in usb


# --- roles and jurisdiction -----------------------------------------------------------------------

def _refusals(store: Store) -> int:
    return store.conn.execute("SELECT COUNT(*) FROM events WHERE type=? AND station=?",
                              (ev.ACCESS_REFUSED, store.station_id)).fetchone()[0]


def test_roles_are_enforced_in_the_domain_and_every_refusal_is_audited(tmp_path: Path, catalog) -> None:
    from station.setup import init_station

    init_station(tmp_path / "v", VILLAGE, "测试村")
    init_station(tmp_path / "t", TOWNSHIP, "测试镇", "township")
    with Store.open(tmp_path / "v") as v, Store.open(tmp_path / "t") as t:
        agent = add_operator(v, "小王", "agent", "secret123", os_account())
        reviewer_v = add_operator(v, "村审核", "reviewer", "secret123", os_account())
        item = catalog.get("RS-CBZT-001")  # township-level item
        number = file_case(v, catalog, item.code, make_submission(item, random.Random(1), v.clock().date()),
                           agent).number
        t.ingest_remote([v.wire_event(e) for e in v.iter_events("origin='local'")])
        t_agent = add_operator(t, "镇代办", "agent", "secret123", os_account())
        reviewer = add_operator(t, "镇审核", "reviewer", "secret123", os_account())
        attempts = [
            (t, lambda: decide(t, number, Decision("accept"), t_agent)),          # an agent cannot decide
            (v, lambda: decide(v, number, Decision("accept"), reviewer_v)),       # not the village's to decide
            (v, lambda: file_case(v, catalog, item.code, make_submission(item, random.Random(2), v.clock().date()),
                                  reviewer_v)),                                   # a reviewer cannot file
        ]
        set_disabled(t, "镇审核", True, os_account())
        attempts.append((t, lambda: decide(t, number, Decision("accept"), reviewer)))   # disabled
        set_disabled(v, "小王", True, os_account())
        attempts.append((v, lambda: record_materials(v, number, ["x"], agent)))     # disabled cannot handle
        for store, attempt in attempts:
            before = _refusals(store)
            with pytest.raises(StationError) as err:
                attempt()
            assert err.value.code == "forbidden", err.value
            assert _refusals(store) == before + 1, f"refusal not audited: {err.value.message}"
        assert t.conn.execute("SELECT status FROM cases WHERE number=?", (number,)).fetchone()[0] == "received"


def test_a_reviewer_of_another_township_neither_sees_nor_decides(tmp_path: Path) -> None:
    """The gateway never routes another jurisdiction's cases, even when a station forges events for them."""
    phome, keys = make_platform(tmp_path)
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        homes = {code: make_station(tmp_path, phome, keys, code, role, url=server.url)
                 for code, role in ((VILLAGE, "village"), (OTHER_VILLAGE, "village"), (TOWNSHIP, "township"),
                                    (OTHER_TOWNSHIP, "township"))}
        with Store.open(homes[OTHER_VILLAGE]) as store:
            theirs = file_cases(store, 1)[0]
            assert sync_now(store).ok
        with Store.open(homes[VILLAGE]) as store:
            ours = file_cases(store, 1)[0]
            store.append("case.withdrawn", {"reason": "伪造"}, "王小红", theirs)  # a village forging another's case
            assert sync_now(store).ok
        with Store.open(homes[TOWNSHIP]) as store:
            assert sync_now(store).ok
            assert {r[0] for r in store.conn.execute("SELECT number FROM cases")} == {ours}
            assert not store.conn.execute("SELECT 1 FROM events WHERE case_number=?", (theirs,)).fetchone()
            store.append("case.accepted", {}, "赵审核", theirs)  # deciding outside its jurisdiction
            assert sync_now(store).ok
        with Store.open(homes[OTHER_TOWNSHIP]) as store:
            assert sync_now(store).ok
            assert {r[0] for r in store.conn.execute("SELECT number FROM cases")} == {theirs}
            assert not store.conn.execute("SELECT 1 FROM events WHERE station IN (?, ?)", (VILLAGE, TOWNSHIP)).fetchone()
        with Store.open(homes[OTHER_VILLAGE]) as store:
            assert sync_now(store).ok
            assert store.conn.execute("SELECT status FROM cases WHERE number=?", (theirs,)).fetchone()[0] == "received"
            assert not store.conn.execute("SELECT 1 FROM events WHERE station IN (?, ?)", (VILLAGE, TOWNSHIP)).fetchone()
        # refused by authority before any effect: kept as event refusals, never as the case's conflicts
        assert platform.store.conflicts() == []
        refused = {(r["station"], r["reason"]) for r in platform.store.event_refusals()}
        assert refused == {(VILLAGE, "foreign_case"), (TOWNSHIP, "out_of_jurisdiction")}


# --- the gateway under hostile HTTP ---------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _on_both_stores(platform_store: str | None) -> None:
    """The trust boundary holds on both platform stores (tests/conftest.py)."""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, platform_store):  # rebuilt for each platform store
    root = tmp_path_factory.mktemp("gw")
    phome, keys = make_platform(root)
    with Platform.open(phome) as platform:
        import dataclasses

        platform.config = dataclasses.replace(platform.config, rate_per_minute=1_000_000)
        with ServerThread(platform) as server:
            village = make_station(root, phome, keys, VILLAGE, url=server.url)
            yield server.url, load_or_create(village, VILLAGE), platform


def _assert_clean_4xx(resp: requests.Response) -> None:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:200])
    assert "Traceback" not in resp.text and "File \"" not in resp.text
    assert isinstance(resp.json()["error"]["code"], str)


def test_unenrolled_sender_is_refused_before_any_crypto(gateway) -> None:
    url, keys, _ = gateway
    header = env.Header(1, 1, "421381105299", "platform", 1, bytes(32), 1, 0, 0, 100).encode()
    resp = requests.post(url + "/v1/batches", data=header + bytes(100) + bytes(64), timeout=5)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "unknown_sender"  # not bad_signature


@pytest.mark.parametrize("after", ["99999999999999999999999", "²", "１２", "-1", "1e3", ""])
def test_inbox_cursor_out_of_range_is_a_4xx(gateway, after: str) -> None:
    url, keys, _ = gateway
    target = f"/v1/inbox?after={after}"
    resp = requests.get(url + target, headers={"X-Station-Auth": env.sign_request(keys, "GET", target)}, timeout=5)
    _assert_clean_4xx(resp)


header_text = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
       path=st.sampled_from(["/v1/batches", "/v1/inbox", "/v1/publish/calendar", "/v1/health", "/v1/x", "/"]),
       query=st.one_of(st.just(""), st.builds(lambda v: f"?after={v}", header_text)),
       body=st.one_of(st.binary(max_size=400), st.builds(lambda b: b"VSEB\x01\x01" + b, st.binary(max_size=300))),
       auth=st.one_of(st.none(), header_text, st.builds(lambda a, b: f"v1 {a} n {b}", header_text, header_text)),
       ctype=st.one_of(st.none(), header_text))
def test_http_fuzz_never_a_stack_trace(gateway, platform_store, method, path, query, body, auth, ctype) -> None:
    store = "postgres" if platform_store else "sqlite"  # platform_store: the PostgreSQL URL, None on SQLite
    HTTP_FUZZ[store] = HTTP_FUZZ.get(store, 0) + 1
    url, *_ = gateway
    headers = {k: v for k, v in (("X-Station-Auth", auth), ("Content-Type", ctype)) if v is not None}
    resp = requests.request(method, url + path + query, data=body, headers=headers, timeout=10)
    if resp.status_code == 200:
        assert path == "/v1/health"
        return
    _assert_clean_4xx(resp)


def test_report_http_fuzz_count() -> None:
    print(json.dumps({"requests_per_store": HTTP_FUZZ}))
