"""A local Sumo Logic search runner: the subset of Sumo's search language that the seed page's
query and the `sumo` exports use, run over trailhound's inputs (docs/sumo.md).

    for row in run_query(open("q.sumo").read(), ["logs/"]): ...

lexer -> parser (ast) -> plan (fields resolved, expressions compiled) -> operators (stages)
over records (events as Sumo messages); values says how Sumo values compare.
"""

from trailhound.sumo.errors import SumoQueryError
from trailhound.sumo.records import CATEGORIES
from trailhound.sumo.run import prepare, run_plan, run_query

__all__ = ["CATEGORIES", "SumoQueryError", "prepare", "run_plan", "run_query"]
