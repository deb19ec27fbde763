"""The reports' SQL: every figure is computed by PostgreSQL, never by Python loops over records.

One chain of CTEs serves every report, so the attendance summary, the department summary, the
monthly sheet, the timesheet and the dashboard agree to the minute:

- `people`: the employees the caller may see (scope and filters), with their location's zone.
- `cal`: one row per (location, shift, local date) in the range: holiday, working day of the
  shift, and the shift's start/end as instants (the local wall time put through the location's
  zone, so DST nights are 7 h or 9 h long). Only a handful of (location, shift) pairs exist, so
  this stays small however many employees there are.
- `recs`: attendance records grouped per employee and work date (a night shift's work date is
  the day it starts; the scan engine stores it). Lateness comes from the day's first check-in
  (a return from lunch is not "late"), early leave from its last check-out.
- `held`: offline scans still awaiting HR review, per employee and local day. They never count
  as presence or hours; they are only flagged.
- `daily`: people x cal, left-joined to recs and held: one row per employee and day.

Every statement takes the same parameters (see `service.Scope.params`); psycopg binds them
(server side for queries, client side for COPY).
"""

from __future__ import annotations

from datetime import date, timedelta

ZERO = "'00000000-0000-0000-0000-000000000000'::uuid"

_PEOPLE = f"""
people AS (
  SELECT u.id AS user_id, u.employee_id, u.first_name, u.last_name, u.department_id,
         coalesce(d.name, '') AS department, coalesce(l.name, '') AS location,
         coalesce(l.timezone, 'UTC') AS tz, u.location_id, u.shift_id,
         -- No day before the account existed is scheduled (there is no hire date).
         (u.created_at AT TIME ZONE coalesce(l.timezone, 'UTC'))::date AS since,
         (%(now)s::timestamptz AT TIME ZONE coalesce(l.timezone, 'UTC'))::date AS today,
         coalesce(u.location_id, {ZERO}) AS lkey, coalesce(u.shift_id, {ZERO}) AS skey
  FROM users u
  LEFT JOIN departments d ON d.id = u.department_id
  LEFT JOIN locations l ON l.id = u.location_id
  WHERE (%(everyone)s::boolean OR u.department_id = ANY(%(departments)s::uuid[])
         OR u.id = %(self_id)s::uuid)
    AND (%(department_id)s::uuid IS NULL OR u.department_id = %(department_id)s::uuid)
    AND (%(user_id)s::uuid IS NULL OR u.id = %(user_id)s::uuid)
    AND (%(location_id)s::uuid IS NULL OR u.location_id = %(location_id)s::uuid)
    -- Employees on a schedule, and anyone (even deactivated since) with records in the range.
    -- A scalar subquery, probed only for the few users the first test leaves: as an EXISTS the
    -- planner hashed every record of the range first (150 ms on a month of 10,000 people).
    AND ((u.is_active AND u.shift_id IS NOT NULL) OR (
          SELECT true FROM attendance_records r0
          WHERE r0.user_id = u.id
            AND r0.work_date BETWEEN %(from_date)s::date AND %(to_date)s::date
          LIMIT 1))
    AND (%(status)s::text IS NULL OR EXISTS (
          SELECT 1 FROM attendance_records r1
          WHERE r1.user_id = u.id AND r1.status = %(status)s::text
            AND r1.work_date BETWEEN %(from_date)s::date AND %(to_date)s::date))
)"""

