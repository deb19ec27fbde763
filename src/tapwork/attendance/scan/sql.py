"""The scan's SQL: one statement to read everything a batch of scans needs, one to write its
outcome.

The scan is the hot path (every badge at every door), so it runs hand-written SQL on a pool
connection (psycopg, server-side prepared) instead of building an ORM object graph, and scans
that arrive together share the statements (`group_commit.py`): the inputs go in as one jsonb array,
so the statement text, and its prepared plan, are the same for 1 scan or 60.

1. `READ_MANY`: per scan, the kiosk behind the token (the kiosk authentication: the same lookup
   and errors as `kiosk.deps.current_kiosk`); the stored answer for this (kiosk, scan id); the
   kiosk's written rate-limit count and the badge's scan events in the window; the badge, its
   holder, the holder's shift, department manager, latest attendance record (with its shift)
   and the holidays around the scan date. It locks nothing.
2. `WRITE_MANY`: the kiosks' rate-limit increments when due (`counts.py`), the record
   inserts and check-out updates, the scan events, the audit entries, the outbox rows and the
   kiosks' telemetry (at most every 30 s) as ONE statement. The open-record race is decided
   inside it by the partial unique index (`ON CONFLICT ... DO NOTHING`) and the check-out's
   `WHERE check_out_at IS NULL`: a lost race stores a DUPLICATE_SCAN event instead, no
   SAVEPOINT needed.
3. `APPLY`: HR approving a held scan (`attendance/review.py`): the same record, audit and
   outbox SQL as the WRITE, and the stored scan event updated instead of a new one.

READ and WRITE run in one transaction, committed before any of the batch's answers is sent. The READ
takes no row locks, so batches of two API processes run side by side; their writes meet in
the unique indexes (a badge scanned in both at once: one record, the other answered
DUPLICATE_SCAN; one scan id sent to both: one event, the other batch reruns its scans one by
one and replays it). Kiosk counter rows are written about once a second per process, not
by every batch (`counts.py`), locked from that WRITE to COMMIT only, in key order. A limit
counts what is committed (and, for kiosks, this process's own scans), so under concurrency
it can be passed by the scans in flight; it is a guard against floods, not an invariant.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.attendance.scan.request import LOST_RESPONSE
from tapwork.holiday.service import window_sql


async def driver_connection(session: AsyncSession) -> AsyncConnection[Any]:
    """The psycopg connection under the session's current transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, AsyncConnection)
    return driver


_SUBJECT = """
  b.id AS badge_id, b.code_data AS badge_code, b.revoked_at AS badge_revoked_at,
  b.expires_at AS badge_expires_at,
  (b.revoked_at IS NOT NULL AND EXISTS (
     SELECT 1 FROM badges nb
     WHERE nb.user_id = b.user_id AND nb.revoked_at IS NULL AND nb.id <> b.id
  )) AS badge_superseded,
  u.id AS user_id, u.first_name, u.last_name, u.email, u.is_active,
  u.email_verified_at, u.notification_preferences AS user_prefs,
  (SELECT attendance_confirmations FROM organisation_settings WHERE id = 1) AS confirmations,
  s.id AS shift_id, s.start_time, s.end_time, s.grace_minutes, s.early_threshold_minutes,
  s.working_days,
  d.name AS department_name,
  m.id AS manager_id, m.email AS manager_email, m.first_name AS manager_first_name,
  m.last_name AS manager_last_name, m.is_active AS manager_active,
  m.notification_preferences AS manager_prefs,
  r.id AS record_id, r.work_date AS record_work_date, r.check_in_at AS record_check_in_at,
  r.check_out_at AS record_check_out_at, r.status AS record_status,
  r.shift_id AS record_shift_id,
  rs.start_time AS record_start_time, rs.end_time AS record_end_time,
  rs.grace_minutes AS record_grace_minutes,
  rs.early_threshold_minutes AS record_early_threshold_minutes,
  rs.working_days AS record_working_days,
  ARRAY(
    SELECT h.holiday_date FROM holidays h
    WHERE h.holiday_date {window}
      AND (h.location_id IS NULL OR h.location_id = l.id)
  ) AS holidays
"""

_SUBJECT = _SUBJECT.replace("{window}", window_sql("{at}", "l.timezone"))

_SUBJECT_JOINS = """
LEFT JOIN users u ON u.id = b.user_id
LEFT JOIN shifts s ON s.id = u.shift_id
LEFT JOIN departments d ON d.id = u.department_id
LEFT JOIN users m ON m.id = d.manager_id
LEFT JOIN LATERAL (
  SELECT * FROM attendance_records ar
  WHERE ar.user_id = u.id
  ORDER BY ar.work_date DESC, ar.check_in_at DESC
  LIMIT 1
) r ON true
LEFT JOIN shifts rs ON rs.id = r.shift_id
"""

