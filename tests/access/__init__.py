"""Access requests, grants, reviews, the decision API and its route matrix."""