_CALENDAR = f"""
-- Every (location, shift) pair in use, straight from the users table: its statistics give the
-- planner a true (small) estimate, so the calendar is hashed, never sorted and merged.
combos AS (
  SELECT k.lkey, k.skey, l.id AS location_id, coalesce(l.timezone, 'UTC') AS tz,
         s.start_time, s.end_time, coalesce(s.grace_minutes, 0) AS grace_minutes,
         coalesce(s.working_days, '{{}}'::smallint[]) AS working_days
  FROM (SELECT DISTINCT coalesce(location_id, {ZERO}) AS lkey,
                        coalesce(shift_id, {ZERO}) AS skey
        FROM users) k
  LEFT JOIN locations l ON l.id = k.lkey
  LEFT JOIN shifts s ON s.id = k.skey
),
-- MATERIALIZED: small, and its EXISTS must run once per row, not once per reference.
cal AS MATERIALIZED (
  SELECT c.lkey, c.skey, g.day,
         EXISTS (SELECT 1 FROM holidays h
                 WHERE h.holiday_date = g.day
                   AND (h.location_id IS NULL OR h.location_id = c.location_id)) AS holiday,
         extract(isodow FROM g.day)::smallint = ANY(c.working_days) AS working,
         (g.day + c.start_time) AT TIME ZONE c.tz AS start_at,
         (g.day + c.end_time + CASE WHEN c.end_time <= c.start_time THEN interval '1 day'
                                    ELSE interval '0' END) AT TIME ZONE c.tz AS end_at,
         c.grace_minutes
  FROM combos c
  -- An integer series of constant bounds: the planner knows its length (a date series it
  -- takes for 1000 rows).
  CROSS JOIN (SELECT %(from_date)s::date + i AS day
              FROM generate_series(0, %(to_date)s::date - %(from_date)s::date) i) g
),
corrected AS (
  -- Records edited by HR after the fact (a record created by HR has source 'manual').
  SELECT DISTINCT a.resource_id FROM audit_logs a
  WHERE a.action = 'attendance.correction_update' AND a.resource_type = 'attendance_record'
),
held AS (
  SELECT e.user_id, (coalesce(e.captured_at, e.received_at) AT TIME ZONE p.tz)::date AS day,
         count(*) AS held_scans
  FROM scan_events e JOIN people p ON p.user_id = e.user_id
  WHERE e.review_status = 'pending'
    AND (coalesce(e.captured_at, e.received_at) AT TIME ZONE p.tz)::date
        BETWEEN %(from_date)s::date AND %(to_date)s::date
  GROUP BY 1, 2
)"""

# Records grouped per employee and work date (for the reports that need every day).
_RECS = """
ordered AS (
  -- One sort by (employee, work date, check-in) serves both windows and the grouping below:
  -- aggregates with their own ORDER BY would sort again inside every group.
  SELECT r.user_id, r.work_date, r.status, r.minutes_late, r.early_leave_minutes,
         r.check_in_at, r.check_out_at, r.worked_minutes, r.source,
         c.resource_id IS NOT NULL AS edited,
         row_number() OVER w AS n, count(*) OVER whole AS total
  FROM attendance_records r
  JOIN people p ON p.user_id = r.user_id
  LEFT JOIN corrected c ON c.resource_id = r.id::text
  WHERE r.work_date BETWEEN %(from_date)s::date AND %(to_date)s::date
  WINDOW w AS (PARTITION BY r.user_id, r.work_date ORDER BY r.check_in_at, r.id),
         whole AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
recs AS (
  SELECT user_id, work_date,
         count(*) AS records,
         max(status) FILTER (WHERE n = 1) AS first_status,
         max(minutes_late) FILTER (WHERE n = 1) AS minutes_late,
         max(early_leave_minutes) FILTER (WHERE n = total) AS early_leave_minutes,
         bool_or(check_out_at IS NULL) AS open,
         coalesce(sum(worked_minutes), 0) AS worked_minutes,
         count(*) FILTER (WHERE source = 'offline') AS offline_records,
         count(*) FILTER (WHERE source = 'manual' OR edited) AS corrected_records,
         min(check_in_at) AS first_in,
         CASE WHEN bool_or(check_out_at IS NULL) THEN NULL ELSE max(check_out_at) END
           AS last_out
  FROM ordered
  GROUP BY user_id, work_date
)"""


# A day's overtime: beyond the shift's real length on a scheduled day, every minute otherwise
# (holiday, non-working day, no shift), as the scan rules count it. Computed per day, not per
# record, so a day split by a lunch break is not short of overtime.
def _overtime(r: str, present: str) -> str:
    return f"""
CASE WHEN {present} IS NULL THEN 0
     WHEN c.working AND NOT c.holiday AND {r}.first_status IN ('early', 'on_time', 'late')
       THEN greatest(0, {r}.worked_minutes - (extract(epoch FROM c.end_at - c.start_at) / 60)::int)
     ELSE {r}.worked_minutes END"""


