"""Manuals: versioned Markdown editions, rendering, comparison, audiences."""
