"""Jobs: long work done by queue consumers, with progress, results to download and schedules."""
