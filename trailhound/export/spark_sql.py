"""`--to spark-sql`: the SQL export (sql.py) in Spark SQL (get_json_object, RLIKE with Java regex,
try_cast; https://spark.apache.org/docs/latest/api/sql/)."""

from __future__ import annotations

import re

from trailhound.export import sql
from trailhound.export.base import Target
from trailhound.export.pack import ExportPack

_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Spark(sql.Dialect):
    name = "spark-sql"

    def string(self, s: str) -> str:
        # Spark string literals read backslash escapes (spark.sql.parser.escapedStringLiterals
        # is false by default), so a backslash is written twice and a quote escaped.
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def json_path(self, path: str) -> str:
        out = "$"
        for key in path.split("."):
            out += f".{key}" if _SIMPLE_KEY.match(key) else "['" + key.replace("'", "\\'") + "']"
        return out

    def text(self, path: str) -> str:
        return f"get_json_object(raw, {self.string(self.json_path(path))})"

    def exists(self, path: str) -> str:
        # get_json_object has no "present but null": a key holding JSON null reads as missing.
        return f"({self.text(path)} IS NOT NULL)"

    def regex(self, expr: str, pattern: str) -> str:
        return f"({expr} RLIKE {self.string(pattern)})"

    def number(self, expr: str) -> str:
        return f"try_cast({expr} AS DOUBLE)"

    def bigint(self, expr: str) -> str:
        return f"try_cast({expr} AS BIGINT)"


DIALECT = Spark()


def render(pack: ExportPack) -> str:
    return sql.render(pack, DIALECT)


TARGET = Target(
    "spark-sql",
    "Spark SQL over one view per log source with the raw JSON in column `raw`",
    render,
)
