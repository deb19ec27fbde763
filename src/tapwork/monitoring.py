"""What the worker's metrics port shows besides its own counters: the state of the system as
the database holds it, read when Prometheus scrapes (every 30 s), not kept in memory. Every
worker replica reports the same figures, so alert rules take `max()` over them.

- `tapwork_outbox_mails{status}`: mails queued, being sent, failed (the backlog);
- `tapwork_outbox_oldest_queued_age_seconds`: how long the oldest mail still to send waits;
- `tapwork_kiosk_last_seen_timestamp_seconds{kiosk_id,kiosk}`: each live kiosk's last contact;
- `tapwork_jobs{task,status}`: procrastinate jobs by task and status;
- `tapwork_job_last_duration_seconds{task}`, `tapwork_job_last_finished_timestamp_seconds{task,
  status}`: each task's latest finished run;
- `tapwork_state_up`: 0 when the database could not be read (the other figures are then absent).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MAILS_SENT = Counter("tapwork_mail_sent_total", "Mails the relay accepted")
MAIL_FAILURES = Counter(
    "tapwork_mail_delivery_failures_total",
    "Failed delivery attempts: retrying (will be tried again) or gave_up (attempts exhausted)",
    ["outcome"],
)

_OUTBOX = "SELECT status, count(*) FROM email_outbox WHERE status <> 'sent' GROUP BY status"
_OLDEST = (
    "SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM email_outbox "
    "WHERE status IN ('queued', 'sending')"
)
_KIOSKS = (
    "SELECT id::text, name, extract(epoch FROM last_seen_at) FROM kiosks "
    "WHERE revoked_at IS NULL AND last_seen_at IS NOT NULL"
)
_JOBS = "SELECT task_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2"
_LAST_RUNS = """
SELECT DISTINCT ON (j.task_name) j.task_name, e.type::text,
       extract(epoch FROM e.at - s.at), extract(epoch FROM e.at)
FROM procrastinate_jobs j
JOIN procrastinate_events e ON e.job_id = j.id AND e.type IN ('succeeded', 'failed')
JOIN procrastinate_events s ON s.job_id = j.id AND s.type = 'started'
ORDER BY j.task_name, e.at DESC
"""


class StateCollector(Collector):
    def __init__(self, url: str, *, timeout_seconds: float = 5.0) -> None:
        self.url = url
        self.timeout_ms = int(timeout_seconds * 1000)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("tapwork_state_up", "1 when the database state could be read")
        try:
            families = self._read()
        except psycopg.Error:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> list[GaugeMetricFamily]:
        with psycopg.connect(
            self.url, connect_timeout=max(1, self.timeout_ms // 1000), autocommit=True,
            prepare_threshold=None, options=f"-c statement_timeout={self.timeout_ms}",
        ) as conn:  # fmt: skip
            rows: dict[str, list[tuple[Any, ...]]] = {
                name: conn.execute(sql).fetchall()
                for name, sql in (("outbox", _OUTBOX), ("oldest", _OLDEST), ("kiosks", _KIOSKS),
                                  ("jobs", _JOBS), ("runs", _LAST_RUNS))
            }  # fmt: skip
        outbox = GaugeMetricFamily("tapwork_outbox_mails", "Mails not yet sent", labels=["status"])
        counts = {"queued": 0, "sending": 0, "failed": 0} | dict(rows["outbox"])
        for status, n in counts.items():
            outbox.add_metric([status], n)
        oldest = GaugeMetricFamily(
            "tapwork_outbox_oldest_queued_age_seconds", "Age of the oldest mail still to send"
        )
        oldest.add_metric([], float(rows["oldest"][0][0]))
        kiosks = GaugeMetricFamily(
            "tapwork_kiosk_last_seen_timestamp_seconds",
            "When each live kiosk was last heard from (Unix time)",
            labels=["kiosk_id", "kiosk"],
        )
        for kiosk_id, name, seen in rows["kiosks"]:
            kiosks.add_metric([kiosk_id, name], float(seen))
        jobs = GaugeMetricFamily(
            "tapwork_jobs", "Background jobs by task and status", labels=["task", "status"]
        )
        for task, status, n in rows["jobs"]:
            jobs.add_metric([task, status], n)
        duration = GaugeMetricFamily(
            "tapwork_job_last_duration_seconds",
            "Run time of each task's latest run",
            labels=["task"],
        )
        finished = GaugeMetricFamily(
            "tapwork_job_last_finished_timestamp_seconds",
            "When each task's latest run ended (Unix time), and how",
            labels=["task", "status"],
        )
        for task, status, seconds, at in rows["runs"]:
            duration.add_metric([task], float(seconds))
            finished.add_metric([task, status], float(at))
        return [outbox, oldest, kiosks, jobs, duration, finished]
