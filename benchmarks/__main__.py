"""make bench: every scale benchmark, one after the other (the machine is shared: each
benchmark prints ratios against a baseline measured in the same run).

    python -m benchmarks            full size (1M generations seeded; a 5M-row purge, plain and over 24 monthly
                                    partitions; 5M moderation events archived;
                                    the no_raw_prompts suite on 10M generations;
                                    an export of a person with 100,000 generations;
                                    a month of transfer capture and its report over 10M generations)
    python -m benchmarks --quick    a tenth of the size, for a smoke check
"""

from __future__ import annotations

import argparse
import sys

from benchmarks import (
    bench_archive,
    bench_dsr_export,
    bench_partition_purge,
    bench_purge,
    bench_quality,
    bench_seed,
    bench_transfers,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the full size")
    args = parser.parse_args(argv)
    seed_scale, purge_rows = (10_000, 500_000) if args.quick else (100_000, 5_000_000)
    archive_events = purge_rows
    print("== seed: bulk load of the reference database ==", flush=True)
    seed_status = bench_seed.main(["--scale", str(seed_scale)])
    print("\n== retention purge: batched vs one DELETE ==", flush=True)
    purge_status = bench_purge.main(["--rows", str(purge_rows)])
    print("\n== retention purge, partitioned by month: dropping expired months vs one DELETE ==", flush=True)
    partition_status = bench_partition_purge.main(["--rows", str(purge_rows)])
    print("\n== moderation-log archival: archive vs a raw COPY ==", flush=True)
    archive_status = bench_archive.main(["--events", str(archive_events)])
    print("\n== data-subject export: one person's bundle vs a raw COPY of their rows ==", flush=True)
    export_status = bench_dsr_export.main(["--generations", str(10_000 if args.quick else 100_000)])
    print("\n== data-quality checks: the no_raw_prompts suite vs a hand-written query ==", flush=True)
    quality_status = bench_quality.main(["--generations", str(1_000_000 if args.quick else 10_000_000)])
    print("\n== cross-border transfers: a month of captures and the report vs a hand-written GROUP BY ==", flush=True)
    transfer_status = bench_transfers.main(["--generations", str(1_000_000 if args.quick else 10_000_000)])
    return (seed_status or purge_status or partition_status or archive_status or export_status or quality_status
            or transfer_status)


if __name__ == "__main__":
    sys.exit(main())
