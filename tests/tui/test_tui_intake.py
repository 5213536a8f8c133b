"""The new-case wizard, by keyboard only: item search, ID checked as typed, validation as fields are
left, 容缺 with its commitment, save, and drafts that survive leaving the screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any


from station.cases import CaseReader
from station.store import Store
from station.tui import drafts
from station.tui.app import StationApp
from station.tui.screens.intake import IntakeScreen
from station.tui.screens.result import ResultScreen
from tests.support.tui import Clock, TODAY, log_in, text_of, type_fields, wait_for

APPLICANT_ID = "11010519401231018X"  # valid check digit, born 1940-12-31, female: 85 on 2026-09-21


def luhn(partial: str) -> str:
    """``partial`` completed with its Luhn check digit (a valid bank card number)."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return partial + str((10 - total % 10) % 10)


async def open_wizard(pilot) -> IntakeScreen:
    await log_in(pilot)
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, IntakeScreen) and pilot.app.screen.catalog is not None)
    return pilot.app.screen


async def fill_applicant(pilot, screen: IntakeScreen) -> None:
    await pilot.press(*"gljt", "enter")  # pinyin initials → 高龄津贴申领
    await wait_for(pilot, lambda: screen.state["step"] == 1)
    assert screen.item is not None and screen.item.code == "MZ-GLJT-001"
    await type_fields(pilot, "张秀英", APPLICANT_ID[:10], submit=False)
    await pilot.pause(0.05)
    assert text_of(screen.query_one("#id-info")) == "已输入 10/18 位"
    await pilot.press(*APPLICANT_ID[10:])
    await wait_for(pilot, lambda: "女" in text_of(screen.query_one("#id-info")))
    assert "1940-12-31" in text_of(screen.query_one("#id-info"))
    await type_fields(pilot, "", "13800138000", "示范村一组8号", "女儿")
    await wait_for(pilot, lambda: screen.state["step"] == 2)


async def test_file_a_case_by_keyboard_with_waiver(demo_home: Path, catalog) -> None:
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_wizard(pilot)
        await fill_applicant(pilot, screen)
        # Form fields: an age the ID contradicts is reported when the field is left.
        await pilot.press(*"95", "tab")
        age_error = screen.query_one("#err-fields-age")
        await wait_for(pilot, lambda: text_of(age_error) != "")
        assert text_of(age_error) == "周岁年龄应为85（按身份证出生日期计算），填写的是95"
        await pilot.press("shift+tab", "ctrl+u", *"85", "tab")
        await wait_for(pilot, lambda: text_of(age_error) == "")
        await pilot.press("enter", "down", "enter", "tab")           # 居住情况: 独居
        await pilot.press("enter", "down", "down", "enter", "tab")   # 其他地方领取: 否
        await pilot.press(*"6217000000000000001", "tab")             # wrong Luhn check
        account_error = screen.query_one("#err-fields-bank_account")
        await wait_for(pilot, lambda: "Luhn" in text_of(account_error))
        await pilot.press("shift+tab", "ctrl+u", *luhn("621700000000000000"), "tab")
        await wait_for(pilot, lambda: text_of(account_error) == "")
        assert text_of(account_error) == ""
        await pilot.press(*"农村商业银行", "enter")
        await wait_for(pilot, lambda: screen.state["step"] == 3)
        # Materials: ID card received, 户口簿 waived (allowed), the rest received.
        await pilot.press("1", "3", "1", "1", "1")
        assert screen.state["materials"] == {"id_card": "received", "hukou_book": "waived", "bank_card": "received",
                                             "photo": "received", "application_form": "received"}
        assert screen.query_one("#commitment").display
        # The review lists what is still missing: the commitment is not signed, no due date.
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.state["step"] == 4)
        review = text_of(screen.query_one("#review-problems"))
        assert "容缺受理须由申请人签署承诺书" in review and "请约定「户口簿」的补交日期" in review
        await pilot.press("ctrl+s")  # refused: nothing saved
        await pilot.pause(0.2)
        assert isinstance(app.screen, IntakeScreen)
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: screen.state["step"] == 3)
        # A waiver of a material that does not allow it is refused on the spot.
        await pilot.press("up", "up", "up", "up", "up", "3")
        assert screen.state["materials"]["id_card"] == "received"
        assert "不允许容缺" in text_of(screen.query_one("#materials-problems"))
        await pilot.press("tab", "space", "tab", "tab", *"2026-10-09")  # signed, signer prefilled, due date
        assert screen.state["commitment"] == {"signed": True, "signer": "张秀英", "due_date": "2026-10-09"}
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.state["step"] == 4)
        assert "Ctrl+S" in text_of(screen.query_one("#review-problems"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        result = app.screen
        filed = result.filed
        assert filed.number.startswith("421381105201-260921-")
        assert result.query_one("#password").value == filed.query_password
        assert filed.waived == ("hukou_book",)
    with Store.open(demo_home, clock=Clock()) as store:
        case = CaseReader(store, TODAY).get(filed.number)
        assert case.applicant_name == "张秀英" and case.sex == "女" and case.relationship == "女儿"
        assert {m.key: (m.status, m.due_date) for m in case.materials}["hukou_book"] == ("waived", "2026-10-09")
        assert case.fields(store.codec)["age"] == 85
        assert not drafts.draft_path(demo_home, store.codec, "王小红").exists()  # cleared on save


async def test_draft_survives_leaving_and_is_resumed(demo_home: Path, catalog) -> None:
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_wizard(pilot)
        await pilot.press(*"gljt", "enter")
        await wait_for(pilot, lambda: screen.state["step"] == 1)
        await type_fields(pilot, "张秀英", APPLICANT_ID, "1380013", submit=False)
        await pilot.press("escape")  # back to 首页; nothing typed is lost
        await wait_for(pilot, lambda: not isinstance(app.screen, IntakeScreen))
        store = app.session.require_store()
        path = drafts.draft_path(demo_home, store.codec, "王小红")
        await wait_for(pilot, path.exists)
        assert APPLICANT_ID not in path.read_text(encoding="utf-8")  # personal data sealed at rest
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, IntakeScreen) and app.screen.item is not None)
        again = app.screen
        await wait_for(pilot, lambda: again.query_one("#a-phone").value == "1380013")
        assert again.query_one("#a-name").value == "张秀英"
        assert again.query_one("#a-id_number").value == APPLICANT_ID
        assert again.state["step"] == 1


