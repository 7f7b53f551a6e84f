"""Reminders: rules, sending, the button."""
