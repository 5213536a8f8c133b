"""The query URL template the platform publishes, and the link it makes for a case.

Kept apart from ``qr`` (no reportlab) because the platform checks a template before publishing it
and the station checks it again when the event arrives, neither of which draws anything.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from forms.problems import Problem

PLACEHOLDER = "case_number"
URL_MAX = 300
QUERY_URL_RULE = ("查询网址模板应以 https:// 开头，含有 {case_number}（办件编号的位置），不含其他 {…} 占位、"
                  f"空格或查询密码，且不超过{URL_MAX}个字符，例如 https://zwfw.example/q?n={{case_number}}")


def query_url_problems(template: str, field: str = "query_url") -> list[Problem]:
    """Why ``template`` is not a usable query URL template (an empty list: it is)."""
    def bad(why: str) -> list[Problem]:
        return [Problem(field, "bad_query_url", f"{why}。{QUERY_URL_RULE}")]

    if not isinstance(template, str) or not template.strip():
        return bad("查询网址模板为空")
    if len(template) > URL_MAX:
        return bad("查询网址模板太长")
    if not template.startswith("https://"):
        return bad("查询网址必须以 https:// 开头")
    if any(ch.isspace() or ord(ch) < 32 for ch in template):
        return bad("查询网址不能含空格或控制字符")
    slot = "{" + PLACEHOLDER + "}"
    if template.count(slot) != 1:
        return bad("查询网址模板必须含有一处 {case_number}")
    rest = template.replace(slot, "")
    if "{" in rest or "}" in rest:
        return bad("查询网址模板只能有 {case_number} 一个占位")
    parts = urlsplit(template.replace(slot, "X"))
    if not parts.hostname or parts.username or parts.password:
        return bad("查询网址缺少主机名，或含有用户名、密码")
    return []


def query_url(template: str, case_number: str) -> str:
    """The case's query link: the template with the case number (percent-encoded) in its place."""
    return template.replace("{" + PLACEHOLDER + "}", quote(case_number, safe="-"))