async def test_draft_is_read_back_after_a_crash(demo_home: Path, catalog) -> None:
    """A draft written by a previous run (the process died) is resumed by the next run."""
    with Store.open(demo_home) as store:
        drafts.save_draft(demo_home, store.codec, "王小红",
                          {"step": 2, "item_code": "MZ-GLJT-001", "applicant": {"name": "李桂兰"},
                           "fields": {"age": "91"}, "materials": {"id_card": "received"},
                           "commitment": {"signed": False, "signer": "", "due_date": ""}})
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, IntakeScreen) and app.screen.state["step"] == 2)
        screen = app.screen
        await wait_for(pilot, lambda: screen.query("#f-age") and screen.query_one("#f-age").value == "91")
        assert screen.query_one("#a-name").value == "李桂兰"
        assert screen.state["materials"]["id_card"] == "received"


async def test_earlier_applicant_found_by_id(demo_home: Path, catalog) -> None:
    with Store.open(demo_home) as store:
        case = CaseReader(store, TODAY).list(limit=1)[0]
        known_id = case.reveal_id(store.codec)
        known_phone = case.reveal_phone(store.codec)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_wizard(pilot)
        await pilot.press(*"gljt", "enter")
        await wait_for(pilot, lambda: screen.state["step"] == 1)
        await pilot.press("tab", *known_id)
        await wait_for(pilot, lambda: screen.query_one("#a-name").value == case.applicant_name)
        assert screen.query_one("#a-phone").value == known_phone
        assert "本站曾为" in text_of(screen.query_one("#known"))


async def review_without_the_form(pilot: Any) -> Any:
    """高龄津贴 filled in whole but for its application form (missing, not waivable), at the review step."""
    screen = await open_wizard(pilot)
    await fill_applicant(pilot, screen)
    await pilot.press(*"85", "tab")
    await pilot.press("enter", "down", "enter", "tab")
    await pilot.press("enter", "down", "down", "enter", "tab")
    await pilot.press(*luhn("621700000000000000"), "tab")
    await pilot.press(*"农村商业银行", "enter")
    await wait_for(pilot, lambda: screen.state["step"] == 3)
    await pilot.press("1", "1", "1", "1", "2")        # the application form: missing
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: screen.state["step"] == 4)
    return screen


async def test_an_application_that_cannot_be_taken_gets_a_written_inform(demo_home: Path, catalog) -> None:
    """The engine refuses (the application form is missing and cannot be waived): the review step
    offers Ctrl+G, which records a 告知件 and prints its 一次性告知书 under its own number."""
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await review_without_the_form(pilot)
        review = text_of(screen.query_one("#review-problems"))
        assert "高龄津贴申请审批表" in review and "Ctrl+G" in review
        assert screen.check_action("save", ()) and screen.check_action("inform", ())
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: not isinstance(app.screen, IntakeScreen))
        consultation = screen.last_consultation
    with Store.open(demo_home, clock=Clock()) as store:
        number, item_code, converted = store.conn.execute(
            "SELECT number, item_code, converted_case FROM consultations").fetchone()
        assert number == consultation.number and item_code == "MZ-GLJT-001" and converted is None
        printed = store.conn.execute("SELECT count, last_path FROM prints WHERE case_number=? AND kind='inform'",
                                     (number,)).fetchone()
        assert printed[0] == 1 and (demo_home / printed[1]).is_file()
        assert not drafts.draft_path(demo_home, store.codec, "王小红").exists()


