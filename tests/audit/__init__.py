"""The audit trail: chain, anchors, evidence, exports and pages."""
