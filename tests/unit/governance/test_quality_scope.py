"""What a data-quality batch read, in words: every scope that quality_batches makes has its words, in the
task log and in the report (an incremental night over the archive's objects once crashed the report)."""

from __future__ import annotations

import pytest

from governance.quality import scope_words


@pytest.mark.parametrize(("scope", "words"), [
    ({"mode": "full"}, "all rows"),
    ({"mode": "full", "why": "the table is empty"}, "all rows (the table is empty)"),
    ({"mode": "full", "key": "generation_id", "through": 900}, "all rows"),
    ({"mode": "incremental", "key": "generation_id", "after": 100, "through": 250},
     "generation_id from 101 to 250 (new since the last run)"),
    ({"mode": "incremental", "key": "event_id", "after": 625, "through": 625},
     "no event_id above 625 (nothing new since the last run)"),
    ({"mode": "full", "cutoff": "2026-12-01T00:00:00+00:00", "grace_period": "P1D"},
     "all rows; each rule's period counted back from 2026-12-01 00:00:00 UTC, this run's cutoff less a grace "
     "period for the purge (P1D)"),
    ({"mode": "full", "objects_listed": 12}, "12 objects listed"),
    ({"mode": "full", "objects_checked": 5, "objects_read": 5}, "5 objects checked, 5 read"),
    ({"mode": "incremental", "bytes_read_after": 3, "objects_checked": 5, "objects_read": 2},
     "5 objects checked, 2 read (manifests after 3)"),
])
def test_every_scope_has_its_words(scope, words):
    assert scope_words(scope) == words
