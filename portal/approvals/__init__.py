"""What every approval workflow shares (access requests, look-ups): who approves a person's request,
what counts as a purpose or a reason, the manager's approve-or-refuse form, and the notices sent when
the transaction commits. The features above import it; it knows none of them."""
