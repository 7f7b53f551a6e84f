"""Sign-in: local accounts, passwords, second factor, company SSO, signing attestations."""
