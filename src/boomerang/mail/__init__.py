"""Customer email: templates, the outbox, SMTP delivery and unsubscribe links."""
