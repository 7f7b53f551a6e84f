"""Corrective instructions (是正指示): issued once, never changed, acknowledged by their recipients."""
