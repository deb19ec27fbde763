"""The scan's SQL: one statement to read everything a decision needs, one to write its outcome.

The scan is the hot path (every badge at every door), so it runs hand-written SQL on the
request's own connection (psycopg, server-side prepared after a few runs) instead of building
an ORM object graph:

1. `READ`: the kiosk behind the token (the kiosk authentication: the same lookup and errors as
   `kiosk.deps.current_kiosk`, folded in to save a round trip); the stored answer for this
   (kiosk, scan id); the rate-limit hits for the badge and the kiosk (an upsert in a
   data-modifying CTE, skipped for replays); the badge, its holder, the holder's shift,
   department manager, latest attendance record (with its shift) and the holidays around the
   scan date.
2. `WRITE_*`: the record insert (or check-out update), the scan event, the audit entry, the
   outbox rows and the kiosk's telemetry (at most every 30 s) as ONE statement. The open-record
   race is decided inside it by the partial unique index (`ON CONFLICT ... DO NOTHING`) and the
   check-out's `WHERE check_out_at IS NULL`: a lost race writes a DUPLICATE_SCAN event instead,
   no SAVEPOINT needed.

Both run inside the request's transaction, committed before the response is sent.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from sqlalchemy.ext.asyncio import AsyncSession


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
    WHERE h.holiday_date BETWEEN (%(at)s AT TIME ZONE l.timezone)::date - 1
                             AND (%(at)s AT TIME ZONE l.timezone)::date + 1
      AND (h.location_id IS NULL OR h.location_id = l.id)
  ) AS holidays
"""

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

READ = f"""
WITH kiosk AS (
  SELECT id, name, location_id, revoked_at, last_seen_at, app_version
  FROM kiosks WHERE token_hash = %(token_hash)s
), prior AS (
  SELECT e.payload_hash, (e.response->>'http_status')::int AS http_status,
         (e.response->'body')::text AS body
  FROM scan_events e JOIN kiosk ON e.kiosk_id = kiosk.id
  WHERE e.client_scan_id = %(scan_id)s
), hits AS (
  INSERT INTO rate_limits AS rl (key, window_start, hits, expires_at)
  SELECT k.key, %(window_start)s, 1, %(window_end)s
  FROM kiosk CROSS JOIN LATERAL (
    VALUES ('scan:kiosk:' || kiosk.id::text), (%(badge_key)s::text)
  ) AS k(key)
  WHERE k.key IS NOT NULL AND kiosk.revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM prior)
  ON CONFLICT (key, window_start) DO UPDATE SET hits = rl.hits + 1
  RETURNING rl.key, rl.hits
)
SELECT
  kiosk.id AS kiosk_id, kiosk.name AS kiosk_name, kiosk.location_id,
  kiosk.revoked_at AS kiosk_revoked_at, kiosk.last_seen_at AS kiosk_last_seen_at,
  kiosk.app_version AS kiosk_app_version,
  (SELECT payload_hash FROM prior) AS prior_hash,
  (SELECT http_status FROM prior) AS prior_status,
  (SELECT body FROM prior) AS prior_body,
  (SELECT hits FROM hits WHERE key LIKE 'scan:kiosk:%%') AS kiosk_hits,
  (SELECT hits FROM hits WHERE key = %(badge_key)s) AS badge_hits,
  l.timezone, l.name AS location_name,
  {_SUBJECT}
FROM kiosk
JOIN locations l ON l.id = kiosk.location_id
LEFT JOIN badges b ON b.id = %(badge_id)s
{_SUBJECT_JOINS}
"""  # noqa: S608 - composed of constants; every value is a bound parameter

# The same subject for a held scan HR approves: the badge it was made with, at its location.
SUBJECT = f"""
SELECT l.timezone, l.name AS location_name, {_SUBJECT}
FROM locations l
LEFT JOIN badges b ON b.id = %(badge_id)s
{_SUBJECT_JOINS}
WHERE l.id = %(location_id)s
"""  # noqa: S608 - composed of constants; every value is a bound parameter

