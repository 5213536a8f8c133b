"""Textual's own user-facing texts in Chinese.

Textual ships a few English words an operator sees: the select list's footer key ("esc Dismiss menu")
and the hint when Ctrl+C is pressed ("Do you want to quit? Press ctrl+q to quit the app", in
``StationApp.action_help_quit``). :func:`install` replaces the first before any screen is built;
tests/tui/test_tui_chinese.py walks every screen's footer and fails on an English word, so a Textual
upgrade that adds one is caught.
"""

from __future__ import annotations

from textual.binding import Binding


def install() -> None:
    """Give Textual's select overlay a Chinese footer binding (idempotent)."""
    from textual.widgets._select import SelectOverlay  # the overlay class has no public name

    SelectOverlay.BINDINGS = [Binding("escape", "dismiss", "关闭列表")]
    SelectOverlay._merged_bindings = SelectOverlay._merge_bindings()  # computed at class creation
