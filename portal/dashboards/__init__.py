"""Completion dashboards: departments per manual, the organisation heat map and its trend."""