_EVENT = """
ev AS (
  INSERT INTO scan_events (id, kiosk_id, client_scan_id, payload_hash, code_data, user_id,
                           badge_id, record_id, result, error_code, captured_at, received_at,
                           response, review_status)
  SELECT %(event_id)s, %(kiosk_id)s, %(scan_id)s, %(payload_hash)s, %(code_data)s, %(user_id)s,
         %(badge_id)s,
         (SELECT id FROM rec),
         CASE WHEN EXISTS (SELECT 1 FROM rec) THEN %(result)s ELSE 'duplicate' END,
         CASE WHEN EXISTS (SELECT 1 FROM rec) THEN NULL ELSE 'DUPLICATE_SCAN' END,
         %(captured_at)s, %(now)s,
         CASE WHEN EXISTS (SELECT 1 FROM rec) THEN %(response)s::jsonb
              ELSE %(lost_response)s::jsonb END,
         NULL
  RETURNING id
), {_SIDE}
"""

# HR approving a held scan: the stored event gets the outcome instead of a new event.
_EVENT_REVIEWED = """
ev AS (
  UPDATE scan_events
  SET record_id = (SELECT id FROM rec), review_status = 'approved',
      reviewed_by = %(reviewer_id)s, reviewed_at = %(now)s,
      result = CASE WHEN EXISTS (SELECT 1 FROM rec) THEN %(result)s ELSE result END
  WHERE id = %(event_id)s AND EXISTS (SELECT 1 FROM rec)
  RETURNING id
), {_SIDE}
"""

_SIDE = """ks AS (
  UPDATE kiosks
  SET last_seen_at = %(now)s, app_version = coalesce(%(app_version)s, app_version),
      clock_offset_ms = coalesce(%(clock_offset_ms)s, clock_offset_ms)
  WHERE id = %(kiosk_id)s AND %(touch_kiosk)s
  RETURNING id
), au AS (
  INSERT INTO audit_logs (id, actor_id, actor_type, actor_label, action, resource_type,
                          resource_id, new_values, ip, request_id, created_at)
  SELECT gen_random_uuid(), %(actor_id)s, %(actor_type)s, %(actor_label)s, %(action)s,
         'attendance_record', rec.id::text, %(audit)s::jsonb, %(ip)s, %(request_id)s, %(now)s
  FROM rec
  RETURNING id
), ob AS (
  INSERT INTO email_outbox (id, kind, to_address, user_id, context, created_at,
                            next_attempt_at)
  SELECT gen_random_uuid(), o->>'kind', o->>'to', (o->>'user_id')::uuid, o->'context',
         %(now)s, %(now)s
  FROM jsonb_array_elements(%(mails)s::jsonb) AS o
  WHERE EXISTS (SELECT 1 FROM rec)
  RETURNING id
)
SELECT (SELECT count(*) FROM rec) AS applied
"""

_SIDE_SQL = _SIDE
_EVENT_SQL = _EVENT.replace("{_SIDE}", _SIDE_SQL)
_EVENT_REVIEWED_SQL = _EVENT_REVIEWED.replace("{_SIDE}", _SIDE_SQL)

_CHECK_IN = """
WITH rec AS (
  INSERT INTO attendance_records (id, user_id, shift_id, location_id, kiosk_id, work_date,
                                  check_in_at, status, minutes_late, source, created_at,
                                  updated_at)
  VALUES (%(record_id)s, %(user_id)s, %(shift_id)s, %(location_id)s, %(kiosk_id)s,
          %(work_date)s, %(at)s, %(status)s, %(minutes_late)s, %(source)s, %(now)s, %(now)s)
  ON CONFLICT (user_id) WHERE check_out_at IS NULL DO NOTHING
  RETURNING id
), """

_CHECK_OUT = """
WITH rec AS (
  UPDATE attendance_records
  SET check_out_at = %(at)s, worked_minutes = %(worked_minutes)s,
      overtime_minutes = %(overtime_minutes)s, early_leave_minutes = %(early_leave_minutes)s,
      missing_checkout_flagged_at = NULL, updated_at = %(now)s
  WHERE id = %(record_id)s AND check_out_at IS NULL
  RETURNING id
), """

