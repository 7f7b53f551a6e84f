"""SQL helpers every feature may use (no feature imports: core is the bottom layer)."""
from __future__ import annotations

import json
from collections.abc import Collection

from sqlalchemy import Integer, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from portal.extensions import db

_IN_LIST_LIMIT = 500


def id_filter(column_, ids: Collection[int]):
    """column IN ids, as one bound array (PostgreSQL) or JSON list (SQLite) when ids are many."""
    ids = [int(i) for i in ids]
    if len(ids) <= _IN_LIST_LIMIT:
        return column_.in_(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        return column_ == any_(bindparam(None, ids, type_=ARRAY(Integer), unique=True))
    listed = func.json_each(json.dumps(ids)).table_valued("value")
    return column_.in_(select(listed.c.value))
