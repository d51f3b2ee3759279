"""Report keys, rendering, and the one way every report writes times and counts, without S3."""

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from governance import settings
from governance.reports import counted, readable_time, render_html, safe_path_part


def test_run_ids_become_safe_object_key_parts():
    """Run ids with ':' and '+' make object keys that every S3 tool can handle."""
    assert safe_path_part("manual__2026-11-25T20:32:34.193005+00:00") == "manual__2026-11-25T20_32_34.193005_00_00"


def test_html_escapes_what_it_renders():
    """A value that looks like markup is shown, not run (reports are opened in browsers)."""
    report = {"run_id": "<script>x</script>", "status": "ok", "entries_checked": 0, "head": {"seq": 1, "hash": "h"},
              "anchors_checked": 0, "anchor_bucket": "b", "anchor_written": None, "signatures_checked": True,
              "foreign_objects_under_anchor_prefix": 0, "generated_at": "2026-12-01T04:30:00+00:00",
              "first_broken_seq": None, "reason": None, "summary": "<b>s</b>", "checked_against": []}
    html = render_html("ledger_verification.html.j2", report=report).decode()
    assert "<script>x</script>" not in html
    assert "<b>s</b>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


@pytest.mark.parametrize(("value", "text"), [
    (datetime(2026, 12, 1, 2, 0, tzinfo=UTC), "2026-12-01 02:00:00 UTC"),
    (datetime(2026, 12, 1, 5, 0, 7, 999_999, tzinfo=timezone(timedelta(hours=3))), "2026-12-01 02:00:07 UTC"),
    (datetime(2026, 12, 1, 2, 0), "2026-12-01 02:00:00 UTC"),  # naive: the database's UTC already
    ("2026-12-01T02:00:00.193005+00:00", "2026-12-01 02:00:00 UTC"),  # as the JSON documents hold them
    ("2026-12-01T03:00:00+01:00", "2026-12-01 02:00:00 UTC"),
    (date(2026, 12, 1), "2026-12-01"),
    ("2026-12-01", "2026-12-01"),
    (None, "—"),
])
def test_times_are_written_to_the_second_in_utc(value, text):
    """Every report writes a moment one way: to the second, in UTC, saying so; a date stays a date."""
    assert readable_time(value) == text


def test_counts_carry_their_noun():
    assert [counted(1, "row"), counted(12_345, "row"), counted(2, "entry", "entries"), counted(0, "account")] == [
        "1 row", "12,345 rows", "2 entries", "0 accounts"]


def test_report_templates_format_no_time_of_their_own():
    """Times reach the page only through the readable_time filter: no template formats one itself."""
    templates = sorted((settings.include_dir() / "templates").glob("*.html.j2"))
    assert len(templates) >= 10
    own_formatting = re.compile(r"strftime\([^)]*%H[^)]*\)|isoformat\(\)|\[:19\]|\.replace\(\"T\"")
    own = [f"{path.name}: {match}" for path in templates for match in own_formatting.findall(path.read_text())]
    assert own == []
