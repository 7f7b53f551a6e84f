"""Cross-cutting pieces: time, access rules, security headers, errors."""