_DAILY = f"""
daily AS (
  SELECT p.user_id, p.employee_id, p.first_name, p.last_name, p.department_id, p.department,
         p.location, p.tz, p.today, c.day, c.holiday, c.working, r.first_in,
         (c.working AND NOT c.holiday AND c.day >= p.since) AS scheduled,
         r.user_id IS NOT NULL AS present,
         coalesce(r.first_status = 'late', false) AS late,
         coalesce(r.minutes_late, 0) AS minutes_late,
         coalesce(NOT r.open AND r.early_leave_minutes > 0, false) AS left_early,
         coalesce(r.open, false) AS open,
         coalesce(r.worked_minutes, 0) AS worked_minutes,
         {_overtime("r", "r.user_id")} AS overtime_minutes,
         -- Absent once the shift's start + grace has passed in the location's zone.
         (c.working AND NOT c.holiday AND c.day >= p.since AND r.user_id IS NULL
          AND c.start_at + make_interval(mins => c.grace_minutes) <= %(now)s::timestamptz)
           AS absent,
         coalesce(r.offline_records, 0) AS offline_records,
         coalesce(r.corrected_records, 0) AS corrected_records,
         coalesce(h.held_scans, 0) AS held_scans
  FROM people p
  JOIN cal c ON c.lkey = p.lkey AND c.skey = p.skey
  LEFT JOIN recs r ON r.user_id = p.user_id AND r.work_date = c.day
  LEFT JOIN held h ON h.user_id = p.user_id AND h.day = c.day
)"""

_BASE = f"WITH {_PEOPLE},\n{_CALENDAR},\n{_RECS},\n{_DAILY}\n"

_RATE = """round(100.0 * count(*) FILTER (WHERE scheduled AND present)
      / nullif(count(*) FILTER (WHERE scheduled AND present) + count(*) FILTER (WHERE absent), 0),
      1)::float8"""