_SUBJECT_OF = f"""
SELECT l.timezone, l.name AS location_name, {_SUBJECT}
FROM locations l
LEFT JOIN badges b ON b.id = {{badge_id}}
{_SUBJECT_JOINS}
WHERE l.id = {{location_id}}
"""  # noqa: S608 - composed of constants; every value is a bound parameter

# jsonb_to_recordset looks like 100 rows to the planner, which would then hash-join whole
# tables against it; every lookup per scan is therefore a LATERAL subquery with LIMIT (which
# the planner does not flatten), so each is an index probe for that scan's values.
READ_MANY = f"""
WITH x AS (
  SELECT * FROM jsonb_to_recordset(%(items)s::jsonb) AS x(
    i int, token_hash text, scan_id text, badge_id uuid, at timestamptz,
    window_start timestamptz, badge_limit bigint)
), k AS (
  SELECT x.i, kk.*
  FROM x CROSS JOIN LATERAL (
    SELECT id, name, location_id, revoked_at, last_seen_at, app_version
    FROM kiosks WHERE token_hash = x.token_hash LIMIT 1
  ) kk
), prior AS (
  SELECT k.i, e.*
  FROM k JOIN x ON x.i = k.i CROSS JOIN LATERAL (
    SELECT payload_hash, (response->>'http_status')::int AS http_status,
           (response->'body')::text AS body
    FROM scan_events WHERE kiosk_id = k.id AND client_scan_id = x.scan_id LIMIT 1
  ) e
)
SELECT
  x.i,
  k.id AS kiosk_id, k.name AS kiosk_name, k.location_id,
  k.revoked_at AS kiosk_revoked_at, k.last_seen_at AS kiosk_last_seen_at,
  k.app_version AS kiosk_app_version,
  p.payload_hash AS prior_hash, p.http_status AS prior_status, p.body AS prior_body,
  coalesce((SELECT h.hits FROM rate_limits h
            WHERE h.key = 'scan:kiosk:' || k.id::text AND h.window_start = x.window_start),
           0) AS kiosk_hits,
  -- A badge's scans in the window are its scan events (every counted scan stores one),
  -- counted up to the limit: that many already refuse the scan, and a flood of one badge
  -- costs each of its scans no more than `limit` index entries.
  (SELECT count(*) FROM (
     SELECT FROM scan_events se
     WHERE se.user_id = s.user_id AND se.received_at >= x.window_start
       AND se.badge_id = x.badge_id
     LIMIT x.badge_limit) hit) AS badge_hits,
  s.*
FROM x
LEFT JOIN k ON k.i = x.i
LEFT JOIN prior p ON p.i = x.i
LEFT JOIN LATERAL (
  {_SUBJECT_OF.format(at="x.at", badge_id="x.badge_id", location_id="k.location_id")}
  LIMIT 1
) s ON true
ORDER BY x.i
"""  # noqa: S608 - composed of constants; every value is a bound parameter

# Kiosk rate-limit counts (`counts.py`). Keys in order, so two writers never wait on each
# other in a circle; a counter row is locked from here to COMMIT.
WRITE_COUNTS = """
INSERT INTO rate_limits AS rl (key, window_start, hits, expires_at)
SELECT c.key, c.window_start, c.n, c.window_end
FROM jsonb_to_recordset(%(counts)s::jsonb) AS c(
  key text, window_start timestamptz, window_end timestamptz, n int)
ORDER BY c.key, c.window_start
ON CONFLICT (key, window_start) DO UPDATE SET hits = rl.hits + excluded.hits
"""


def literal(text: str) -> str:
    """`text` as a string literal, for a connection with standard_conforming_strings on
    (`transaction.Lane` checks): inside '...' only the quote is special. The lanes send their
    two statements with the JSON inline so that psycopg uses the simple protocol (several
    statements in one message) without client-side binding, whose quoting cost ~10% of the
    API's CPU per scan."""
    return "'" + text.replace("'", "''") + "'"


# The stored answer of a scan whose record write lost the race (the same for all): part of
# the statement, not a copy in every scan event's parameters (`%` doubled: the statement
# also runs with psycopg's %-placeholders).
_LOST = literal(orjson.dumps(LOST_RESPONSE).decode()).replace("%", "%%")


