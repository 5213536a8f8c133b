"""Test and benchmark support that ships with the code: a settable clock and the division codes of
the worlds the tests and benches build (one set, so a village is the same village everywhere).

Nothing here is used by the product itself.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

VILLAGE = "421381105201"          # 湖北省 应城市 … 村 (a valid 12-digit village code)
VILLAGE_2 = "421381105202"        # another village of the same township
TOWNSHIP = "421381105000"         # the township covering both
OTHER_VILLAGE = "421381106201"    # a village of another township
OTHER_TOWNSHIP = "421381106000"   # that other township


# The administrator that test and bench homes are created with (`station init --admin`), and the
# environment a script uses to log in on the CLI as that operator.
TEST_ADMIN = "测试管理员"
TEST_PASSWORD = "admin1234"


def cli_login_env(name: str = TEST_ADMIN, password: str = TEST_PASSWORD) -> dict[str, str]:
    """STATION_OPERATOR / STATION_PASSWORD for running `station` commands as ``name``."""
    return {"STATION_OPERATOR": name, "STATION_PASSWORD": password}


class FixedClock:
    """A settable clock for the store (dates decide case numbers and due dates)."""

    def __init__(self, now: datetime = datetime(2026, 9, 21, 10, 0)):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set_day(self, day: date, at: time = time(10, 0)) -> None:
        self.now = datetime.combine(day, at)


class CrowdedDayClock:
    """The wall clock moved on by one day per ``per_day`` cases already filed at a home.

    Hundreds of kill -9 rounds (bench/torture.py) file more cases than one day's case numbers allow;
    a worker calls :meth:`follow` before each filing so the numbers run on over the following days.
    The station's own clock checks accept a clock ahead of the platform by far less than a year.
    """

    def __init__(self, per_day: int = 500):
        self.per_day = per_day
        self.days = 0

    def __call__(self) -> datetime:
        return datetime.now() + timedelta(days=self.days)

    def follow(self, store: Any) -> None:
        filed = store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
        self.days = max(self.days, filed // self.per_day)
