"""The in-process SMTP server of tests/mail, for the shipping notifications."""

from tests.mail.conftest import smtp_server, tx  # noqa: F401  (fixtures reused here)
