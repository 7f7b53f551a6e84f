"""End-to-end tests in Debian's Chromium through Playwright."""
