"""The organisation: people, departments, roles, HR import."""
