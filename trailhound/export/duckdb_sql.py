"""`--to duckdb-sql`: the SQL export (sql.py) in DuckDB's dialect (its json extension's functions,
https://duckdb.org/docs/data/json/json_functions)."""

from __future__ import annotations

from trailhound.export import sql
from trailhound.export.base import Target
from trailhound.export.pack import ExportPack


class DuckDB(sql.Dialect):
    name = "duckdb-sql"  # the base Dialect already spells DuckDB


DIALECT = DuckDB()


def render(pack: ExportPack) -> str:
    return sql.render(pack, DIALECT)


TARGET = Target(
    "duckdb-sql",
    "DuckDB SQL over one relation per log source with the raw JSON in column `raw`",
    render,
)
