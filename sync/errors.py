"""The one exception type of the sync package (a StationError, so every face already shows it)."""

from __future__ import annotations

from typing import Any

from forms.problems import StationError


class SyncError(StationError):
    """A sync failure. ``retry`` says whether trying again later can help (link down, server busy)."""

    def __init__(self, code: str, message: str, retry: bool = False, **details: Any):
        super().__init__(code, message, **details)
        self.retry = retry
