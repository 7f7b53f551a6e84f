"""Training: comprehension quizzes, attestations and training status."""
