"""Short village labels from station names (``station.printing.station_names``)."""

from __future__ import annotations

SUFFIXES = ("便民服务站", "便民服务中心", "服务站")


def village_label(code: str, names: dict[str, str]) -> str:
    """A short label for a village: its station name without the common suffix, else the code."""
    name = names.get(code, "")
    for suffix in SUFFIXES:
        if suffix in name and name != suffix:
            name = name.replace(suffix, "", 1)
            break
    return name or code