# The per-employee summary never builds the employees x days grid: scheduled and due days come
# from running counts over the small calendar (from the employee's first day to the range's
# end), and presence from the records, read once with one sort for the per-day windows.
ATTENDANCE = f"""WITH {_PEOPLE},
{_CALENDAR},
marks AS (
  SELECT lkey, skey, day,
         count(*) FILTER (WHERE working AND NOT holiday) OVER later AS scheduled_from,
         count(*) FILTER (WHERE working AND NOT holiday
                          AND start_at + make_interval(mins => grace_minutes)
                              <= %(now)s::timestamptz) OVER later AS due_from,
         count(*) FILTER (WHERE working AND holiday) OVER later AS holidays_from
  FROM cal
  WINDOW later AS (PARTITION BY lkey, skey ORDER BY day
                   ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)
),
-- Each record with its day's figures: one window over (employee, work date), no ORDER BY, so
-- a single sort serves it; the day's first record is the one with the earliest check-in, its
-- last the latest. `OFFSET 0` keeps records joined to their employee before the calendar
-- (the planner, blind to how few (location, shift) pairs there are, would otherwise build
-- employees x calendar first), without materialising them.
days AS (
  SELECT r.user_id, r.status, r.minutes_late, r.early_leave_minutes, r.worked_minutes, r.source,
         co.resource_id IS NOT NULL AS edited, c.working, c.holiday,
         (c.working AND NOT c.holiday AND r.work_date >= r.since) AS scheduled,
         c.start_at + make_interval(mins => c.grace_minutes) <= %(now)s::timestamptz AS due,
         (extract(epoch FROM c.end_at - c.start_at) / 60)::int AS shift_minutes,
         r.check_in_at = min(r.check_in_at) OVER d AS first,
         r.check_in_at = max(r.check_in_at) OVER d AS last,
         coalesce(sum(r.worked_minutes) OVER d, 0) AS day_worked,
         bool_or(r.check_out_at IS NULL) OVER d AS day_open
  FROM (SELECT r.id, r.user_id, r.work_date, r.check_in_at, r.check_out_at, r.status,
               r.minutes_late, r.early_leave_minutes, r.worked_minutes, r.source, p.lkey,
               p.skey, p.since
        FROM attendance_records r
        JOIN people p ON p.user_id = r.user_id
        WHERE r.work_date BETWEEN %(from_date)s::date AND %(to_date)s::date
        OFFSET 0) r
  JOIN cal c ON c.lkey = r.lkey AND c.skey = r.skey AND c.day = r.work_date
  LEFT JOIN corrected co ON co.resource_id = r.id::text
  WINDOW d AS (PARTITION BY r.user_id, r.work_date)
),
per_user AS (
  SELECT user_id,
         count(*) FILTER (WHERE first) AS days_present,
         count(*) FILTER (WHERE first AND scheduled) AS present_scheduled,
         count(*) FILTER (WHERE first AND scheduled AND due) AS present_due,
         count(*) FILTER (WHERE first AND status = 'late') AS late_count,
         coalesce(sum(minutes_late) FILTER (WHERE first AND status = 'late'), 0) AS minutes_late,
         count(*) FILTER (WHERE last AND NOT day_open AND early_leave_minutes > 0)
           AS early_leaves,
         coalesce(sum(worked_minutes), 0) AS worked_minutes,
         coalesce(sum(CASE WHEN working AND NOT holiday
                                AND status IN ('early', 'on_time', 'late')
                           THEN greatest(0, day_worked - shift_minutes)
                           ELSE day_worked END) FILTER (WHERE first), 0) AS overtime_minutes,
         count(*) FILTER (WHERE first AND day_open) AS open_days,
         count(*) FILTER (WHERE source = 'offline') AS offline_records,
         count(*) FILTER (WHERE source = 'manual' OR edited) AS corrected_records
  FROM days
  GROUP BY user_id
),
held_per_user AS (SELECT user_id, sum(held_scans) AS held_scans FROM held GROUP BY user_id),
summary AS (
  SELECT p.user_id, p.employee_id, p.last_name, p.first_name, p.department, p.location, p.tz,
         coalesce(m.scheduled_from, 0) AS scheduled_days,
         coalesce(u.days_present, 0) AS days_present,
         coalesce(u.present_scheduled, 0) AS present_scheduled,
         coalesce(u.late_count, 0) AS late_count,
         coalesce(u.minutes_late, 0) AS minutes_late,
         coalesce(u.early_leaves, 0) AS early_leaves,
         coalesce(m.due_from, 0) - coalesce(u.present_due, 0) AS absences,
         coalesce(m.holidays_from, 0) AS holidays,
         coalesce(u.worked_minutes, 0) AS worked_minutes,
         coalesce(u.overtime_minutes, 0) AS overtime_minutes,
         coalesce(u.open_days, 0) AS open_days,
         coalesce(u.offline_records, 0) AS offline_records,
         coalesce(u.corrected_records, 0) AS corrected_records,
         coalesce(h.held_scans, 0) AS held_scans
  FROM people p
  LEFT JOIN marks m ON m.lkey = p.lkey AND m.skey = p.skey
                   AND m.day = greatest(p.since, %(from_date)s::date)
  LEFT JOIN per_user u ON u.user_id = p.user_id
  LEFT JOIN held_per_user h ON h.user_id = p.user_id
)
SELECT employee_id, last_name, first_name, department, location, tz AS timezone,
       scheduled_days::int, days_present::int, late_count::int, minutes_late::int,
       early_leaves::int, absences::int, holidays::int, worked_minutes::int,
       (worked_minutes - overtime_minutes)::int AS regular_minutes,
       overtime_minutes::int,
       round(worked_minutes / 60.0, 2)::float8 AS worked_hours,
       round((worked_minutes - overtime_minutes) / 60.0, 2)::float8 AS regular_hours,
       round(overtime_minutes / 60.0, 2)::float8 AS overtime_hours,
       round(100.0 * present_scheduled / nullif(present_scheduled + absences, 0), 1)::float8
         AS attendance_rate,
       open_days::int, offline_records::int, corrected_records::int, held_scans::int, user_id
FROM summary
ORDER BY last_name, first_name, employee_id
"""

