"""Mail through the outbox."""
