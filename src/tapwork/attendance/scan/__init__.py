"""The kiosk scan, `POST /api/v1/attendance`: every badge at every door.

One pipeline, whichever way a scan comes in; each module imports only those below it:

    FastAPI route (attendance.router.scan)    ScanFastPath (pure ASGI, most scans)
          | token + body validated                  | token + body validated
          +------------------+----------------------+
                             v
    entry.py         submit(app, ScanRequest)  ->  the app's ScanBatcher
                             |
    group_commit.py  ScanBatcher: the scans that arrive while a batch is in flight form the
                     next batch (never two of one badge or one scan id); lanes = pool
                     connections (LanePool) or the test harness's sessions (SessionLanes);
                     the only retries (a conflicting batch runs its scans one by one, a
                     unique violation once more, a dead connection once on a fresh one)
                             |
    transaction.py   run(statements, items): one transaction per batch
                        READ  (sql.READ_MANY, one statement for the batch)
                        settle each scan (settle.py, pure)
                        WRITE (sql.WRITE_MANY, one statement) + COMMIT
                     on a Lane: BEGIN+READ, WRITE+COMMIT = 2 round trips
                             |
    settle.py        kiosk known and live? replay? rate limits? then the decision, and the
                     rows to write: record, scan event, audit entry, outbox mails, kiosk
                     telemetry (kiosk.telemetry), opt-outs (notification.kinds.wants)
    decision.py      badge checks (badge.service.check_scanned), holder, offline capture,
                     check-in / check-out / held / refused (attendance.rules)
    sql.py           the statements (holiday window: holiday.service.window_sql)
    counts.py        the process's kiosk rate-limit counts not yet in `rate_limits`
    request.py       ScanRequest, Item (prepare: code verified, keys), Outcome, WINDOW

The answer is sent only after its batch has committed. `docs/scan.md` tells the whole story;
decision 0005 why the scan is group-committed.
"""
