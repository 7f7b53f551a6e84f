"""Training reminders by e-mail: due soon, overdue, and the managers' weekly digest."""
