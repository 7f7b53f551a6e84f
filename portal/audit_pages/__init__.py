"""The audit trail's pages (監査ログ): browse, verify and export it, large exports as jobs.

The trail itself (events, chain, anchors, history seals, `record_event`) is `portal.audit`, a low
layer every feature writes to; these pages sit above the job queue they start exports on.
"""
