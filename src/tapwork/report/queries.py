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
    AND ((u.is_active AND u.shift_id IS NOT NULL) OR EXISTS (
          SELECT 1 FROM attendance_records r0
          WHERE r0.user_id = u.id
            AND r0.work_date BETWEEN %(from_date)s::date AND %(to_date)s::date))
    AND (%(status)s::text IS NULL OR EXISTS (
          SELECT 1 FROM attendance_records r1
          WHERE r1.user_id = u.id AND r1.status = %(status)s::text
            AND r1.work_date BETWEEN %(from_date)s::date AND %(to_date)s::date))
)"""

_CAL = """
combos AS (
  SELECT DISTINCT p.lkey, p.skey, p.location_id, p.tz, s.start_time, s.end_time,
         coalesce(s.grace_minutes, 0) AS grace_minutes,
         coalesce(s.working_days, '{}'::smallint[]) AS working_days
  FROM people p LEFT JOIN shifts s ON s.id = p.shift_id
),
cal AS (
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
  CROSS JOIN (SELECT d::date AS day
              FROM generate_series(%(from_date)s::date, %(to_date)s::date, interval '1 day') d
             ) g
),
corrected AS (
  -- Records edited by HR after the fact (a record created by HR has source 'manual').
  SELECT DISTINCT a.resource_id FROM audit_logs a
  WHERE a.action = 'attendance.correction_update' AND a.resource_type = 'attendance_record'
),
recs AS (
  SELECT r.user_id, r.work_date,
         count(*) AS records,
         (array_agg(r.status ORDER BY r.check_in_at))[1] AS first_status,
         (array_agg(r.minutes_late ORDER BY r.check_in_at))[1] AS minutes_late,
         (array_agg(r.early_leave_minutes ORDER BY r.check_in_at DESC))[1] AS early_leave_minutes,
         bool_or(r.check_out_at IS NULL) AS open,
         coalesce(sum(r.worked_minutes), 0) AS worked_minutes,
         count(*) FILTER (WHERE r.source = 'offline') AS offline_records,
         count(*) FILTER (WHERE r.source = 'manual' OR c.resource_id IS NOT NULL)
           AS corrected_records,
         min(r.check_in_at) AS first_in,
         CASE WHEN bool_or(r.check_out_at IS NULL) THEN NULL ELSE max(r.check_out_at) END
           AS last_out,
         string_agg(to_char(r.check_in_at AT TIME ZONE p.tz, 'HH24:MI') || '-'
                    || coalesce(to_char(r.check_out_at AT TIME ZONE p.tz, 'HH24:MI'), ''),
                    ' ' ORDER BY r.check_in_at) AS pairs
  FROM attendance_records r
  JOIN people p ON p.user_id = r.user_id
  LEFT JOIN corrected c ON c.resource_id = r.id::text
  WHERE r.work_date BETWEEN %(from_date)s::date AND %(to_date)s::date
  GROUP BY r.user_id, r.work_date
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
         p.location, p.tz, c.day, c.holiday, c.working,
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

_BASE = f"WITH {_PEOPLE},\n{_CAL},\n{_DAILY}\n"

_RATE = """round(100.0 * count(*) FILTER (WHERE scheduled AND present)
      / nullif(count(*) FILTER (WHERE scheduled AND present) + count(*) FILTER (WHERE absent), 0),
      1)::float8"""

ATTENDANCE = (
    _BASE
    + f"""
SELECT employee_id, last_name, first_name, department, location, tz AS timezone,
       count(*) FILTER (WHERE scheduled)::int AS scheduled_days,
       count(*) FILTER (WHERE present)::int AS days_present,
       count(*) FILTER (WHERE late)::int AS late_count,
       coalesce(sum(minutes_late) FILTER (WHERE late), 0)::int AS minutes_late,
       count(*) FILTER (WHERE left_early)::int AS early_leaves,
       count(*) FILTER (WHERE absent)::int AS absences,
       count(*) FILTER (WHERE holiday AND working)::int AS holidays,
       sum(worked_minutes)::int AS worked_minutes,
       (sum(worked_minutes) - sum(overtime_minutes))::int AS regular_minutes,
       sum(overtime_minutes)::int AS overtime_minutes,
       round(sum(worked_minutes) / 60.0, 2)::float8 AS worked_hours,
       round((sum(worked_minutes) - sum(overtime_minutes)) / 60.0, 2)::float8 AS regular_hours,
       round(sum(overtime_minutes) / 60.0, 2)::float8 AS overtime_hours,
       {_RATE} AS attendance_rate,
       count(*) FILTER (WHERE open)::int AS open_days,
       sum(offline_records)::int AS offline_records,
       sum(corrected_records)::int AS corrected_records,
       sum(held_scans)::int AS held_scans,
       user_id
FROM daily
GROUP BY user_id, employee_id, last_name, first_name, department, location, tz
ORDER BY last_name, first_name, employee_id
"""
)

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


# The timesheet reads only the days that have records (or held scans): it never builds the
# employees x days grid, which is what lets it stream at COPY speed.
_TIMESHEET_DAYS = (
    f"WITH {_PEOPLE},\n{_CAL},\n"
    + f"""
days AS (
  SELECT coalesce(r.user_id, h.user_id) AS user_id, coalesce(r.work_date, h.day) AS day,
         r.records, r.first_status, r.minutes_late, r.open, r.first_in, r.last_out, r.pairs,
         r.worked_minutes, r.offline_records, r.corrected_records, h.held_scans,
         r.user_id AS present
  FROM recs r FULL JOIN held h ON h.user_id = r.user_id AND h.day = r.work_date
),
ts AS (
  SELECT p.employee_id, p.last_name, p.first_name, p.department, p.tz, d.day,
         d.first_status, d.first_in, d.last_out, d.pairs, d.open,
         coalesce(d.minutes_late, 0) AS minutes_late,
         coalesce(d.worked_minutes, 0) AS worked_minutes,
         {_overtime("d", "d.present")} AS overtime_minutes,
         coalesce(d.offline_records, 0) AS offline_records,
         coalesce(d.corrected_records, 0) AS corrected_records,
         coalesce(d.held_scans, 0) AS held_scans
  FROM days d
  JOIN people p ON p.user_id = d.user_id
  JOIN cal c ON c.lkey = p.lkey AND c.skey = p.skey AND c.day = d.day
  WHERE %(status)s::text IS NULL OR d.first_status = %(status)s::text
)
"""
)

TIMESHEET = (
    _TIMESHEET_DAYS
    + """
SELECT employee_id, last_name, first_name, department, day AS date, tz AS timezone,
       (first_in AT TIME ZONE tz)::timestamp(0) AS first_check_in,
       (last_out AT TIME ZONE tz)::timestamp(0) AS last_check_out,
       coalesce(pairs, '') AS pairs, coalesce(first_status, '') AS status, minutes_late,
       worked_minutes, worked_minutes - overtime_minutes AS regular_minutes, overtime_minutes,
       round(worked_minutes / 60.0, 2) AS worked_hours,
       round((worked_minutes - overtime_minutes) / 60.0, 2) AS regular_hours,
       round(overtime_minutes / 60.0, 2) AS overtime_hours,
       concat_ws(' ', CASE WHEN offline_records > 0 THEN 'offline' END,
                      CASE WHEN corrected_records > 0 THEN 'corrected' END,
                      CASE WHEN held_scans > 0 THEN 'held' END,
                      CASE WHEN open THEN 'open' END) AS flags
FROM ts
ORDER BY last_name, first_name, employee_id, day
"""
)

# Gusto-style hours import: one row per employee for the pay period (the range).
GUSTO = (
    _TIMESHEET_DAYS
    + """
SELECT last_name AS "last_name", first_name AS "first_name", employee_id AS "employee_id",
       round(sum(worked_minutes - overtime_minutes) / 60.0, 2) AS "regular_hours",
       round(sum(overtime_minutes) / 60.0, 2) AS "overtime_hours",
       0 AS "double_overtime_hours"
FROM ts
GROUP BY last_name, first_name, employee_id
ORDER BY last_name, first_name, employee_id
"""
)

# DATEV-style movement data: personnel number; date (DD.MM.YYYY); wage type; hours with a
# decimal comma. Wage types 1000 (regular) and 1200 (overtime) are the defaults documented in
# docs/reports.md; payroll offices map them to their own.
DATEV = (
    _TIMESHEET_DAYS
    + """
SELECT employee_id AS "Personalnummer", to_char(day, 'DD.MM.YYYY') AS "Datum",
       wage_type AS "Lohnart", replace(to_char(minutes / 60.0, 'FM9990.00'), '.', ',') AS "Stunden"
FROM ts
CROSS JOIN LATERAL (VALUES ('1000', worked_minutes - overtime_minutes),
                           ('1200', overtime_minutes)) AS w(wage_type, minutes)
WHERE minutes > 0
ORDER BY employee_id, day, wage_type
"""
)
