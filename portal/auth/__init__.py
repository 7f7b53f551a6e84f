"""Sign-in, sessions and passwords (the blueprint: portal.auth.blueprint)."""
