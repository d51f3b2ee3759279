"""The data-quality checks' report: the summary in plain words that opens it (the document itself is
built from governance.dq_results by the report task)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from governance.reports import counted, readable_time

_SOURCE = re.compile(r"\s*\([^)]*\)$")  # "(privacy policy, sections 2.2 and 4)" at the end of a promise


def quality_summary(document: Mapping[str, Any]) -> str:
    """Two or three sentences: what was checked, what was found, and what that means."""
    suites = document["suites"]
    scope = ("every row" if document["full_scan"] else
             "only the rows added since the last successful run (every row on the weekly full scan)")
    ran = (f"The data-quality checks ran {counted(document['checks'], 'check')} in "
           f"{counted(len(suites), 'suite')} at {readable_time(document['run_cutoff'])}, reading {scope}.")
    if document["status"] == "passed":
        promises = "; ".join(_SOURCE.sub("", suite["promise"]) for suite in suites if suite.get("promise"))
        return f"{ran} All passed, so the promises they test held: {promises}."
    failed = [f"{suite['suite']} ({suite['failed']})" for suite in suites if suite["failed"]]
    sentences = [ran]
    if failed:
        sentences.append(f"{counted(document['failed_checks'], 'check')} failed, in {', '.join(failed)}: each finding "
                         "below names the rows by key and by a hash of the value, never the value itself.")
    if document["suites_not_run"]:
        sentences.append(f"{counted(len(document['suites_not_run']), 'suite')} did not run "
                         f"({', '.join(document['suites_not_run'])}), so what they check is unknown tonight.")
    sentences.append("A finding is fixed by the remediation workflow or the next purge, or needs a person to decide; "
                     "the checks fail every night until it is.")
    return " ".join(sentences)
