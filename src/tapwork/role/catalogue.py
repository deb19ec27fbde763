"""One line per permission for GET /roles/permissions and the portal's role editor."""

from __future__ import annotations

from tapwork.permissions import P

DESCRIPTIONS: dict[str, str] = {
    P.USERS_READ_DEPARTMENT: "See the users of the departments you manage",
    P.USERS_READ_ALL: "See every user",
    P.USERS_WRITE: "Invite, create and update users",
    P.USERS_DELETE: "Delete users",
    P.USERS_IMPORT: "Import users from CSV",
    P.DEPARTMENTS_READ: "See departments",
    P.DEPARTMENTS_WRITE: "Create, update and delete departments",
    P.SHIFTS_READ: "See shifts",
    P.SHIFTS_WRITE: "Create, update and delete shifts",
    P.LOCATIONS_READ: "See locations",
    P.LOCATIONS_WRITE: "Create, update and delete locations",
    P.HOLIDAYS_READ: "See holidays",
    P.HOLIDAYS_WRITE: "Create, update and delete holidays",
    P.ROLES_READ: "See roles and their permissions",
    P.ROLES_WRITE: "Create, update and delete custom roles (granting only permissions you hold)",
    P.KIOSKS_READ: "See kiosks and their status",
    P.KIOSKS_WRITE: "Enroll, rename, re-pair, revoke and delete kiosks",
    P.KIOSKS_ENROLL: "Enroll kiosks and issue pairing codes for kiosks that are not revoked",
    P.BADGES_READ_OWN: "See your own badge",
    P.BADGES_REGENERATE_OWN: "Regenerate your own badge",
    P.BADGES_READ_ALL: "See and print anyone's badge",
    P.BADGES_WRITE: "Regenerate and revoke anyone's badge",
    P.ATTENDANCE_READ_OWN: "See your own attendance history",
    P.ATTENDANCE_READ_DEPARTMENT: "See attendance of the departments you manage",
    P.ATTENDANCE_READ_ALL: "See everyone's attendance",
    P.ATTENDANCE_CORRECT: "Add and correct attendance records, with a reason",
    P.ATTENDANCE_REVIEW: "Review held offline scans and flagged records",
    P.REPORTS_READ_DEPARTMENT: "Reports for the departments you manage",
    P.REPORTS_READ_ALL: "Reports for everyone",
    P.AUDIT_READ: "Read the audit log",
    P.NOTIFICATIONS_READ: "See email delivery status",
    P.SETTINGS_WRITE: "Change system settings",
    P.BIOMETRIC_MANAGE: "Enrol faces, delete face templates and review flagged face checks",
}