DEPARTMENT_SUMMARY = (
    _BASE
    + f"""
SELECT day AS date, department,
       count(*)::int AS employees,
       count(*) FILTER (WHERE scheduled)::int AS scheduled,
       count(*) FILTER (WHERE present)::int AS present,
       count(*) FILTER (WHERE scheduled AND present)::int AS present_scheduled,
       count(*) FILTER (WHERE late)::int AS late,
       count(*) FILTER (WHERE absent)::int AS absent,
       {_RATE} AS attendance_rate
FROM daily
GROUP BY day, department
ORDER BY day, department
"""
)

# One code per employee and day; documented in docs/reports.md.
_CODE = """CASE WHEN present THEN CASE WHEN open THEN 'O' WHEN late THEN 'L'
                                   WHEN left_early THEN 'E' ELSE 'P' END
     WHEN holiday THEN 'H' WHEN NOT working THEN 'N' WHEN absent THEN 'A' ELSE '' END"""
CODES = ("P", "L", "E", "O", "A", "H", "N")

_SHEET = (
    _BASE
    + f""",
sheet AS (
  SELECT user_id, employee_id, last_name, first_name, department,
         array_agg({_CODE} ORDER BY day) AS codes
  FROM daily
  GROUP BY user_id, employee_id, last_name, first_name, department
)
"""
)


def monthly_sheet(from_date: date, to_date: date) -> str:
    """The sheet with one column per day (named by its ISO date) and a total per code."""
    days = (to_date - from_date).days + 1
    columns = ",\n".join(
        f'codes[{i + 1}] AS "{(from_date + timedelta(days=i)).isoformat()}"' for i in range(days)
    )
    totals = ",\n".join(
        f"cardinality(array_positions(codes, '{code}'))::int AS total_{code.lower()}"
        for code in CODES
    )
    return (
        _SHEET + f"SELECT employee_id, last_name, first_name, department,\n{columns},\n{totals}\n"
        "FROM sheet ORDER BY last_name, first_name, employee_id\n"
    )


# The timesheet reads only the days that have records (or held scans): no employees x days grid.
# Each employee gets their place in the output once (`ranked`: a 10,000-row sort by name), so
# the records are sorted ONCE on integers and dates (rank, day, check-in) instead of on names,
# and grouped per day straight from that order: the day's first record and its in-out pairs
# come from the sorted input (a sorted subquery feeding a GroupAggregate; report statements run
# without parallel workers, see service.tune, so nothing reorders it; the fixture's split day
# proves the order). Calendar and correction lookups are hash probes per record.
_TS = f"""WITH {_PEOPLE},
{_CALENDAR},
ranked AS MATERIALIZED (
  SELECT p.user_id, p.employee_id, p.last_name, p.first_name, p.department,
         p.tz COLLATE "C" AS tz, p.lkey, p.skey,
         row_number() OVER (ORDER BY p.last_name, p.first_name, p.employee_id) AS rank
  FROM people p
),
src AS (
  SELECT u.*, c.working AND NOT c.holiday AS scheduled,
         (extract(epoch FROM c.end_at - c.start_at) / 60)::int AS shift_minutes,
         -- The one sort: by employee, day and check-in; the day's first record is n = 1.
         row_number() OVER (PARTITION BY u.rank, u.day ORDER BY u.check_in_at, u.id) AS n
  FROM (
    SELECT p.rank, r.work_date AS day, r.check_in_at, r.id, r.status, r.minutes_late,
           r.check_out_at, r.worked_minutes, r.source = 'offline' AS offline,
           (r.source = 'manual' OR co.resource_id IS NOT NULL) AS corrected, 0::bigint AS held,
           p.tz, p.lkey, p.skey
    FROM attendance_records r
    JOIN ranked p ON p.user_id = r.user_id
    LEFT JOIN corrected co ON co.resource_id = r.id::text
    WHERE r.work_date BETWEEN %(from_date)s::date AND %(to_date)s::date
    UNION ALL
    -- Held scans of the day, after its records (no check-in: sorted last); a day with held
    -- scans and no record still gets its row (flagged, nothing counted).
    SELECT p.rank, h.day, NULL, NULL, NULL, 0, NULL, NULL, false, false, h.held_scans,
           p.tz, p.lkey, p.skey
    FROM held h
    JOIN ranked p ON p.user_id = h.user_id
  ) u
  -- The calendar day of the record's employee: a hash probe into a few hundred rows.
  JOIN cal c ON c.lkey = u.lkey AND c.skey = u.skey AND c.day = u.day
),
ts AS (
  SELECT rank, day, min(tz) AS tz,
         min(status) FILTER (WHERE n = 1) AS first_status,
         min(check_in_at) AS first_in,
         CASE WHEN bool_or(id IS NOT NULL AND check_out_at IS NULL) THEN NULL
              ELSE max(check_out_at) END AS last_out,
         string_agg(left(((check_in_at AT TIME ZONE tz)::time)::text, 5) || '-'
                    || coalesce(left(((check_out_at AT TIME ZONE tz)::time)::text, 5), ''),
                    ' ') AS pairs,
         bool_or(id IS NOT NULL AND check_out_at IS NULL) AS open,
         coalesce(min(minutes_late) FILTER (WHERE n = 1), 0) AS minutes_late,
         coalesce(sum(worked_minutes), 0) AS worked_minutes,
         -- Beyond the shift's length on a scheduled day, every minute otherwise (see _overtime).
         CASE WHEN count(id) = 0 THEN 0
              WHEN bool_and(scheduled)
                   AND min(status) FILTER (WHERE n = 1) IN ('early', 'on_time', 'late')
                THEN greatest(0, coalesce(sum(worked_minutes), 0) - min(shift_minutes))
              ELSE coalesce(sum(worked_minutes), 0) END AS overtime_minutes,
         bool_or(offline) AS offline, bool_or(corrected) AS corrected, sum(held) AS held_scans
  FROM src
  GROUP BY rank, day
  HAVING %(status)s::text IS NULL OR min(status) FILTER (WHERE n = 1) = %(status)s::text
)
"""

