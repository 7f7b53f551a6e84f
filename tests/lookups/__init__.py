"""Look-ups (照会): rules, services, views, statistics."""
