"""Station names for division codes, as this store has seen them (from ``station.initialised`` events)."""

from __future__ import annotations

from typing import Any

from station.tui import optional

SUFFIXES = ("便民服务站", "便民服务中心", "服务站")


def station_names(store: Any) -> dict[str, str]:
    printing = optional.printing()
    if printing is None or not hasattr(printing, "station_names"):
        return {}
    return dict(printing.station_names(store))


def village_label(code: str, names: dict[str, str]) -> str:
    """A short label for a village: its station name without the common suffix, else the code."""
    name = names.get(code, "")
    for suffix in SUFFIXES:
        if suffix in name and name != suffix:
            name = name.replace(suffix, "", 1)
            break
    return name or code
