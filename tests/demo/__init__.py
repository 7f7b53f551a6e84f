"""The demo organisation (`portal demo`)."""