WRITE_CHECK_IN = _CHECK_IN + _EVENT_SQL
WRITE_CHECK_OUT = _CHECK_OUT + _EVENT_SQL
APPLY_CHECK_IN = _CHECK_IN + _EVENT_REVIEWED_SQL
APPLY_CHECK_OUT = _CHECK_OUT + _EVENT_REVIEWED_SQL

TOUCH_KIOSK = """
UPDATE kiosks
SET last_seen_at = %(now)s, app_version = coalesce(%(app_version)s, app_version),
    clock_offset_ms = coalesce(%(clock_offset_ms)s, clock_offset_ms)
WHERE id = %(kiosk_id)s
"""

WRITE_EVENT = """
WITH ks AS (
  UPDATE kiosks
  SET last_seen_at = %(now)s, app_version = coalesce(%(app_version)s, app_version),
      clock_offset_ms = coalesce(%(clock_offset_ms)s, clock_offset_ms)
  WHERE id = %(kiosk_id)s AND %(touch_kiosk)s
  RETURNING id
)
INSERT INTO scan_events (id, kiosk_id, client_scan_id, payload_hash, code_data, user_id,
                         badge_id, result, error_code, captured_at, received_at, response,
                         review_status)
VALUES (%(event_id)s, %(kiosk_id)s, %(scan_id)s, %(payload_hash)s, %(code_data)s, %(user_id)s,
        %(badge_id)s, %(result)s, %(error_code)s, %(captured_at)s, %(now)s, %(response)s::jsonb,
        %(review_status)s)
"""


async def fetch_one(
    conn: AsyncConnection[Any], sql: str, params: dict[str, Any], *, begin: bool = False
) -> dict[str, Any] | None:
    """Run a read; with `begin` (a connection in autocommit mode, see `scan.perform_on`) the
    transaction's BEGIN is sent in the same flight. psycopg's own implicit BEGIN cannot be:
    even in a pipeline it syncs on it (a round trip of its own) before the first statement."""
    async with conn.cursor(row_factory=dict_row) as cur:
        if begin:
            async with conn.pipeline(), conn.cursor() as start:
                await start.execute("BEGIN", prepare=False)
                # Prepared from the first run: planning this join costs more than running it.
                await cur.execute(sql, params, prepare=True)
        else:
            await cur.execute(sql, params, prepare=True)
        return await cur.fetchone()


async def execute(
    conn: AsyncConnection[Any], sql: str, params: dict[str, Any], *, commit: bool = False
) -> int:
    """Run a write; returns the `applied` count for the record-writing statements.

    With `commit`, the COMMIT is pipelined behind the write: both travel in one flight and
    the answer to both comes back in one (the pipeline's single closing Sync). `conn.commit()`
    inside a pipeline would sync on its own and cost a second flight. If the write fails the
    server skips the COMMIT (pipeline aborted), the write's error is raised and the
    transaction is left failed for the caller's rollback, as without the pipeline."""
    async with conn.cursor() as cur:
        if commit:
            async with conn.pipeline(), conn.cursor() as end:
                await cur.execute(sql, params, prepare=True)
                await end.execute("COMMIT", prepare=False)
        else:
            await cur.execute(sql, params, prepare=True)
        if cur.description is None:
            return 0
        row = await cur.fetchone()
        return int(row[0]) if row else 0


def empty_mail() -> dict[str, list[Any]]:
    return {"mails": []}


def add_mail(
    params: dict[str, list[Any]],
    kind: str,
    to: str,
    user_id: uuid.UUID | None,
    context: dict[str, Any],
) -> None:
    # One jsonb parameter for all outbox rows: psycopg dumps text[] arrays of JSON strings
    # with a regex escape per quote, several times slower than one orjson dump.
    params["mails"].append({"kind": kind, "to": to, "user_id": user_id, "context": context})
