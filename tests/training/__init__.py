"""Training: status, quiz, flow, retraining, revocation, queries."""
