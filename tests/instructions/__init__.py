"""Instructions (業務指示): issue, acknowledge, register."""
