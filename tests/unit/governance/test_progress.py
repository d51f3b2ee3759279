"""Progress lines while a run's batches go: at most every few seconds, with the rate and the time left."""

import logging

from governance.lifecycle import Counts, Plan, Progress


def test_a_progress_line_says_batches_done_rate_and_time_left_and_no_more_often_than_asked(caplog, monkeypatch):
    clock = iter([100.0, 101.0, 110.0, 111.0])
    monkeypatch.setattr("governance.lifecycle.time.monotonic", lambda: next(clock))
    progress = Progress("retention_purge rule 'sessions'", Plan(eligible=1000, held=3), every_s=5)
    with caplog.at_level(logging.INFO, logger="governance.lifecycle"):
        assert progress.batch_done(Counts(rows_deleted=100), 1) is None  # 1 s after the start: too soon
        line = progress.batch_done(Counts(rows_deleted=500), 5)  # 10 s after the start
    assert line == ("retention_purge rule 'sessions': 5 batches, 500 of 1,000 rows done in 10.0 s (50 rows/s), "
                    "about 10 s left; rows deleted 500")
    assert caplog.messages == [line]
    assert progress.batch_done(Counts(rows_deleted=500), 5) is None  # 1 s later


def test_an_erasure_counts_people_not_the_rows_that_go_with_them(monkeypatch):
    clock = iter([0.0, 10.0])
    monkeypatch.setattr("governance.lifecycle.time.monotonic", lambda: next(clock))
    progress = Progress("dsr_erasure rule 'deleted_accounts'", Plan(eligible=2, unit="people"))
    line = progress.batch_done(Counts(subjects_erased=1, rows_deleted=40, objects_deleted=3), 2, final=True)
    assert line.startswith("dsr_erasure rule 'deleted_accounts': 2 batches, 1 of 2 people done in 10.0 s")
    assert line.endswith("subjects erased 1, rows deleted 40, objects deleted 3")
