"""The service catalog: `station catalog list|show`."""

from __future__ import annotations

import click

from station.cli.options import Context, command


def _catalog():
    from forms.catalog import load_catalog

    return load_catalog()


@click.group("catalog")
def catalog_group() -> None:
    """服务事项目录。"""


@command(catalog_group, "list")
@click.option("--search", default=None, help="按名称、编码、拼音或首字母查找")
def catalog_list(ctx: Context, search: str | None) -> None:
    """列出全部事项。"""
    catalog = _catalog()
    items = catalog.search(search, limit=100) if search else list(catalog.items)
    data = {"items": [{"code": i.code, "name": i.name, "version": i.version, "department": i.department,
                       "handling_level": i.handling_level, "promised_limit": i.promised_limit.to_dict()}
                      for i in items],
            "issues": [x.to_dict() for x in catalog.issues]}

    def text() -> str:
        lines = [f"{i.code:<16} {i.name}  （{i.department}，承诺{i.promised_limit}）" for i in items]
        lines += [f"目录文件有误：{x}" for x in catalog.issues]
        return "\n".join(lines) or "没有找到事项"

    ctx.out(data, text)


@command(catalog_group, "show")
@click.argument("code")
def catalog_show(ctx: Context, code: str) -> None:
    """显示一个事项的字段和材料。"""
    item = _catalog().get(code)

    def text() -> str:
        lines = [f"{item.name}（{item.code}，版本 {item.version}）", f"部门：{item.department}  类型：{item.item_type}",
                 f"办理层级：{item.handling_level_zh}  承诺时限：{item.promised_limit}  法定时限：{item.statutory_limit}",
                 f"收费：{item.fee}", "填写项目："]
        lines += [f"  {f.key:<20} {f.label}{'（必填）' if f.required else ''}" for f in item.fields]
        lines.append("申请材料：")
        lines += [f"  {m.key:<20} {m.name} {m.form}×{m.copies}{'（必需）' if m.required else ''}"
                  f"{'（可容缺）' if m.waivable else ''}" for m in item.materials]
        return "\n".join(lines)

    ctx.out(item.to_dict(), text)


COMMANDS: list[click.Command] = [catalog_group]
