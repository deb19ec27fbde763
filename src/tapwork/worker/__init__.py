"""`tapwork worker` and the job queue its tasks are declared on.

    jobs.py  the procrastinate App every domain declares its tasks on (in `<domain>/jobs.py`),
             the runtime those tasks read (settings, sessionmaker, clock), their unit of work
    run.py   the process: procrastinate's worker plus the outbox delivery loops

Domains import `tapwork.worker.jobs` only; `run.py` sits above every domain (import-linter).
This file imports nothing, so importing `jobs` does not pull the process in.
"""
