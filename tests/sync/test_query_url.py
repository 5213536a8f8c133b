"""The query URL the receipts' QR carries: published by the platform, delivered through the sync inbox,
checked at both ends, and decoded back from the printed PDF with zbarimg."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from station.audit import check
from station.cases import CaseReader
from station.cli import main
from station.operators import get_operator
from station.printing import print_case_document, published_query_url
from station.store import Store
from station.testing import TEST_ADMIN
from sync.gateway.testing import file_cases, make_station
from sync.service import sync_now
from tests.support import OTHER_VILLAGE, VILLAGE

TEMPLATE = "https://zwfw.example/q?n={case_number}"

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores


def station(world, code: str) -> Path:
    root, home, keys, url, _ = world
    return make_station(root, home, keys, code, "village", url)


def publish(phome: Path, template: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["platform", "publish-query-url", "--home", str(phome), template, "--json"])
    return result.exit_code, json.loads(result.output)


def decode_qr(pdf: Path, tmp_path: Path) -> str:
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "qr")], check=True)
    png = next(tmp_path.glob("qr*.png"))
    out = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True)
    png.unlink()
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def pdf_text(pdf: Path) -> str:
    return "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())


def print_receipt(home: Path, number: str, out: Path) -> str:
    """Print the citizen's copy of the receipt to ``out``; its query password."""
    with Store.open(home) as store:
        admin = get_operator(store, TEST_ADMIN)
        assert admin is not None
        print_case_document(store, number, "receipt", admin, out=out)
        return CaseReader(store).get(number).query_password(store.codec)


def test_published_template_reaches_stations_and_the_qr_becomes_the_link(world, tmp_path: Path) -> None:
    phome = world[1]
    village = station(world, VILLAGE)
    with Store.open(village) as store:
        number = file_cases(store, 1)[0]
        assert sync_now(store).ok
        assert published_query_url(store) is None

    # before: the QR is text, and the receipt does not promise a progress page
    before = tmp_path / "before.pdf"
    password = print_receipt(village, number, before)
    decoded = decode_qr(before, tmp_path)
    assert decoded == f"办件编号:{number} 查询密码:{password}"
    text = pdf_text(before)
    assert "扫码可读出办件编号" in text and "扫码查询进度" not in text and "二维码" not in text

    code, result = publish(phome, TEMPLATE)
    assert code == 0, result
    assert result["stations"] == 1 and result["template"] == TEMPLATE
    with Store.open(village) as store:
        assert sync_now(store).ok
        assert published_query_url(store) == TEMPLATE

    after = tmp_path / "after.pdf"
    print_receipt(village, number, after)
    decoded = decode_qr(after, tmp_path)
    assert decoded == f"https://zwfw.example/q?n={number}"
    assert password not in decoded
    text = pdf_text(after)
    assert "扫码查询进度" in text and "扫本回执上的二维码查询进度" in text

    # a station enrolled later gets it on enrolment, through its inbox
    late = station(world, OTHER_VILLAGE)
    with Store.open(late) as store:
        assert published_query_url(store) is None
        assert sync_now(store).ok
        assert published_query_url(store) == TEMPLATE


@pytest.mark.parametrize("bad", ["http://zwfw.example/q?n={case_number}", "https://zwfw.example/q",
                                 "https://zwfw.example/q?n={case_number}&p={query_password}",
                                 "https://zwfw.example/q?n={case_number}&n2={case_number}",
                                 "https://zwfw.example/q?n={case_number!r}", "https:///{case_number}",
                                 "https://zwfw.example/q?n= {case_number}", ""])
def test_a_bad_template_is_refused_and_nothing_is_published(world, bad: str) -> None:
    platform = world[4]
    before = platform.store.events_of_type("query_url.published")
    code, result = publish(world[1], bad)
    assert code != 0
    assert result["error"]["code"] == "bad_query_url" and "https://" in result["error"]["message"]
    assert platform.store.events_of_type("query_url.published") == before


def test_a_later_template_replaces_the_earlier_one(world) -> None:
    village = station(world, VILLAGE)
    assert publish(world[1], TEMPLATE)[0] == 0
    assert publish(world[1], "https://zwfw2.example/case/{case_number}/progress")[0] == 0
    with Store.open(village) as store:
        assert sync_now(store).ok
        assert published_query_url(store) == "https://zwfw2.example/case/{case_number}/progress"
        assert check(store).ok   # the projection is what a fresh fold of the log gives


def test_a_withdrawn_query_url_turns_the_qr_back_into_text_everywhere(world, tmp_path: Path) -> None:
    phome = world[1]
    village = station(world, VILLAGE)
    assert publish(phome, TEMPLATE)[0] == 0
    with Store.open(village) as store:
        number = file_cases(store, 1)[0]
        assert sync_now(store).ok
        assert published_query_url(store) == TEMPLATE

    result = CliRunner().invoke(main, ["platform", "withdraw-query-url", "--home", str(phome), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["withdrawn"] is True and json.loads(result.output)["stations"] == 1
    text = CliRunner().invoke(main, ["platform", "withdraw-query-url", "--home", str(phome)]).output
    assert "已撤回查询网址" in text
    with Store.open(village) as store:
        assert sync_now(store).ok
        assert published_query_url(store) is None
        assert check(store).ok  # a fresh fold of the log gives the same: withdrawn
    receipt = tmp_path / "receipt.pdf"
    password = print_receipt(village, number, receipt)
    assert decode_qr(receipt, tmp_path) == f"办件编号:{number} 查询密码:{password}"
    assert "扫码查询进度" not in pdf_text(receipt)

    # a station enrolled after the withdrawal gets publication and withdrawal in order: no link
    late = station(world, OTHER_VILLAGE)
    with Store.open(late) as store:
        assert sync_now(store).ok
        assert published_query_url(store) is None
    # and a new publication after a withdrawal works again
    assert publish(phome, TEMPLATE)[0] == 0
    with Store.open(late) as store:
        assert sync_now(store).ok
        assert published_query_url(store) == TEMPLATE
