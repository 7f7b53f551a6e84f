"""Dashboards: pages, queries, charts, exports."""
