"""The mail outbox: every e-mail is queued in the database and sent by the queue consumers."""
