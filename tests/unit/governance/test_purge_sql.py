"""A rule's SQL and the block walk's ranges, without a database."""

import itertools
from datetime import UTC, datetime

from psycopg import sql

from governance.policy import load_retention_policy
from governance.purge_sql import BLOCK_SCAN_FACTOR, BlockRanges, RuleStatements

POLICY = load_retention_policy().model
CUTOFF = datetime(2026, 11, 25, 2, tzinfo=UTC)


def test_ranges_cover_the_table_once_in_order_and_end_at_its_size():
    """However the density changes, the ranges tile [0, blocks) with no gap or overlap."""
    ranges = BlockRanges(blocks=1000, rows_per_block=100, target=500, due=10_000)
    seen, deleted = [], iter([0, 5000, 100, 500, 0, 50_000] + [500] * 1000)
    for first, end in ranges:
        seen.append((first, end))
        ranges.record(next(deleted))
    assert seen[0][0] == 0
    assert seen[-1][1] == 1000
    assert all(end == next_first for (_, end), (next_first, _) in itertools.pairwise(seen))


def test_a_range_never_spans_more_blocks_than_hold_eight_batches():
    """After sparse ranges the span grows, but at most twofold per range and never past the cap, so a dense
    stretch cannot make one long transaction."""
    ranges = BlockRanges(blocks=10**6, rows_per_block=100, target=1000, due=1)
    spans = []
    for first, end in ranges:
        spans.append(end - first)
        ranges.record(0)
        if len(spans) > 50:
            break
    assert max(spans) == BLOCK_SCAN_FACTOR * 1000 // 100
    assert all(later <= 2 * earlier for earlier, later in itertools.pairwise(spans))


def test_identifiers_are_quoted_and_values_bound():
    """Names from the policy reach SQL as quoted identifiers; cutoffs are parameters, never text."""
    statements = RuleStatements(POLICY, POLICY.rule("payments"), CUTOFF)
    text = statements.statement("count_due").as_string(None)
    assert '"app"."payments"' in text
    assert '"billing_country"' in text
    assert "2026" not in text
    assert statements.params["period_values"][:2] == ["RU", "KZ"]


def test_without_a_clock_every_named_row_is_due():
    """An erasure on request has no cutoff: the due test is TRUE, and holds still apply."""
    statements = RuleStatements(POLICY, POLICY.rule("deleted_accounts"), None)
    assert statements.cutoff is None
    text = statements.statement("lock_due", media=sql.NULL).as_string(None)
    assert "= ANY(%(keys)s) AND TRUE AND NOT (" in text
    assert "governance.legal_holds" in text
