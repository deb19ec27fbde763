"""Column layouts and their English and Spanish labels for the XLSX and PDF renderings.

JSON keys and CSV headers are the SQL column names in every language: files that payroll
systems and scripts read must not change with the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["en", "es"]
LANGS: tuple[Lang, ...] = ("en", "es")
ColumnType = Literal["text", "int", "hours", "rate", "date", "datetime", "code"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    type: ColumnType
    en: str
    es: str

    def label(self, lang: Lang) -> str:
        return self.es if lang == "es" else self.en


def _c(key: str, type_: ColumnType, en: str, es: str) -> Column:
    return Column(key, type_, en, es)


_PERSON = (
    _c("employee_id", "text", "Employee ID", "N.º empleado"),
    _c("last_name", "text", "Last name", "Apellidos"),
    _c("first_name", "text", "First name", "Nombre"),
    _c("department", "text", "Department", "Departamento"),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "attendance": (
        *_PERSON,
        _c("scheduled_days", "int", "Scheduled days", "Días programados"),
        _c("days_present", "int", "Days present", "Días presentes"),
        _c("late_count", "int", "Late", "Retrasos"),
        _c("minutes_late", "int", "Minutes late", "Minutos de retraso"),
        _c("early_leaves", "int", "Early leaves", "Salidas anticipadas"),
        _c("absences", "int", "Absences", "Ausencias"),
        _c("worked_hours", "hours", "Hours worked", "Horas trabajadas"),
        _c("regular_hours", "hours", "Regular hours", "Horas ordinarias"),
        _c("overtime_hours", "hours", "Overtime hours", "Horas extra"),
        _c("attendance_rate", "rate", "Attendance rate %", "Tasa de asistencia %"),
        _c("offline_records", "int", "Offline", "Sin conexión"),
        _c("corrected_records", "int", "Corrected", "Corregidos"),
        _c("held_scans", "int", "Held", "Retenidos"),
    ),
    "department-summary": (
        _c("date", "date", "Date", "Fecha"),
        _c("department", "text", "Department", "Departamento"),
        _c("employees", "int", "Employees", "Empleados"),
        _c("scheduled", "int", "Scheduled", "Programados"),
        _c("present", "int", "Present", "Presentes"),
        _c("late", "int", "Late", "Retrasos"),
        _c("absent", "int", "Absent", "Ausentes"),
        _c("attendance_rate", "rate", "Attendance rate %", "Tasa de asistencia %"),
    ),
    "timesheet": (
        *_PERSON,
        _c("date", "date", "Date", "Fecha"),
        _c("first_check_in", "datetime", "Check-in", "Entrada"),
        _c("last_check_out", "datetime", "Check-out", "Salida"),
        _c("pairs", "text", "In-out pairs", "Pares entrada-salida"),
        _c("status", "text", "Status", "Estado"),
        _c("minutes_late", "int", "Minutes late", "Minutos de retraso"),
        _c("worked_hours", "hours", "Hours worked", "Horas trabajadas"),
        _c("regular_hours", "hours", "Regular hours", "Horas ordinarias"),
        _c("overtime_hours", "hours", "Overtime hours", "Horas extra"),
        _c("flags", "text", "Flags", "Marcas"),
    ),
}

SHEET_TOTALS = tuple(
    _c(f"total_{code.lower()}", "int", f"Total {code}", f"Total {code}")
    for code in ("P", "L", "E", "O", "A", "H", "N")
)

TITLES: dict[str, tuple[str, str]] = {
    "attendance": ("Attendance summary", "Resumen de asistencia"),
    "department-summary": ("Department summary", "Resumen por departamento"),
    "monthly-sheet": ("Monthly attendance sheet", "Hoja mensual de asistencia"),
    "timesheet": ("Payroll timesheet", "Hoja de horas para nómina"),
}

TEXT: dict[str, tuple[str, str]] = {
    "range": ("Range", "Periodo"),
    "generated": ("Generated", "Generado"),
    "organisation": ("Organisation", "Organización"),
    "page": ("Page", "Página"),
    "total": ("Total", "Total"),
    "rate_per_day": ("Attendance rate per day (%)", "Tasa de asistencia por día (%)"),
    "late_absent": ("Late and absent per department", "Retrasos y ausencias por departamento"),
    "late": ("Late", "Retrasos"),
    "absent": ("Absent", "Ausencias"),
    "summary": ("Summary", "Resumen"),
    "report": ("Report", "Informe"),
    "legend": ("Legend", "Leyenda"),
    "no_data": ("No data in this range.", "No hay datos en este periodo."),
    "employees": ("Employees", "Empleados"),
    "hours_worked": ("Hours worked", "Horas trabajadas"),
    "overtime": ("Overtime hours", "Horas extra"),
    "rate": ("Attendance rate %", "Tasa de asistencia %"),
}

LEGEND: dict[str, tuple[str, str]] = {
    "P": ("present", "presente"),
    "L": ("late", "retraso"),
    "E": ("left early", "salida anticipada"),
    "O": ("open: no check-out", "abierto: sin salida"),
    "A": ("absent", "ausente"),
    "H": ("holiday", "festivo"),
    "N": ("non-working day", "día no laborable"),
}


def text(key: str, lang: Lang) -> str:
    en, es = TEXT[key]
    return es if lang == "es" else en


def title(kind: str, lang: Lang) -> str:
    en, es = TITLES[kind]
    return es if lang == "es" else en


def legend(lang: Lang) -> list[tuple[str, str]]:
    return [(code, es if lang == "es" else en) for code, (en, es) in LEGEND.items()]


def choose(lang: str | None, accept_language: str | None) -> Lang:
    """`lang` if given, else the first English or Spanish entry of Accept-Language, else en."""
    if lang in LANGS:
        return lang
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGS:
            return tag
    return "en"
