"""Service points and devices: which PC of which village or township an event, a batch or a key is.

A **service point** is a village or township, named by its 12-digit division code. A **device** is one
PC of it, numbered 1 to :data:`MAX_DEVICES`. Each device has its own keys, enrolment, event sequence
and batch chain, so everything that travels is named by the device's **station id**:

    device 1     the bare division code          421381105201
    device N≥2   the division code, "-d", N      421381105201-d2

Device 1 keeps the bare code so that every home made before devices existed is device 1 as it is:
its events (``421381105201:17``), its enrolment, its batch chain on the platform and its case numbers
stay valid with no migration on either side. The service point is always the first 12 characters of
a station id, so jurisdiction (a code prefix) works on device ids unchanged.
"""

from __future__ import annotations

import re

from forms.problems import Problem, StationError

MAX_DEVICES = 9
_STATION_ID = re.compile(r"^(\d{12})(?:-d([2-9]))?$")


def station_id(division: str, device: int) -> str:
    """The wire identity of device ``device`` of the service point ``division``."""
    check_device(device)
    return division if device == 1 else f"{division}-d{device}"


def check_device(device: object, field: str = "device") -> int:
    if isinstance(device, bool) or not isinstance(device, int) or not 1 <= device <= MAX_DEVICES:
        raise StationError("bad_device", f"设备编号应为 1 到 {MAX_DEVICES} 的整数，收到 {device!r}",
                           [Problem(field, "bad_device", f"设备编号应为 1 到 {MAX_DEVICES}")])
    return device


def parse_station_id(text: str) -> tuple[str, int] | None:
    """(division code, device) of a well-formed station id, else None."""
    m = _STATION_ID.match(text or "")
    if not m:
        return None
    return m.group(1), int(m.group(2) or 1)


def service_point(sid: str) -> str:
    """The service point (division code) of a station id."""
    return sid[:12]


def device_of(sid: str) -> int:
    parsed = parse_station_id(sid)
    return parsed[1] if parsed else 1


def device_label(sid: str) -> str:
    """How screens and papers name a device: 「1号机」."""
    return f"{device_of(sid)}号机"


def same_service_point(a: str, b: str) -> bool:
    return service_point(a) == service_point(b)
