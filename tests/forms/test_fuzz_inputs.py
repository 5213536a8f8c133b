"""Fuzzing the parsers that take outside input: catalog files and case data. Only clear refusals."""

from __future__ import annotations

import json
import random
import string
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms.catalog import load_catalog
from forms.engine import validate_submission
from forms.problems import StationError
from station.sample_data import make_submission

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25)

FUZZ_COUNTER = {"catalog": 0, "case_data": 0, "case_data_mutated": 0}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=json_values)
def test_case_data_never_crashes(catalog, data) -> None:
    FUZZ_COUNTER["case_data"] += 1
    item = catalog.get("MZ-GLJT-001")
    try:
        validate_submission(item, data if isinstance(data, dict) else {"applicant": data}, date(2026, 11, 25))
    except StationError as err:
        assert err.message and all(p.field and p.code and p.message for p in err.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), path=st.lists(st.sampled_from(["applicant", "fields", "materials", "commitment"]),
                                                 min_size=1, max_size=1), value=json_values)
def test_mutated_valid_case_data_gives_field_errors(catalog, seed, path, value) -> None:
    FUZZ_COUNTER["case_data_mutated"] += 1
    rng = random.Random(seed)
    item = rng.choice(list(catalog.items))
    data = make_submission(item, rng, date(2026, 11, 25), waive=rng.random() < 0.5)
    section = data.setdefault(path[0], {})
    if isinstance(section, dict) and section and rng.random() < 0.7:
        section[rng.choice(list(section))] = value
    else:
        data[path[0]] = value
    try:
        validate_submission(item, data, date(2026, 11, 25))
    except StationError as err:
        assert err.problems, err.message
        assert all(p.message for p in err.problems)


toml_junk = st.text(alphabet=string.printable + "中文事项=[]{}\"'", max_size=400)


@settings(max_examples=150, deadline=None)
@given(text=toml_junk, keep=st.integers(0, 3000))
def test_catalog_files_never_crash_the_loader(tmp_path_factory, text, keep) -> None:
    FUZZ_COUNTER["catalog"] += 1
    folder = tmp_path_factory.mktemp("cat")
    real = sorted(Path(load_catalog.__globals__["DEFAULT_CATALOG_DIR"]).glob("*.toml"))[0]
    (folder / "a_real.toml").write_text(real.read_text(encoding="utf-8"), encoding="utf-8")
    truncated = real.read_text(encoding="utf-8")[:keep] + text
    (folder / "b_fuzzed.toml").write_text(truncated, encoding="utf-8")
    catalog = load_catalog(folder, use_cache=False)
    assert len(catalog.items) >= 1  # the good file still loads
    for issue in catalog.issues:
        assert issue.path.name == "b_fuzzed.toml" and issue.message


def test_report_fuzz_counts() -> None:
    """Printed with -s; docs/reliability.md records the counts per parser."""
    print(json.dumps(FUZZ_COUNTER))
