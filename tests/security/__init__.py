"""The security checklist (SECURITY.md), row by row, and rate limits."""