TIMESHEET_COLUMNS = (
    "employee_id", "last_name", "first_name", "department", "date", "timezone",
    "first_check_in", "last_check_out", "pairs", "status", "minutes_late", "worked_minutes",
    "regular_minutes", "overtime_minutes", "worked_hours", "regular_hours", "overtime_hours",
    "flags",
)  # fmt: skip
_FLAGS = """concat_ws(' ', CASE WHEN offline THEN 'offline' END,
                   CASE WHEN corrected THEN 'corrected' END,
                   CASE WHEN held_scans > 0 THEN 'held' END,
                   CASE WHEN open THEN 'open' END)"""

TIMESHEET = (
    _TS
    + f"""
SELECT employee_id, last_name, first_name, department, day AS date, ts.tz AS timezone,
       (first_in AT TIME ZONE ts.tz)::timestamp(0) AS first_check_in,
       (last_out AT TIME ZONE ts.tz)::timestamp(0) AS last_check_out,
       coalesce(pairs, '') AS pairs, coalesce(first_status, '') AS status, minutes_late,
       worked_minutes, worked_minutes - overtime_minutes AS regular_minutes, overtime_minutes,
       round(worked_minutes / 60.0, 2) AS worked_hours,
       round((worked_minutes - overtime_minutes) / 60.0, 2) AS regular_hours,
       round(overtime_minutes / 60.0, 2) AS overtime_hours,
       {_FLAGS} AS flags
FROM ts JOIN ranked USING (rank)
ORDER BY rank, day
"""
)


def _csv_field(column: str) -> str:
    """A text column as a CSV field: quoted (and its quotes doubled) only when it needs it,
    as PostgreSQL's COPY writes it."""
    return (
        f"""CASE WHEN {column} ~ '[",\\r\\n]' OR {column} IN ('', '\\.') """
        f"""THEN '"' || replace({column}, '"', '""') || '"' ELSE {column} END"""
    )


