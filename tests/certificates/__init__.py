"""Certificates: PDFs, pages, bulk export, verification links."""
