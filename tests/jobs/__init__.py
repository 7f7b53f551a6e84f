"""Long work as jobs: the queue, consumers, schedules."""
