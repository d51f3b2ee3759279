"""Report keys and rendering, without S3."""

from governance.reports import render_html, safe_path_part


def test_run_ids_become_safe_object_key_parts():
    """Run ids with ':' and '+' make object keys that every S3 tool can handle."""
    assert safe_path_part("manual__2026-11-25T20:32:34.193005+00:00") == "manual__2026-11-25T20_32_34.193005_00_00"


def test_html_escapes_what_it_renders():
    """A value that looks like markup is shown, not run (reports are opened in browsers)."""
    report = {"run_id": "<script>x</script>", "status": "ok", "entries_checked": 0, "head": {"seq": 1, "hash": "h"},
              "anchors_checked": 0, "anchor_bucket": "b", "anchor_written": None, "signatures_checked": True,
              "foreign_objects_under_anchor_prefix": 0, "generated_at": "t", "first_broken_seq": None, "reason": None}
    html = render_html("ledger_verification.html.j2", report=report).decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
