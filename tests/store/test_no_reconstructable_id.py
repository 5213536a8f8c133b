"""Nothing reconstructable (issue 11): whoever copies station.db (and its WAL) of a village or a township
cannot rebuild an ID number from clear columns.

Before this, birth date, sex, the last four digits and the station's county code sat in clear: the
check digit then singled out each ID. Now the last four digits exist only as a keyed search token and
the birth date is not kept outside the sealed ID; searching by the last four still finds the case.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from datetime import date
from pathlib import Path

from forms.catalog import Catalog
from station.cases import CaseReader, file_case
from station.operators import add_operator, os_account
from station.sample_data import make_submission
from station.setup import init_station
from station.store import Store
from tests.support import TOWNSHIP, VILLAGE, FixedClock, ship

TODAY = date(2026, 9, 21)


def file_eight(store: Store, catalog: Catalog) -> list[str]:
    """Eight applicants with different IDs, across several items; returns their ID numbers."""
    agent = add_operator(store, "王小红", "agent", "secret123", os_account())
    rng = random.Random(11)
    items = [i for i in catalog.items if i.handling_level][:8]
    ids = []
    for item in (items * 8)[:8]:
        data = make_submission(item, rng, TODAY)
        file_case(store, catalog, item.code, data, agent)
        ids.append(data["applicant"]["id_number"])
    return ids


def clear_texts(db: Path) -> list[str]:
    """Every text value of every table of the file that is not a sealed ``{"$enc": …}`` value."""
    conn = sqlite3.connect(db)
    try:
        out = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out += [v for v in row if isinstance(v, str) and not v.startswith('{"$enc"')]
        return out
    finally:
        conn.close()


def file_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.glob("station.db*"))


def secrets_of(id_number: str) -> dict[str, list[str]]:
    born = id_number[6:14]
    return {"id": [id_number],
            "birth": [born, f"{born[:4]}-{born[4:6]}-{born[6:]}"],
            "last4": [id_number[-4:], id_number[-4:].lower()]}


def assert_nothing_reconstructable(home: Path, ids: list[str]) -> None:
    texts = clear_texts(home / "station.db")
    raw = file_bytes(home)
    for id_number in ids:
        s = secrets_of(id_number)
        for value in s["id"] + s["birth"]:
            assert value.encode() not in raw, f"{value} readable in {home.name}'s database file"
        for text in texts:  # the last four as a token of any clear text (search index included)
            for last4 in s["last4"]:
                assert not re.search(rf"(?<![0-9A-Za-z]){re.escape(last4)}(?![0-9A-Za-z])", text), \
                    f"last four digits {last4} in clear: {text[:80]}"


def test_village_and_township_databases_hold_nothing_that_rebuilds_an_id(tmp_path: Path, catalog: Catalog) -> None:
    clock = FixedClock()
    init_station(tmp_path / "v", VILLAGE, "测试村便民服务站", "village", clock=clock)
    init_station(tmp_path / "t", TOWNSHIP, "测试镇便民服务中心", "township", clock=clock)
    with Store.open(tmp_path / "v", clock=clock) as village, Store.open(tmp_path / "t", clock=clock) as township:
        ids = file_eight(village, catalog)
        ship(village, township)
        # the last four still find the case, through the keyed token
        for store in (village, township):
            reader = CaseReader(store, TODAY)
            for id_number in ids:
                found = reader.list(search=id_number[-4:], limit=100)
                assert any(c.reveal_id(store.codec) == id_number for c in found), id_number
            case = reader.list(limit=1)[0]
            assert case.id_last4 == case.reveal_id(store.codec)[-4:] and case.birth_date  # screens still show them
    assert_nothing_reconstructable(tmp_path / "v", ids)
    assert_nothing_reconstructable(tmp_path / "t", ids)


def test_an_older_database_is_scrubbed_when_it_is_opened(tmp_path: Path, catalog: Catalog) -> None:
    """A store of the previous schema (clear id_last4 and birth_date columns, clear last four in the
    search text) loses them on open: folded again, freed pages wiped by VACUUM."""
    home = tmp_path / "v"
    init_station(home, VILLAGE, "测试村便民服务站", "village", clock=FixedClock())
    with Store.open(home, clock=FixedClock()) as store:
        ids = file_eight(store, catalog)
    conn = sqlite3.connect(home / "station.db")
    conn.execute("ALTER TABLE cases ADD COLUMN id_last4 TEXT")
    conn.execute("ALTER TABLE cases ADD COLUMN birth_date TEXT")
    conn.execute("ALTER TABLE applicants ADD COLUMN id_last4 TEXT")
    conn.execute("ALTER TABLE applicants ADD COLUMN birth_date TEXT")
    for number, body in conn.execute("SELECT case_number, body FROM events WHERE type='case.filed'").fetchall():
        idx = conn.execute("SELECT rowid FROM cases WHERE number=?", (number,)).fetchone()[0]
        id_number = ids[idx - 1]
        born = f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
        conn.execute("UPDATE cases SET id_last4=?, birth_date=?, search_text=search_text || ' ' || ? WHERE number=?",
                     (id_number[-4:], born, id_number[-4:].lower(), number))
        conn.execute("UPDATE applicants SET id_last4=?, birth_date=? WHERE last_case=?", (id_number[-4:], born, number))
    conn.execute("PRAGMA user_version=4")
    conn.commit()
    conn.close()
    assert ids[0][-4:] in " ".join(clear_texts(home / "station.db"))  # the old leak, as it was
    with Store.open(home, clock=FixedClock()) as store:
        assert store.schema_version >= 5
        columns = {r[1] for r in store.conn.execute("PRAGMA table_info(cases)")}
        assert not {"id_last4", "birth_date"} & columns
        assert len(CaseReader(store, TODAY).list(search=ids[3][-4:], limit=50)) >= 1
    assert_nothing_reconstructable(home, ids)


def test_a_new_filing_carries_no_birth_date_in_clear(store: Store, agent, catalog: Catalog) -> None:
    """The event itself (which leaves for the township and the platform) keeps the birth date only
    inside the sealed ID."""
    item = catalog.search("gljt")[0]
    data = make_submission(item, random.Random(2), TODAY)
    number = file_case(store, catalog, item.code, data, agent).number
    (filed,) = [e for e in store.case_events(number) if e.type == "case.filed"]
    assert "birth_date" not in filed.body["applicant"]
    stored = json.dumps(filed.body, ensure_ascii=False)
    for value in secrets_of(data["applicant"]["id_number"])["birth"] + secrets_of(data["applicant"]["id_number"])["id"]:
        assert value not in stored
