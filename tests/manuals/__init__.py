"""Manuals: files, publishing, rendering, pages."""
