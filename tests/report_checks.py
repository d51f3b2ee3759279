"""Checks on rendered run reports that the unit and the integration tests share."""

from __future__ import annotations

import re
from typing import Any

# A total cell of the purge's and the archival's tables: `<td class="n" data-total="rows_deleted">1,234 rows</td>`.
TOTAL_CELL = re.compile(r'<td class="n" data-total="(?P<name>\w+)">(?P<number>[\d,]+) (?P<unit>[a-z ]+)</td>')


def mixed_unit_totals(document: dict[str, Any], html: str) -> list[str]:
    """Every total the report shows, in its JSON or its HTML, that is not one counter summed over the rules,
    in that counter's unit: a total that added accounts to rows, or files to rows, is one. Empty when none."""
    units = {counter["name"]: counter["unit"] for counter in document["counters"]}
    problems = []
    for name, total in document["totals"].items():
        column = sum(rule[name] or 0 for rule in document["rules"])
        if total != column:
            problems.append(f"JSON total {name} is {total}, its column adds up to {column}")
    shown = list(TOTAL_CELL.finditer(html))
    if document.get("columns") and not document["dry_run"] and len(shown) != len(document["columns"]):
        problems.append(f"{len(shown)} totals shown for {len(document['columns'])} columns")
    for cell in shown:
        name, number = cell["name"], int(cell["number"].replace(",", ""))
        column = sum(rule[name] or 0 for rule in document["rules"])
        if number != column:
            problems.append(f"HTML total {name} is {number}, its column adds up to {column}")
        if cell["unit"].removesuffix("s") != units[name]:
            problems.append(f"HTML total {name} is in {cell['unit']}, the counter counts {units[name]}s")
    return problems


def opens_with_summary(document: dict[str, Any], html: str) -> bool:
    """The summary comes first: right after the title, before any table or section."""
    summary = f'<p class="summary">{escape(document["summary"])}</p>'
    return summary in html and html.index(summary) < min(
        (html.index(marker) for marker in ("<h2", "<table", "<dl") if marker in html), default=len(html))


def escape(text: str) -> str:
    """As Jinja's autoescape writes text into HTML."""
    from markupsafe import escape as markup_escape

    return str(markup_escape(text))