# The writes of an applied scan, as CTEs over jsonb arrays (one element per scan): the record
# inserts and check-out updates (`rec`: the records they applied), then the audit entries and
# outbox rows of those records. The batch's WRITE and HR's approval of a held scan (`APPLY`)
# both run them.
_RECORDS = """
ins AS (
  INSERT INTO attendance_records (id, user_id, shift_id, location_id, kiosk_id, work_date,
                                  check_in_at, status, minutes_late, source, created_at,
                                  updated_at)
  SELECT r.record_id, r.user_id, r.shift_id, r.location_id, r.kiosk_id, r.work_date, r.at,
         r.status, r.minutes_late, r.source, r.now, r.now
  FROM jsonb_to_recordset(%(check_ins)s::jsonb) AS r(
    record_id uuid, user_id uuid, shift_id uuid, location_id uuid, kiosk_id uuid,
    work_date date, at timestamptz, status text, minutes_late int, source text,
    now timestamptz)
  ON CONFLICT (user_id) WHERE check_out_at IS NULL DO NOTHING
  RETURNING id
), outs AS (
  UPDATE attendance_records ar
  SET check_out_at = r.at, worked_minutes = r.worked_minutes,
      overtime_minutes = r.overtime_minutes, early_leave_minutes = r.early_leave_minutes,
      missing_checkout_flagged_at = NULL, updated_at = r.now
  FROM jsonb_to_recordset(%(check_outs)s::jsonb) AS r(
    record_id uuid, at timestamptz, worked_minutes int, overtime_minutes int,
    early_leave_minutes int, now timestamptz)
  -- Found by primary key. "Still open" is spelled `(... IS NULL) IS TRUE` (the same test) so
  -- that the planner cannot match it to the partial open-records index: on stale statistics
  -- (a morning's check-ins since the last ANALYZE) it would read every open record there
  -- instead (measured: 1.8 ms per statement with 4,700 open).
  WHERE ar.id = r.record_id AND (ar.check_out_at IS NULL) IS TRUE
    AND ar.id = ANY(ARRAY(
      SELECT (j->>'record_id')::uuid FROM jsonb_array_elements(%(check_outs)s::jsonb) j))
  RETURNING ar.id
), rec AS (
  SELECT id FROM ins UNION ALL SELECT id FROM outs
)
"""

_AUDIT_OUTBOX = """
au AS (
  INSERT INTO audit_logs (id, actor_id, actor_type, actor_label, action, resource_type,
                          resource_id, new_values, ip, request_id, created_at)
  SELECT gen_random_uuid(), a.actor_id, a.actor_type, a.actor_label, a.action,
         'attendance_record', a.record_id::text, a.new_values, a.ip, a.request_id, a.now
  FROM jsonb_to_recordset(%(audits)s::jsonb) AS a(
    record_id uuid, actor_id uuid, actor_type text, actor_label text, action text,
    new_values jsonb, ip text, request_id text, now timestamptz)
  JOIN rec ON rec.id = a.record_id
  RETURNING id
), ob AS (
  INSERT INTO email_outbox (id, kind, to_address, user_id, context, created_at,
                            next_attempt_at)
  SELECT gen_random_uuid(), o.kind, o."to", o.user_id, o.context, o.now, o.now
  FROM jsonb_to_recordset(%(mails)s::jsonb) AS o(
    record_id uuid, kind text, "to" text, user_id uuid, context jsonb, now timestamptz)
  JOIN rec ON rec.id = o.record_id
  RETURNING id
)
"""

WRITE_MANY = f"""
WITH hits AS (
  {WRITE_COUNTS}
  RETURNING 1
), {_RECORDS}, ev AS (
  INSERT INTO scan_events (id, kiosk_id, client_scan_id, payload_hash, code_data, user_id,
                           badge_id, record_id, result, error_code, captured_at, received_at,
                           response, review_status)
  SELECT e.event_id, e.kiosk_id, e.scan_id, e.payload_hash, e.code_data, e.user_id,
         e.badge_id, rec.id,
         CASE WHEN e.record_id IS NULL OR rec.id IS NOT NULL THEN e.result
              ELSE 'duplicate' END,
         CASE WHEN e.record_id IS NULL OR rec.id IS NOT NULL THEN e.error_code
              ELSE 'DUPLICATE_SCAN' END,
         e.captured_at, e.now,
         CASE WHEN e.record_id IS NULL OR rec.id IS NOT NULL THEN e.response
              ELSE {_LOST}::jsonb END,
         e.review_status
  FROM jsonb_to_recordset(%(events)s::jsonb) AS e(
    event_id uuid, kiosk_id uuid, scan_id text, payload_hash text, code_data text,
    user_id uuid, badge_id uuid, record_id uuid, result text, error_code text,
    captured_at timestamptz, now timestamptz, response jsonb, review_status text)
  LEFT JOIN rec ON rec.id = e.record_id
  RETURNING id
), {_AUDIT_OUTBOX}, ks AS (
  -- Telemetry is best effort: a kiosk row another transaction is updating is skipped (it is
  -- being written anyway), so two batches never wait on each other here. Each kiosk is a
  -- primary-key probe (LATERAL ... LIMIT 1): a plain join may be planned as a scan of every
  -- kiosk row (and its dead versions) on every write, touches or not.
  UPDATE kiosks kk
  SET last_seen_at = t.now, app_version = coalesce(t.app_version, kk.app_version),
      clock_offset_ms = coalesce(t.clock_offset_ms, kk.clock_offset_ms)
  FROM (
    SELECT t.*, free.id
    FROM jsonb_to_recordset(%(touches)s::jsonb) AS t(
      kiosk_id uuid, now timestamptz, app_version text, clock_offset_ms int)
    CROSS JOIN LATERAL (
      SELECT id FROM kiosks WHERE id = t.kiosk_id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED
    ) free
  ) t
  WHERE kk.id = t.id
  RETURNING kk.id
)
SELECT id FROM rec
"""  # noqa: S608 - composed of constants; every value is a bound parameter

