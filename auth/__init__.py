"""The request path's security: passwords, sessions, jurisdiction, lockouts, throttling, the audit trail.

Importing it does nothing: the app factory (web/app.py) and the CLI (cli/main.py) install the
phone masking of every log record (auth/log_redaction.py).
"""