# The same timesheet as CSV text, one row per employee holding all their lines: COPY sends a
# message per line, and handing 220,000 of them through the driver cost the API more CPU than
# the query. Byte for byte what COPY (FORMAT csv, HEADER) writes for TIMESHEET, header aside
# (tests/report/test_figures.py compares them). The per-employee columns are formatted once.
TIMESHEET_CSV = (
    _TS
    + f""",
lines AS (
  -- One concat_ws per line (a chain of || copies the growing line at every step).
  SELECT rank, concat_ws(',', day, tz,
           coalesce(((first_in AT TIME ZONE tz)::timestamp(0))::text, ''),
           coalesce(((last_out AT TIME ZONE tz)::timestamp(0))::text, ''),
           coalesce(pairs, '""'), coalesce(first_status, '""'), minutes_late, worked_minutes,
           worked_minutes - overtime_minutes, overtime_minutes, round(worked_minutes / 60.0, 2),
           round((worked_minutes - overtime_minutes) / 60.0, 2), round(overtime_minutes / 60.0, 2),
           coalesce(nullif({_FLAGS}, ''), '""')) || E'\\n' AS line
  FROM ts
),
chunks AS (
  -- `ts` comes out in (rank, day) order, which the aggregate keeps.
  SELECT rank, string_agg(line, '') AS body FROM lines GROUP BY rank
)
SELECT {_csv_field("p.employee_id")} || ',' || {_csv_field("p.last_name")} || ','
       || {_csv_field("p.first_name")} || ',' || {_csv_field("p.department")} || ',' AS head,
       k.body
FROM chunks k JOIN ranked p USING (rank)
ORDER BY rank
"""
)

# Gusto-style hours import: one row per employee for the pay period (the range).
GUSTO = (
    _TS
    + """
SELECT last_name AS "last_name", first_name AS "first_name", employee_id AS "employee_id",
       round(sum(worked_minutes - overtime_minutes) / 60.0, 2) AS "regular_hours",
       round(sum(overtime_minutes) / 60.0, 2) AS "overtime_hours",
       0 AS "double_overtime_hours"
FROM ts JOIN ranked USING (rank)
GROUP BY rank, last_name, first_name, employee_id
ORDER BY rank
"""
)

# DATEV-style movement data: personnel number; date (DD.MM.YYYY); wage type; hours with a
# decimal comma. Wage types 1000 (regular) and 1200 (overtime) are the defaults documented in
# docs/reports.md; payroll offices map them to their own.
DATEV = (
    _TS
    + """
SELECT employee_id AS "Personalnummer", to_char(day, 'DD.MM.YYYY') AS "Datum",
       wage_type AS "Lohnart", replace(to_char(minutes / 60.0, 'FM9990.00'), '.', ',') AS "Stunden"
FROM ts JOIN ranked USING (rank)
CROSS JOIN LATERAL (VALUES ('1000', worked_minutes - overtime_minutes),
                           ('1200', overtime_minutes)) AS w(wage_type, minutes)
WHERE minutes > 0
ORDER BY employee_id, day, wage_type
"""
)


# The portal's dashboard: the last 30 local days of each employee's location (each location
# has its own "today") and today's absent and late people, from the same per-day rows as the
# reports. The range covers every zone's window; each row keeps only its own.
DASHBOARD = (
    _BASE
    + """,
mine AS MATERIALIZED (
  SELECT * FROM daily WHERE day <= today AND day > today - 30
)
SELECT json_build_object(
  'days', (SELECT coalesce(json_agg(d ORDER BY d.date), '[]'::json) FROM (
             SELECT (today - day) AS days_ago, min(day) AS date,
                    count(*) FILTER (WHERE present AND scheduled AND NOT late)::int AS on_time,
                    count(*) FILTER (WHERE present AND late)::int AS late,
                    count(*) FILTER (WHERE absent)::int AS absent
             FROM mine GROUP BY today - day) d),
  'absent', (SELECT coalesce(json_agg(a ORDER BY a.location, a.last_name, a.first_name), '[]')
             FROM (SELECT user_id, employee_id, first_name, last_name, department, location
                   FROM mine WHERE day = today AND absent) a),
  'late', (SELECT coalesce(json_agg(l ORDER BY l.first_in), '[]')
           FROM (SELECT user_id, employee_id, first_name, last_name, location, minutes_late,
                        first_in, tz AS timezone
                 FROM mine WHERE day = today AND late) l)
)::text
"""
)