async def test_a_reopened_draft_never_loses_a_keystroke(demo_home: Path, catalog) -> None:
    """Reopening a draft puts the cursor in a filled box without selecting its text: the next key adds
    to the name instead of wiping it; F8 asks before it throws the draft away (issue 15)."""
    with Store.open(demo_home) as store:
        drafts.save_draft(demo_home, store.codec, "王小红",
                          {"step": 1, "item_code": "MZ-GLJT-001", "applicant": {"name": "李桂"},
                           "fields": {}, "materials": {}, "commitment": {"signed": False, "signer": "", "due_date": ""}})
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, IntakeScreen) and app.screen.state["step"] == 1)
        screen = app.screen
        await wait_for(pilot, lambda: app.focused is screen.query_one("#a-name"))
        await pilot.press("end", "兰")
        assert screen.query_one("#a-name").value == "李桂兰"
        await pilot.press("f8")
        from station.tui.screens.dialogs import ConfirmDialog

        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")  # keep it
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.query_one("#a-name").value == "李桂兰"
        path = drafts.draft_path(demo_home, app.session.require_store().codec, "王小红")
        await wait_for(pilot, lambda: path.exists() and "step" in drafts.load_draft(
            demo_home, app.session.require_store().codec, "王小红"))
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, IntakeScreen) and app.screen is not screen)
        await wait_for(pilot, lambda: not path.exists())


async def test_nothing_found_shows_an_empty_pane_not_the_last_item(demo_home: Path, catalog) -> None:
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_wizard(pilot)
        await pilot.press(*"gljt")
        await wait_for(pilot, lambda: screen.query_one("#items").option_count > 0)
        assert not isinstance(screen.query_one("#item-summary").content, str)  # the item's summary grid
        await pilot.press(*"zzzzqq")
        await wait_for(pilot, lambda: "没有找到事项" in text_of(screen.query_one("#item-summary")))
        assert screen.query_one("#items").option_count == 0


async def test_the_same_person_and_item_open_here_is_shown_before_saving(demo_home: Path, catalog) -> None:
    """Duplicates at the counter (issue 15): the review step names the open case and its state; saving
    needs a reason, which the case records."""
    from forms.identity import parse_resident_id

    import random

    from station.cases import file_case
    from station.operators import os_account
    from station.sample_data import make_submission

    with Store.open(demo_home, clock=Clock()) as store:  # an open 高龄津贴 of this person, filed earlier
        number = file_case(store, catalog, "MZ-GLJT-001",
                           make_submission(catalog.get("MZ-GLJT-001"), random.Random(41), TODAY), os_account()).number
        other = CaseReader(store, TODAY).get(number)
        same_id = other.reveal_id(store.codec)
    born = parse_resident_id(same_id).birth_date
    age = TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_wizard(pilot)
        await pilot.press(*"gljt", "enter")
        await wait_for(pilot, lambda: screen.state["step"] == 1)
        await type_fields(pilot, "张秀英", same_id, submit=False)
        await wait_for(pilot, lambda: "本站曾为" in text_of(screen.query_one("#known")))
        await wait_for(pilot, lambda: screen.query_one("#a-phone").value != "")  # the earlier phone, filled in
        screen.query_one("#a-address").focus()
        await type_fields(pilot, "示范村一组8号", "女儿")
        await wait_for(pilot, lambda: screen.state["step"] == 2)
        for key, value in (("age", str(age)), ("living_arrangement", "独居"), ("receives_other_allowance", "否"),
                           ("bank_account", luhn("621700000000000000")), ("bank_name", "农村商业银行")):
            screen.query_one(f"#f-{key}").value = value
        await wait_for(pilot, lambda: screen.state["fields"].get("bank_name") == "农村商业银行")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.state["step"] == 3)
        await pilot.press("a", "ctrl+n")
        await wait_for(pilot, lambda: screen.state["step"] == 4)
        assert screen._problems() == []
        await wait_for(pilot, lambda: bool(screen.duplicates) and screen.query_one("#duplicate").display)
        warning = text_of(screen.query_one("#duplicate-warning"))
        assert other.number in warning and other.status_label in warning
        await pilot.press("ctrl+s")  # no reason yet: not saved
        await wait_for(pilot, lambda: "理由" in str(screen.query_one("#review-problems").render()))
        assert isinstance(app.screen, IntakeScreen)
        screen.query_one("#dup-reason").value = "上次材料不全已撤回重办"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        filed = app.screen.filed
    with Store.open(demo_home, clock=Clock()) as store:
        case = CaseReader(store, TODAY).get(filed.number)
        assert "上次材料不全已撤回重办" in case.timeline[0].detail and other.number in case.timeline[0].detail