# The same subject for a held scan HR approves: the badge it was made with, at its location.
SUBJECT = _SUBJECT_OF.format(at="%(at)s", badge_id="%(badge_id)s", location_id="%(location_id)s")

# HR approving a held scan: the same writes as the batch's WRITE, and the stored event gets
# the outcome instead of a new event being stored.
APPLY = f"""
WITH {_RECORDS}, ev AS (
  UPDATE scan_events
  SET record_id = (SELECT id FROM rec), review_status = 'approved',
      reviewed_by = %(reviewer_id)s, reviewed_at = %(now)s,
      result = CASE WHEN EXISTS (SELECT 1 FROM rec) THEN %(result)s ELSE result END
  WHERE id = %(event_id)s AND EXISTS (SELECT 1 FROM rec)
  RETURNING id
), {_AUDIT_OUTBOX}
SELECT (SELECT count(*) FROM rec) AS applied
"""  # noqa: S608 - composed of constants; every value is a bound parameter


def _prepare(conn: AsyncConnection[Any]) -> bool:
    # Prepared from the first run: planning these joins costs more than running them. Not
    # behind a transaction pooler, whose connections psycopg is told not to prepare on
    # (`Settings.psycopg_options`: prepare_threshold None); the lanes prepare by name instead.
    return conn.prepare_threshold is not None


async def fetch_all(
    conn: AsyncConnection[Any], sql: str, params: dict[str, Any], *, prepare: bool | None = None
) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params, prepare=_prepare(conn) if prepare is None else prepare)
        return await cur.fetchall()


async def fetch_one(
    conn: AsyncConnection[Any], sql: str, params: dict[str, Any]
) -> dict[str, Any] | None:
    rows = await fetch_all(conn, sql, params)
    return rows[0] if rows else None


async def write_many(
    conn: AsyncConnection[Any], params: dict[str, Any], *, prepare: bool | None = None
) -> set[uuid.UUID]:
    """Run `WRITE_MANY`; returns the ids of the records it inserted or closed."""
    async with conn.cursor() as cur:
        await cur.execute(
            WRITE_MANY, params, prepare=_prepare(conn) if prepare is None else prepare
        )
        return {row[0] for row in await cur.fetchall()}


# The same two statements as named server-side prepared statements, for the batcher's pool
# connections (`transaction.Lane`): `BEGIN; EXECUTE read(...)` and `EXECUTE write(...); COMMIT` are
# one simple-protocol message each, so a batch is 2 round trips and 2 driver calls.
READ_STATEMENT = "tapwork_scan_read"
WRITE_STATEMENT = "tapwork_scan_write"
WRITE_PARAMS = ("counts", "check_ins", "check_outs", "events", "audits", "mails", "touches")


def _positional(sql: str, names: tuple[str, ...]) -> str:
    return re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", sql).replace(
        "%%", "%"
    )


PREPARE = (
    f"PREPARE {READ_STATEMENT} (jsonb) AS {_positional(READ_MANY, ('items',))};\n"
    f"PREPARE {WRITE_STATEMENT} ({', '.join(['jsonb'] * len(WRITE_PARAMS))}) AS "
    f"{_positional(WRITE_MANY, WRITE_PARAMS)}"
)


def begin_read(items: str) -> str:
    return f"BEGIN; EXECUTE {READ_STATEMENT}({literal(items)}::jsonb)"


def write_commit(params: dict[str, str]) -> str:
    args = ", ".join(f"{literal(params[name])}::jsonb" for name in WRITE_PARAMS)
    return f"EXECUTE {WRITE_STATEMENT}({args}); COMMIT"


async def execute(conn: AsyncConnection[Any], sql: str, params: dict[str, Any]) -> int:
    """Run `APPLY`; returns its `applied` count."""
    async with conn.cursor() as cur:
        await cur.execute(sql, params, prepare=_prepare(conn))
        row = await cur.fetchone()
        return int(row[0]) if row else 0
