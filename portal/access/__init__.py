"""Access to protected systems, gated on training: requests, grants, reviews, the decision API."""
