"""The one place access reads training status (portal.training.status), per person × manual."""
from __future__ import annotations

from datetime import date

from portal.training.status import status_rows

TrainingTriple = tuple[str, "date | None", "date | None"]  # (status, due_date, valid_until)


def training_facts_for(person_ids, manual_ids, today: date) -> dict[tuple[int, int], TrainingTriple]:
    """(status, due date, last valid day) per assigned (person_id, manual_id); absent = not_required."""
    return {(row.person_id, row.manual_id): (row.status, row.due_date, row.valid_until)
            for row in status_rows(list(person_ids), list(manual_ids), today)}
