"""Step 1 of 新建办件: find the service item by name, code, pinyin or initials; see what it needs."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from forms.catalog import Catalog
from forms.schema import ServiceItem
from station.tui.widgets.intake.messages import ItemChosen

NOTHING_FOUND = "没有找到事项。可输入名称、编码、拼音或拼音首字母（如 gljt），或清空后从列表中选。"


class ItemStep(Horizontal):
    """The search box and list on the left, the highlighted item's summary on the right."""

    def __init__(self) -> None:
        super().__init__(id="step-item")
        self.catalog: Catalog | None = None
        self.usage: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="item-pick"):
            yield Input(placeholder="事项名称、编码或拼音首字母（如 gljt）", id="item-q")
            yield OptionList(id="items")
        yield Static("正在载入事项目录……", id="item-summary")

    def load(self, catalog: Catalog, usage: dict[str, int]) -> None:
        self.catalog, self.usage = catalog, usage
        self.fill(self.query_one("#item-q", Input).value)

    def fill(self, query: str) -> None:
        """The list for ``query``; with nothing typed, this station's most-used items first."""
        if self.catalog is None:
            return
        if query.strip():
            items = self.catalog.search(query, limit=30)
        else:
            items = sorted(self.catalog.items, key=lambda i: (-self.usage.get(i.code, 0), i.code))
        options = self.query_one("#items", OptionList)
        options.clear_options()
        for item in items:
            used = self.usage.get(item.code, 0)
            label = Text(item.short_name or item.name)
            if used:
                label.append(f"  已办{used}件", style="dim")
            options.add_option(Option(label, id=item.code))
        if items:
            options.highlighted = 0
            self.show_summary(items[0])
        else:  # an empty pane, not the last item's summary: nothing matches
            self.query_one("#item-summary", Static).update(NOTHING_FOUND)

    def show_summary(self, item: ServiceItem) -> None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("事项", item.name)
        grid.add_row("编码", f"{item.code}（第{item.version}版）")
        grid.add_row("部门", f"{item.department} · {item.handling_level_zh}")
        grid.add_row("时限", f"承诺{item.promised_limit} · 法定{item.statutory_limit}")
        grid.add_row("收费", item.fee)
        lines = Text()
        for i, m in enumerate(item.materials):
            lines.append(("\n" if i else "") + f"{i + 1}. {m.name}（{m.form}{m.copies}份）")
            if m.waivable:
                lines.append(" 可容缺", style="yellow")
            if not m.required:
                lines.append(" 非必需", style="dim")
        grid.add_row("材料", lines)
        if item.description:
            grid.add_row("说明", item.description)
        self.query_one("#item-summary", Static).update(grid)

    def focus_search(self) -> None:
        self.query_one("#item-q", Input).focus()

    @on(Input.Changed, "#item-q")
    def _query_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.fill(event.value)

    @on(Input.Submitted, "#item-q")
    def _query_entered(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#items", OptionList)
        if options.highlighted is not None and options.option_count:
            option = options.get_option_at_index(options.highlighted)
            if option.id:
                self.post_message(ItemChosen(option.id))

    @on(OptionList.OptionHighlighted, "#items")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if self.catalog is not None and event.option.id:
            self.show_summary(self.catalog.get(event.option.id))

    @on(OptionList.OptionSelected, "#items")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(ItemChosen(event.option.id))
