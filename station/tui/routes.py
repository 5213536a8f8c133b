"""Where each screen lives. Screens never import each other: they ask the app for a screen by name
(``self.app.open("case", number=…)``), and the app builds it from this table, importing its module
only when it is first needed (so `station` starts fast and the login appears at once).
"""

from __future__ import annotations

import importlib
from typing import Any

from textual.screen import Screen

ROUTES: dict[str, tuple[str, str]] = {
    "setup": ("station.tui.screens.setup", "SetupScreen"),
    "first_admin": ("station.tui.screens.first_admin", "FirstAdminScreen"),
    "login": ("station.tui.screens.login", "LoginScreen"),
    "home": ("station.tui.screens.home", "HomeScreen"),
    "intake": ("station.tui.screens.intake", "IntakeScreen"),
    "result": ("station.tui.screens.result", "ResultScreen"),
    "search": ("station.tui.screens.search", "SearchScreen"),
    "case": ("station.tui.screens.case", "CaseScreen"),
    "review": ("station.tui.screens.review", "ReviewScreen"),
    "review_case": ("station.tui.screens.review_case", "ReviewCaseScreen"),
    "duplicates": ("station.tui.screens.review_case", "DuplicateScreen"),
    "stats": ("station.tui.screens.stats", "StatsScreen"),
    "sync": ("station.tui.screens.sync", "SyncScreen"),
    "settings": ("station.tui.screens.settings", "SettingsScreen"),
}


def screen_class(name: str) -> type[Screen]:
    try:
        module, cls = ROUTES[name]
    except KeyError:
        raise KeyError(f"no screen named {name!r}") from None
    return getattr(importlib.import_module(module), cls)


def build(name: str, **kwargs: Any) -> Screen:
    """A new screen ``name`` built with ``kwargs``."""
    return screen_class(name)(**kwargs)
