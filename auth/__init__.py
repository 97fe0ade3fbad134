"""Passwords, sessions, jurisdiction, lockouts, throttling and the audit trail.

Importing the package masks phone numbers in every log record of the process
(auth/log_redaction.py): the app and every CLI command import it.
"""

from auth import log_redaction

log_redaction.install()
