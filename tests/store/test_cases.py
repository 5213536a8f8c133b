"""Filing, finding and reading cases against a real SQLite store."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from station.cases import CaseReader, file_case, record_materials
from station.casenumber import parse
from forms.problems import StationError
from station.sample_data import make_submission
from tests.support import item_by_initials


def _count_events(store) -> int:
    return store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def test_filing_issues_number_password_and_due_date(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    filed = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)
    number = parse(filed.number)
    assert number.village_code == store.station_id and number.sequence == 1
    assert len(filed.query_password) == 6 and filed.query_password.isdigit()
    # 22 working days from Monday 2026-09-21 skip the National Day week (10-01..07) and count the
    # make-up Saturdays 09-20? no (before), 10-10 yes.
    case = CaseReader(store).get(filed.number)
    assert case.status == "received" and case.item_version == item.version
    assert case.promised_due == filed.promised_due
    assert date.fromisoformat(case.promised_due) > date(2026, 10, 21)
    assert not case.promised_estimate


def test_numbers_count_up_per_day_and_restart_next_day(store, catalog, agent, rng, clock) -> None:
    item = item_by_initials(catalog, "sbkqy")
    first = [file_case(store, catalog, item.code, make_submission(item, rng, clock().date()), agent).number
             for _ in range(3)]
    assert [parse(n).sequence for n in first] == [1, 2, 3]
    clock.set_day(clock().date() + timedelta(days=1))
    nxt = file_case(store, catalog, item.code, make_submission(item, rng, clock().date()), agent).number
    assert parse(nxt).sequence == 1 and parse(nxt).day == clock().date()


def test_search_by_number_name_pinyin_initials_last4_and_item(store, catalog, agent, rng) -> None:
    today = store.clock().date()
    gljt = item_by_initials(catalog, "gljt")
    other = item_by_initials(catalog, "sydj")
    target = file_case(store, catalog, gljt.code, make_submission(gljt, rng, today, name="欧阳春华",
                                                                   id_number="11010519401231018X"), agent)
    for _ in range(20):
        file_case(store, catalog, other.code, make_submission(other, rng, today), agent)
    reader = CaseReader(store)
    for query in ("欧阳春华", "欧阳", "ouyang", "ouyangchunhua", "oych", "018x", "018X", target.number,
                  target.number.replace("-", "")[:20], "高龄津贴", "gljt"):
        hits = [c.number for c in reader.list(search=query)]
        assert target.number in hits, query
    assert [c.number for c in reader.list(search="欧阳春华")] == [target.number]
    assert reader.list(search="不存在的人") == []


def test_status_overdue_and_near_due_filters(store, catalog, agent, rng, clock) -> None:
    item = item_by_initials(catalog, "sbkqy")  # 1 working day
    filed = file_case(store, catalog, item.code, make_submission(item, rng, clock().date()), agent)
    assert CaseReader(store, clock().date()).list(overdue=True) == []
    assert [c.number for c in CaseReader(store, clock().date()).list(near_due=True)] == [filed.number]
    later = clock().date() + timedelta(days=20)
    assert [c.number for c in CaseReader(store, later).list(overdue=True)] == [filed.number]
    assert CaseReader(store, later).get(filed.number).overdue
    assert [c.number for c in CaseReader(store).list(status="received")] == [filed.number]
    with pytest.raises(StationError):
        CaseReader(store).list(status="nonsense")


def test_show_masks_personal_data_unless_revealed(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    data = make_submission(item, rng, store.clock().date(), id_number="11010519401231018X")
    filed = file_case(store, catalog, item.code, data, agent)
    case = CaseReader(store).get(filed.number)
    shown = case.to_dict(store.codec)
    assert shown["applicant"]["id_number"] == "1101**********018X"
    assert data["applicant"]["phone"] not in str(shown)
    assert data["fields"]["bank_account"] not in str(shown)
    revealed = case.to_dict(store.codec, reveal=True)
    assert revealed["applicant"]["id_number"] == "11010519401231018X"
    assert revealed["fields"]["bank_account"] == data["fields"]["bank_account"]
    assert case.query_password(store.codec) == filed.query_password
    assert [t.type for t in case.timeline] == ["case.filed"]


@pytest.mark.parametrize("mutate, code", [
    (lambda d: d["applicant"].update(id_number="110105194912310021"), "invalid_submission"),
    (lambda d: d["materials"].update(id_card="missing"), "invalid_submission"),
    (lambda d: d["materials"].update(id_card="waived"), "invalid_submission"),
    (lambda d: d["fields"].update(age=30), "invalid_submission"),
    (lambda d: d["applicant"].update(address="村" * 5000), "invalid_submission"),
])
def test_bad_input_is_refused_and_nothing_is_written(store, catalog, agent, rng, mutate, code) -> None:
    item = item_by_initials(catalog, "gljt")
    data = make_submission(item, rng, store.clock().date())
    mutate(data)
    before = _count_events(store)
    with pytest.raises(StationError) as err:
        file_case(store, catalog, item.code, data, agent)
    assert err.value.code == code
    assert err.value.problems and all(p.message for p in err.value.problems)
    assert _count_events(store) == before
    assert store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


def test_unknown_item_and_oversized_data(store, catalog, agent, rng) -> None:
    with pytest.raises(StationError) as err:
        file_case(store, catalog, "NO-SUCH-ITEM", {"applicant": {}}, agent)
    assert err.value.code == "unknown_item"
    item = item_by_initials(catalog, "gljt")
    data = make_submission(item, rng, store.clock().date())
    data["fields"]["padding"] = "x" * 70_000
    with pytest.raises(StationError) as err:
        file_case(store, catalog, item.code, data, agent)
    assert err.value.code == "too_large"


def test_waiver_needs_commitment_and_is_tracked_until_brought(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    today = store.clock().date()
    data = make_submission(item, rng, today, waive=True)
    assert data["commitment"]["due_date"]
    without = {**data, "commitment": {}}
    with pytest.raises(StationError) as err:
        file_case(store, catalog, item.code, without, agent)
    assert any(p.field.startswith("commitment") for p in err.value.problems)
    filed = file_case(store, catalog, item.code, data, agent)
    assert filed.waived
    reader = CaseReader(store)
    assert [c.number for c in reader.list(waiting_materials=True)] == [filed.number]
    waived = [m for m in reader.get(filed.number).materials if m.status == "waived"]
    assert all(m.due_date == data["commitment"]["due_date"] for m in waived)
    record_materials(store, filed.number, [m.key for m in waived], agent)
    assert reader.list(waiting_materials=True) == []
    assert all(m.status == "received" for m in CaseReader(store).get(filed.number).materials)


def test_a_township_station_cannot_file(tmp_path, catalog, rng) -> None:
    from station.operators import os_account
    from station.setup import init_station
    from station.store import Store

    init_station(tmp_path / "t", "421381105000", "示范镇中心", "township")
    with Store.open(tmp_path / "t") as store:
        item = item_by_initials(catalog, "gljt")
        with pytest.raises(StationError) as err:
            file_case(store, catalog, item.code, make_submission(item, random.Random(1), date.today()), os_account())
        assert err.value.code == "wrong_role"


def test_any_written_form_of_a_case_number_finds_the_case(store, catalog, agent, rng) -> None:
    """The number as the table shows it, as the receipt prints it, without dashes, day + sequence
    (issue 15): each finds the case in search and in get(); a form shared by two cases lists both."""
    from printouts.formatting import group_case_number
    from station.casenumber import parse

    item = item_by_initials(catalog, "gljt")
    first = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent).number
    second = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent).number
    reader = CaseReader(store)
    short = first.split("-", 1)[1]                      # 260921-0001-X, as the tables show it
    forms = [first, first.replace("-", ""), group_case_number(first), group_case_number(first, two_lines=True),
             short, short.replace("-", ""), short.rsplit("-", 1)[0], short.rsplit("-", 1)[0].replace("-", " "),
             first.rsplit("-", 1)[0].replace("-", ""), first.lower()]
    for form in forms:
        assert [c.number for c in reader.list(search=form)] == [first], form
        assert reader.get(form).number == first, form
    assert reader.get(second.split("-", 1)[1]).number == second
    # a wrong check character is a misread number: the error says so instead of finding nothing
    wrong = first[:-1] + ("0" if first[-1] != "0" else "1")
    with pytest.raises(StationError) as err:
        reader.get(wrong)
    assert err.value.code == "bad_case_number" and "校验位" in err.value.message
    assert reader.get(short.rsplit("-", 1)[0]).number == first


def test_a_short_number_shared_by_two_villages_lists_both(tmp_path, catalog, rng) -> None:
    """At the township two villages' first cases of a day share day + sequence: the short form is
    ambiguous, get() says so with both candidates, search shows both."""
    from station.operators import add_operator, os_account
    from station.setup import init_station
    from station.store import Store
    from tests.support import TOWNSHIP, VILLAGE, VILLAGE_2, FixedClock, ship

    clock = FixedClock()
    numbers = []
    for code in (VILLAGE, VILLAGE_2, TOWNSHIP):
        init_station(tmp_path / code, code, f"测试{code}", "township" if code == TOWNSHIP else "village", clock=clock)
    with Store.open(tmp_path / TOWNSHIP, clock=clock) as township:
        for code in (VILLAGE, VILLAGE_2):
            with Store.open(tmp_path / code, clock=clock) as village:
                agent = add_operator(village, "王小红", "agent", "secret123", os_account())
                item = item_by_initials(catalog, "gljt")
                numbers.append(file_case(village, catalog, item.code,
                                         make_submission(item, rng, clock().date()), agent).number)
                ship(village, township)
        short = numbers[0].split("-", 1)[1].rsplit("-", 1)[0]  # day + sequence: the same for both
        reader = CaseReader(township)
        with pytest.raises(StationError) as err:
            reader.get(short)
        assert err.value.code == "ambiguous_case_number"
        assert set(err.value.details["candidates"]) == set(numbers)
        assert err.value.to_dict()["error"]["candidates"] and all(n in err.value.message for n in numbers)
        assert {c.number for c in reader.list(search=short)} == set(numbers)
        with_check = [n.split("-", 1)[1] for n in numbers]  # the check characters differ: each is unique
        assert with_check[0] != with_check[1] and reader.get(with_check[1]).number == numbers[1]
