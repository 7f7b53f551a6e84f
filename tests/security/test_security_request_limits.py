"""SECURITY.md row 29: an anonymous POST of a huge body is refused (413) before it is read; 25-digit
ids and out-of-range dates in URLs and query strings answer 404 or 400, never 500."""
from __future__ import annotations

import io

import pytest
from werkzeug.routing import IntegerConverter

from portal.core.bounds import MAX_ID, BoundedArgs, accepts_body, bounded_int, date_or_none, parse_id
from portal.org.models import ROLES
from tests.conftest import csrf_token_from
from tests.instructions_fixtures import PDF_BYTES, form_data, post_issue
from tests.org_fixtures import hr_file, row, upload

MIB = 1024 * 1024
HUGE = "9" * 25


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes that counts how much of it anyone reads (seeking reads nothing)."""

    def __init__(self, size: int) -> None:
        self.size, self.position, self.consumed = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: 0, 1: self.position, 2: self.size}[whence] + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self.size - self.position))
        buffer[:count] = b"a" * count
        self.position += count
        self.consumed += count
        return count


# --- pure helpers --------------------------------------------------------------------------

def test_numbers_beyond_64_bits_are_not_numbers_to_the_portal():
    assert bounded_int(str(MAX_ID)) == MAX_ID
    with pytest.raises(ValueError):
        bounded_int(str(MAX_ID + 1))
    assert parse_id(HUGE) is None and parse_id("12") == 12 and parse_id("０１") is None and parse_id("0") is None
    args = BoundedArgs([("page", HUGE), ("before", "7")])
    assert args.get("page", 1, type=int) == 1 and args.get("before", type=int) == 7
    assert date_or_none(HUGE, 1, 1) is None and date_or_none(99999, 1, 1) is None
    assert accepts_body(5)(lambda: None)._max_body_bytes == 5


# --- request bodies ------------------------------------------------------------------------

def test_an_anonymous_2_mib_post_to_login_gets_413_unread(client):
    body = CountingStream(2 * MIB)
    response = client.post("/login", input_stream=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "ファイルが大きすぎます" in response.get_data(as_text=True)  # the portal's own page
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert body.consumed == 0


def test_a_chunked_body_without_a_length_is_read_no_further_than_the_limit(client):
    """gunicorn passes chunked bodies on as terminated streams: werkzeug stops reading at the limit."""
    body = CountingStream(64 * MIB)
    response = client.post("/login", input_stream=body, content_type="application/x-www-form-urlencoded",
                           environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    assert response.status_code in (400, 413)  # what was read carries no CSRF token
    assert body.consumed <= MIB


def test_the_instruction_form_still_takes_a_2_mib_attachment(client, instructions_org, login):
    login(instructions_org.manager)
    big_pdf = PDF_BYTES + b"%" * (2 * MIB)
    response = post_issue(client, form_data(files=[(big_pdf, "通知書.pdf")]))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_the_hr_import_still_takes_a_2_mib_file(client, make_person, login):
    login(make_person("S1", roles=("admin",)))
    lines = [row(f"E{n:06d}", department="D1", department_name="D1部") for n in range(1, 30000)]
    data = hr_file(*lines).encode("utf-8")
    assert len(data) > 2 * MIB
    response = upload(client, data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/org/import/preview")


# --- numbers and dates in URLs -------------------------------------------------------------

#: Query-string names the portal's pages read, and the out-of-range values to send them.
INT_NAMES = ("page", "before", "after", "department", "person", "system", "corrects", "seq", "days", "id")
DATE_NAMES = ("day", "date", "as_of", "on", "since", "from", "to", "until")
#: Dates typed as year/month/day parts (NAME_year or NAME-year). One form's dates are never sent
#: together: an error in one would hide what the view does with the other.
DATE_PART_GROUPS = (("date_from", "on", "first", "issued_from"), ("date_to", "from", "last", "issued_to"), ("as_of",))


def _query_variants() -> list[dict[str, str]]:
    """A few query strings that together give every name an out-of-range value."""
    variants = [{name: HUGE for name in INT_NAMES}, {name: "99999-01-01" for name in DATE_NAMES}]
    for group in DATE_PART_GROUPS:
        for year, month_day in ((HUGE, "1"), ("99999", HUGE)):
            variants.append({f"{prefix}{sep}{part}": year if part == "year" else month_day
                             for prefix in group for sep in "_-" for part in ("year", "month", "day")})
    return variants


def _path(rule, number: str) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        items = getattr(converter, "items", None)  # an <any(csv, xlsx):…> part
        values[name] = number if isinstance(converter, IntegerConverter) else (sorted(items)[0] if items else "x")
    return rule.build(values, append_unknown=False)[1]


@pytest.fixture
def everyone(make_department, make_person, login, client):
    """A signed-in person holding every role but auditor (auditors are refused every write)."""
    department = make_department("D1")
    login(make_person("ADM", roles=tuple(r for r in ROLES if r not in ("employee", "auditor")),
                      department=department, manages=[department]))
    return client


def test_no_route_answers_500_to_a_25_digit_id_or_an_out_of_range_date(app, everyone):
    client = everyone
    token = csrf_token_from(client)
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        has_ids = any(isinstance(c, IntegerConverter) for c in rule._converters.values())
        if has_ids:
            for method in sorted(rule.methods & {"GET", "POST"}):
                response = client.open(_path(rule, HUGE), method=method, data={"csrf_token": token})
                if response.status_code >= 500:
                    failures.append((method, _path(rule, HUGE), response.status_code))
        if "GET" not in rule.methods:
            continue
        path = _path(rule, "1")
        for query in _query_variants():
            response = client.get(path, query_string=query)
            if response.status_code >= 500:
                failures.append(("GET", path, query, response.status_code))
    assert failures == []


def test_the_examples_answer_clearly(app, everyone):
    client = everyone
    assert client.get(f"/dashboards/departments/{HUGE}").status_code == 404
    assert client.get(f"/audit/events/{HUGE}").status_code == 404
    assert client.get("/audit/", query_string={"before": HUGE}).status_code == 200
    assert client.get("/instructions/", query_string={"page": HUGE, "department": HUGE}).status_code == 200
    coverage = client.get("/access/coverage", query_string={"on_year": HUGE, "on_month": "1", "on_day": "1"})
    assert coverage.status_code in (200, 400)
