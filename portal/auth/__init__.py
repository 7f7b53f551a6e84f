"""Sign-in, sessions and passwords."""
from portal.auth.views import bp

__all__ = ["bp"]
