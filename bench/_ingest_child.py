"""Run one empathy ingest and print a JSON line with its timings (used by the benchmarks).

    python bench/_ingest_child.py REPO_PATH DATABASE_URL [--profile OUT.prof]

Runs in its own process so that every measured ingest starts from a cold
Python heap, and so that the parent can read the peak RSS of this process and
of the ``git`` processes it starts.  Timings:

* ``import_s``: importing empathy (and SQLAlchemy, GitPython, Alembic);
* ``open_s``: ``open_repository`` + ``open_store`` (which runs migrations on
  an empty database);
* ``ingest_s``: ``ingest()`` itself (``IngestReport.seconds``);
* ``wall_s``: open + ingest, what the benchmarks compare with ``git log``.
"""

from __future__ import annotations

import json
import resource
import sys
import time

_T0 = time.perf_counter()


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("database_url")
    ap.add_argument("--profile", default="", help="write cProfile stats of open+ingest here")
    args = ap.parse_args(argv)

    import empathy
    from empathy.core.history.ingest import ingest
    from empathy.core.repo import open_repository
    from empathy.core.store.store import open_store

    t_import = time.perf_counter()
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    repo = open_repository(args.repo)
    store = open_store(args.database_url, repo.git_dir)
    t1 = time.perf_counter()
    report = ingest(repo, store)
    t2 = time.perf_counter()
    if prof is not None:
        prof.disable()
        prof.dump_stats(args.profile)
    store.engine.dispose()
    out = {
        "empathy_file": empathy.__file__,
        "import_s": t_import - _T0,
        "open_s": t1 - t0,
        "ingest_s": report.seconds,
        "wall_s": t2 - t0,
        "new_commits": report.new_commits,
        "total_commits": report.total_commits,
        "skipped_commits": report.skipped_commits,
        "warnings": report.warnings[:5],
        "maxrss_self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "maxrss_children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
