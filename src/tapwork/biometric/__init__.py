"""Optional 1:1 face verification at the kiosk: consent, encrypted templates, policy, checks.

The face math runs in its own process (`tapwork biometric`, `server.py`), installed with the
`biometric` extra; the API only talks to it over HTTP (`client.py`).
"""
