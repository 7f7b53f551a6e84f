"""Cross-cutting: the clock, migrations, translations, install, signals, workflow steps, engine and PDF plumbing."""
