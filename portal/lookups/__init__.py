"""Look-up requests (照会依頼): asking an authorised colleague to check partner-subscriber data."""
