"""Bringing a database to a usable state.

revisions.py  Alembic from code: upgrade, downgrade, the head revision (for /ready)
bootstrap.py  `tapwork migrate`: Alembic to head, then the system roles brought up to date
"""
