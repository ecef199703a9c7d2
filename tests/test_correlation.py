"""Sigma correlation rules: loading (rules/loader.py) and evaluation (engine/correlate.py).

Expected values follow the Sigma correlation specification (SigmaHQ/sigma-specification,
specification/sigma-correlation-rules-specification.md v2.0.2) and the window/edge semantics
written down in engine/correlate.py; event streams are hand-built, and the randomized tests
compare with brute-force definitions written here, not with the engine.
"""

from __future__ import annotations

import itertools
import random
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from trailhound.engine.base import Match
from trailhound.engine.correlate import CorrelationStats, Correlator, Hit, correlate
from trailhound.engine.reference import ReferenceEngine
from trailhound.model import Event, Location
from trailhound.profiles import get_profile
from trailhound.report.columns import COLUMNS, row
from trailhound.rules.loader import load_pack, load_paths
from trailhound.rules.model import Correlation, RuleSet
from trailhound.scoring import collapse_key, score_all

S = 1_000_000_000  # ns per second
M = 60 * S
T0 = 1_773_482_400 * S  # 2026-03-14T10:00:00Z

ALICE = "arn:aws:iam::111122223333:user/alice"
BOB = "arn:aws:iam::111122223333:user/bob"


# ---------------------------------------------------------------------------------------------
# helpers


def base(name: str, *events: str, extra: str = "") -> str:
    """A CloudTrail base rule named `name` matching eventName in `events`."""
    return (
        f"title: base {name}\n"
        f"id: {uuid.uuid5(uuid.NAMESPACE_URL, name)}\n"
        f"name: {name}\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "level: low\n"
        "detection:\n"
        "  selection:\n"
        f"    eventName: [{', '.join(events)}]\n"
        "  condition: selection\n"
        f"{extra}\n"
    )


def corr(body: str, *, title: str = "corr", cid: str | None = None, head: str = "") -> str:
    cid = cid or str(uuid.uuid5(uuid.NAMESPACE_URL, title))
    return f"title: {title}\nid: {cid}\n{head}correlation:\n" + textwrap.indent(
        textwrap.dedent(body), "  "
    )


def load(tmp_path: Path, *docs: str, name: str = "rules.yml") -> tuple[RuleSet, list[Any]]:
    f = tmp_path / name
    f.write_text("\n---\n".join(docs), encoding="utf-8")
    return load_paths([tmp_path])


def ruleset(tmp_path: Path, *docs: str) -> RuleSet:
    rs, problems = load(tmp_path, *docs)
    assert not problems, [str(p) for p in problems]
    return rs


_eid = itertools.count(1)


def ev(
    name: str,
    t: int | None,
    arn: str | None = ALICE,
    *,
    eid: str | None = None,
    status: str = "success",
    **raw: Any,
) -> Event:
    """A CloudTrail event at T0 + t nanoseconds (t None: no time)."""
    rec: dict[str, Any] = {"eventSource": "cloudtrail.amazonaws.com", "eventName": name}
    if arn is not None:
        rec["userIdentity"] = {"arn": arn}
    rec.update(raw)
    return Event(
        source="cloudtrail",
        provider="aws",
        raw=rec,
        location=Location("mem"),
        time_ns=None if t is None else T0 + t,
        operation=name,
        principal=arn,
        status=status,  # type: ignore[arg-type]
        event_id=eid or f"e{next(_eid)}",
    )


def matches(rs: RuleSet, events: list[Event]) -> list[Match]:
    eng = ReferenceEngine()
    return list(eng.run(eng.compile(rs), events))


def run(rs: RuleSet, events: list[Event], **kw: Any) -> list[Hit]:
    return correlate(rs.correlations, matches(rs, events), **kw)


def ids(hit: Hit) -> list[str]:
    return [e or "" for e in hit.event_ids]


def hit_ids(hits: list[Hit]) -> list[list[str]]:
    return [ids(h) for h in hits]


# The shipped shape, for the temporal tests: recon then tamper, by principal, 30 minutes.
RECON = base("recon", "GetTrailStatus", "DescribeTrails")
TAMPER = base("tamper", "StopLogging", "DeleteTrail", "UpdateTrail")


def ordered(tmp_path: Path, kind: str = "temporal_ordered", extra: str = "") -> RuleSet:
    return ruleset(
        tmp_path,
        RECON,
        TAMPER,
        corr(
            f"""\
            type: {kind}
            rules: [recon, tamper]
            group-by: [userIdentity.arn]
            timespan: 30m
            {extra}"""
        ),
    )


# ---------------------------------------------------------------------------------------------
# loading


def test_loads_multi_document_correlation_by_name_and_id(tmp_path: Path) -> None:
    rid = str(uuid.uuid5(uuid.NAMESPACE_URL, "tamper"))
    rs = ruleset(
        tmp_path,
        RECON,
        TAMPER,
        corr(
            f"""\
            type: temporal_ordered
            rules: [recon, {rid}]
            group-by: userIdentity.arn
            timespan: 90m
            """,
            head="level: high\ntags: [attack.t1562.008]\n",
        ),
    )
    (c,) = rs.correlations
    assert c.type == "temporal_ordered"
    assert [r.name for r in (x.sigma for x in c.rules)] == ["recon", "tamper"]
    assert c.group_by == ("userIdentity.arn",)
    assert c.timespan_ns == 90 * M
    assert (c.op, c.count) == ("gte", 2)  # pySigma's temporal default: every listed rule
    assert c.weight == 3  # no `weight`: LEVEL_WEIGHTS["high"]
    assert c.tags == ("attack.t1562.008",)
    assert c.generate is False and all(r.generate is False for r in rs.rules)
    assert c.rules[0] is rs.rules[0] and c.rules[1] is rs.rules[1]  # the objects engines see


def test_references_rules_of_another_file_and_generate_true(tmp_path: Path) -> None:
    (tmp_path / "a_base.yml").write_text(RECON, encoding="utf-8")
    (tmp_path / "z_other.yml").write_text(base("lonely", "ListUsers"), encoding="utf-8")
    (tmp_path / "m_corr.yml").write_text(
        corr(
            """\
            type: event_count
            rules: recon
            group-by: [userIdentity.arn]
            timespan: 5m
            condition: {gte: 3}
            generate: true
            """,
            head="weight: 1.5\nsignal: security_disable\n",
        ),
        encoding="utf-8",
    )
    rs, problems = load_paths([tmp_path])
    assert problems == []
    (c,) = rs.correlations
    assert c.rules[0].path and c.rules[0].path.endswith("a_base.yml")
    assert (c.weight, c.signal, c.generate, c.op, c.count) == (1.5, "security_disable", True, "gte", 3)
    assert all(r.generate for r in rs.rules)  # generate: true keeps the base rule counting


def test_one_generate_false_reference_silences_the_rule(tmp_path: Path) -> None:
    """As pySigma's disable_output(): generate true elsewhere does not bring the rule back."""
    body = "type: event_count\nrules: recon\ngroup-by: [userIdentity.arn]\ntimespan: 5m\ncondition: {gte: 2}\n"
    rs = ruleset(
        tmp_path,
        RECON,
        TAMPER,
        corr(body + "generate: true\n", title="loud"),
        corr(body, title="quiet"),
        corr(body.replace("rules: recon", "rules: tamper") + "generate: true\n", title="tamper loud"),
    )
    assert [(r.sigma.name, r.generate) for r in rs.rules] == [("recon", False), ("tamper", True)]


def test_reference_to_a_missing_rule_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    rs, problems = load(
        tmp_path,
        RECON,
        corr(
            """\
            type: temporal
            rules: [recon, no_such_rule]
            group-by: [userIdentity.arn]
            timespan: 5m
            """
        ),
    )
    assert rs.correlations == ()
    assert len(problems) == 1
    p = problems[0]
    assert p.path == str(tmp_path / "rules.yml")
    assert "no_such_rule" in p.reason and "not loaded" in p.reason and "\n" not in p.reason
    # the correlation did not load, so it silences nothing
    assert [r.generate for r in rs.rules] == [True]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            "type: temporal\nrules: [recon, inner]\ngroup-by: [userIdentity.arn]\ntimespan: 5m\n",
            "chained correlations",
        ),
        (
            "type: temporal\nrules: [recon]\ngroup-by: [userIdentity.arn]\ntimespan: 5m\ncondition: {lt: 2}\n",
            "gt or gte",
        ),
        (
            "type: value_median\nrules: [recon]\ngroup-by: [x]\ntimespan: 5m\ncondition: {field: f, gte: 2}\n",
            "not supported",
        ),
        (
            "type: temporal\ngroup-by: [userIdentity.arn]\ntimespan: 5m\ncondition: recon and not inner\n",
            "extended",
        ),
        ("type: event_count\nrules: [recon]\ngroup-by: [x]\ncondition: {gte: 2}\n", "timespan"),
        (
            "type: temporal\nrules: [recon]\ngroup-by: [ip]\ntimespan: 5m\naliases: {ip: {tamper: a}}\n",
            "does not list",
        ),
    ],
)
def test_unsupported_or_broken_correlations_are_problems(tmp_path: Path, body: str, words: str) -> None:
    inner = corr(
        "type: event_count\nrules: [recon]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 2}\n",
        title="inner",
        head="name: inner\n",
    )
    rs, problems = load(tmp_path, RECON, TAMPER, inner, corr(body, title="outer"))
    assert [c.title for c in rs.correlations] == ["inner"]
    assert len(problems) == 1 and words in problems[0].reason, problems
    assert problems[0].path.endswith("rules.yml")


def test_group_by_goes_through_the_log_source_field_mapping(tmp_path: Path) -> None:
    """Azure Activity `caller` sits under `Caller` in Sentinel exports: the pipeline's mapping
    applies to group-by fields of events matched by an azure/activitylogs rule."""
    rule = textwrap.dedent(
        """\
        title: az delete
        id: 5b1f3c1e-1111-4a4a-8b8b-000000000001
        name: az_delete
        logsource: {product: azure, service: activitylogs}
        detection:
          selection:
            operationName: Microsoft.Insights/diagnosticSettings/delete
          condition: selection
        """
    )
    rs = ruleset(
        tmp_path,
        rule,
        corr("type: event_count\nrules: az_delete\ngroup-by: caller\ntimespan: 10m\ncondition: {gte: 2}\n"),
    )
    ((paths,),) = rs.correlations[0].group_paths
    assert {"caller", "Caller"} <= set(paths)

    def az(t: int, caller_key: str) -> Event:
        return Event(
            source="azure_activity",
            provider="azure",
            raw={"operationName": "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE", caller_key: "eve@example.com"},
            location=Location("mem"),
            time_ns=T0 + t,
            event_id=f"az{t}",
        )

    hits = run(rs, [az(0, "caller"), az(60 * S, "Caller")])
    assert hit_ids(hits) == [["az0", "az60000000000"]]


def test_shipped_trail_correlation(tmp_path: Path) -> None:
    rs = load_pack("corrected")
    (c,) = [c for c in rs.correlations if c.name == "aws_cloudtrail_recon_then_tamper"]
    assert c.type == "temporal_ordered" and c.timespan_ns == 30 * M and c.weight == 2
    assert c.group_by == ("userIdentity.arn",) and (c.op, c.count) == ("gte", 2)
    assert {"attack.t1562.008", "attack.t1059.009"} <= set(c.tags)
    recon, tamper = c.rules
    assert not recon.generate and not tamper.generate
    assert recon.weight == 0 and tamper.weight == 0
    assert all(r.generate for r in rs.rules if not any(r in x.rules for x in rs.correlations))


# ---------------------------------------------------------------------------------------------
# event_count and the window edge


def count_rules(tmp_path: Path, op: str = "gte", n: int = 3, span: str = "10m") -> RuleSet:
    return ruleset(
        tmp_path,
        base("listing", "ListUsers"),
        corr(
            f"type: event_count\nrules: listing\ngroup-by: [userIdentity.arn]\n"
            f"timespan: {span}\ncondition: {{{op}: {n}}}\n"
        ),
    )


def test_event_count_window_edge_just_inside(tmp_path: Path) -> None:
    rs = count_rules(tmp_path)
    evs = [ev("ListUsers", 0, eid="a"), ev("ListUsers", 5 * M, eid="b"), ev("ListUsers", 10 * M, eid="c")]
    assert hit_ids(run(rs, evs)) == [["a", "b", "c"]]  # last exactly 10m after the first: inside


def test_event_count_window_edge_just_outside(tmp_path: Path) -> None:
    rs = count_rules(tmp_path)
    evs = [ev("ListUsers", 0, eid="a"), ev("ListUsers", 5 * M, eid="b"), ev("ListUsers", 10 * M + 1, eid="c")]
    assert run(rs, evs) == []  # 1 ns too late: no 10-minute window holds three


def test_event_count_sliding_not_bucketed(tmp_path: Path) -> None:
    """Three calls across a clock-aligned 10-minute boundary (09:58..10:03) still fire."""
    rs = count_rules(tmp_path)
    evs = [ev("ListUsers", -2 * M, eid="a"), ev("ListUsers", 1 * M, eid="b"), ev("ListUsers", 3 * M, eid="c")]
    assert hit_ids(run(rs, evs)) == [["a", "b", "c"]]


def test_event_count_members_and_separate_hits(tmp_path: Path) -> None:
    rs = count_rules(tmp_path)
    burst1 = [ev("ListUsers", i * M, eid=f"x{i}") for i in range(4)]
    lone = [ev("ListUsers", 30 * M, eid="lone")]  # in no window of three
    burst2 = [ev("ListUsers", 2 * 60 * M + i * S, eid=f"y{i}") for i in range(3)]
    hits = run(rs, burst1 + lone + burst2)
    assert hit_ids(hits) == [["x0", "x1", "x2", "x3"], ["y0", "y1", "y2"]]
    assert hits[0].start_ns == T0 and hits[0].end_ns == T0 + 3 * M


def test_overlapping_satisfied_windows_are_one_hit(tmp_path: Path) -> None:
    rs = count_rules(tmp_path)
    # windows [0, 10m] and [5m, 15m] both hold three calls: one burst, one hit
    evs = [ev("ListUsers", i * 5 * M, eid=f"x{i}") for i in range(4)]
    (hit,) = run(rs, evs)
    assert ids(hit) == ["x0", "x1", "x2", "x3"] and hit.orders == (0, 1, 2, 3)


@pytest.mark.parametrize(("op", "n", "fires"), [("lt", 3, False), ("lt", 4, True), ("eq", 3, True), ("neq", 3, False), ("lte", 2, False)])
def test_event_count_other_operators_test_maximal_windows(tmp_path: Path, op: str, n: int, fires: bool) -> None:
    rs = count_rules(tmp_path, op, n)
    evs = [ev("ListUsers", i * M, eid=f"x{i}") for i in range(3)]  # one window of three
    assert bool(run(rs, evs)) is fires


# ---------------------------------------------------------------------------------------------
# value_count, value_sum, value_avg


def test_value_count_counts_distinct_values_per_group(tmp_path: Path) -> None:
    rs = ruleset(
        tmp_path,
        base("login", "ConsoleLogin"),
        corr(
            "type: value_count\nrules: login\ngroup-by: [userIdentity.arn]\ntimespan: 1h\n"
            "condition: {field: sourceIPAddress, gte: 3}\n"
        ),
    )
    same = [ev("ConsoleLogin", i * M, sourceIPAddress="192.0.2.1") for i in range(5)]
    assert run(rs, same) == []  # five logins, one address
    evs = [
        ev("ConsoleLogin", 0, eid="a", sourceIPAddress="192.0.2.1"),
        ev("ConsoleLogin", 1 * M, eid="b", sourceIPAddress="192.0.2.1"),
        ev("ConsoleLogin", 2 * M, eid="noip"),  # no value: not counted, not a member
        ev("ConsoleLogin", 3 * M, eid="c", sourceIPAddress="198.51.100.2"),
        ev("ConsoleLogin", 4 * M, BOB, eid="bob", sourceIPAddress="203.0.113.9"),  # other group
        ev("ConsoleLogin", 5 * M, eid="d", sourceIPAddress="203.0.113.9"),
    ]
    assert hit_ids(run(rs, evs)) == [["a", "b", "c", "d"]]


@pytest.mark.parametrize(("kind", "op", "n", "fires"), [("value_sum", "gte", 100, True), ("value_sum", "gt", 100, False), ("value_avg", "eq", 25, True), ("value_avg", "gt", 25, False)])
def test_value_sum_and_avg(tmp_path: Path, kind: str, op: str, n: int, fires: bool) -> None:
    rs = ruleset(
        tmp_path,
        base("get", "GetObject"),
        corr(
            f"type: {kind}\nrules: get\ngroup-by: [userIdentity.arn]\ntimespan: 1h\n"
            f"condition: {{field: additionalEventData.bytesTransferredOut, {op}: {n}}}\n"
        ),
    )
    evs = [
        ev("GetObject", 0, eid="a", additionalEventData={"bytesTransferredOut": 10}),
        ev("GetObject", 1 * M, eid="b", additionalEventData={"bytesTransferredOut": "20"}),
        ev("GetObject", 2 * M, eid="c", additionalEventData={"bytesTransferredOut": 30.0}),
        ev("GetObject", 3 * M, eid="d", additionalEventData={"bytesTransferredOut": 40}),
        ev("GetObject", 4 * M, eid="nan", additionalEventData={"bytesTransferredOut": "n/a"}),
    ]  # sum 100, mean 25 over the four numbers
    hits = run(rs, evs)
    assert hit_ids(hits) == ([["a", "b", "c", "d"]] if fires else [])


# ---------------------------------------------------------------------------------------------
# temporal and temporal_ordered


def test_temporal_any_order(tmp_path: Path) -> None:
    rs = ordered(tmp_path, "temporal")
    assert hit_ids(run(rs, [ev("StopLogging", 0, eid="s"), ev("GetTrailStatus", 10 * M, eid="g")])) == [["s", "g"]]
    assert run(rs, [ev("GetTrailStatus", 0), ev("DescribeTrails", 10 * M)]) == []  # one rule only


def test_temporal_ordered_requires_the_listed_order(tmp_path: Path) -> None:
    rs = ordered(tmp_path)
    assert hit_ids(run(rs, [ev("GetTrailStatus", 0, eid="g"), ev("StopLogging", 10 * M, eid="s")])) == [["g", "s"]]
    assert run(rs, [ev("StopLogging", 0), ev("GetTrailStatus", 10 * M)]) == []


def test_temporal_ordered_equal_times_count_as_in_order(tmp_path: Path) -> None:
    rs = ordered(tmp_path)
    # the logs' one-second clock cannot order these; input order must not matter either
    for evs in ([ev("StopLogging", 0, eid="s"), ev("GetTrailStatus", 0, eid="g")],
                [ev("GetTrailStatus", 0, eid="g"), ev("StopLogging", 0, eid="s")]):
        assert hit_ids(run(rs, evs)) == [["g", "s"]]


@pytest.mark.parametrize(("kind", "gap", "fires"), [
    ("temporal_ordered", 30 * M, True),
    ("temporal_ordered", 30 * M + 1, False),
    ("temporal", 30 * M, True),
    ("temporal", 30 * M + 1, False),
])
def test_temporal_window_edge(tmp_path: Path, kind: str, gap: int, fires: bool) -> None:
    rs = ordered(tmp_path, kind)
    hits = run(rs, [ev("DescribeTrails", 0, eid="d"), ev("DeleteTrail", gap, eid="x")])
    assert hit_ids(hits) == ([["d", "x"]] if fires else [])


def test_temporal_ordered_members_are_the_chain_only(tmp_path: Path) -> None:
    rs = ordered(tmp_path)
    evs = [
        ev("StopLogging", 0, eid="early-stop"),  # before any recon: not part of the sequence
        ev("GetTrailStatus", 5 * M, eid="g1"),
        ev("DescribeTrails", 6 * M, eid="d1"),
        ev("StopLogging", 10 * M, eid="stop"),
        ev("GetTrailStatus", 12 * M, eid="after"),  # recon after the last tamper
        ev("GetTrailStatus", 3 * 60 * M, eid="much-later"),
    ]
    assert hit_ids(run(rs, evs)) == [["g1", "d1", "stop"]]


def test_temporal_ordered_three_steps_and_partial_condition(tmp_path: Path) -> None:
    rules = [base("a", "ListUsers"), base("b", "CreateAccessKey"), base("c", "StopLogging")]
    seq = [ev("ListUsers", 0, eid="a"), ev("StopLogging", 1 * M, eid="c"), ev("CreateAccessKey", 2 * M, eid="b")]
    (tmp_path / "full").mkdir()
    (tmp_path / "two").mkdir()
    body = "type: temporal_ordered\nrules: [a, b, c]\ngroup-by: [userIdentity.arn]\ntimespan: 1h\n"
    full = ruleset(tmp_path / "full", *rules, corr(body))
    assert run(full, seq) == []  # a, c, b is not a, b, c
    two = ruleset(tmp_path / "two", *rules, corr(body + "condition: {gte: 2}\n"))
    # two steps in list order: a then c, a then b (c then b is not in order)
    assert hit_ids(run(two, seq)) == [["a", "c", "b"]]


# ---------------------------------------------------------------------------------------------
# order, groups, missing values, aliases


def test_out_of_order_input_gives_the_sorted_answer(tmp_path: Path) -> None:
    rs = ordered(tmp_path)
    evs = [
        ev("GetTrailStatus", 0, ALICE, eid="a-g"),
        ev("DescribeTrails", 1 * M, BOB, eid="b-d"),
        ev("StopLogging", 2 * M, ALICE, eid="a-s"),
        ev("StopLogging", 40 * M, BOB, eid="b-s-late"),
        ev("UpdateTrail", 31 * M, BOB, eid="b-u"),
        ev("GetTrailStatus", 31 * M, ALICE, eid="a-g2"),
        ev("DeleteTrail", 61 * M, ALICE, eid="a-x"),
    ]
    want = [["a-g", "a-s"], ["b-d", "b-u"], ["a-g2", "a-x"]]
    assert hit_ids(run(rs, evs)) == want
    rnd = random.Random(7)
    for _ in range(20):
        shuffled = evs[:]
        rnd.shuffle(shuffled)
        assert hit_ids(run(rs, shuffled)) == want


def test_interleaved_principals_do_not_correlate_with_each_other(tmp_path: Path) -> None:
    rs = ordered(tmp_path)
    evs = [
        ev("GetTrailStatus", 0, ALICE, eid="a-g"),
        ev("GetTrailStatus", 1 * M, BOB, eid="b-g"),
        ev("StopLogging", 2 * M, BOB, eid="b-s"),
        ev("DescribeTrails", 3 * M, ALICE, eid="a-d"),
        ev("StopLogging", 4 * M, "arn:aws:iam::111122223333:user/carol", eid="c-s"),
        ev("DeleteTrail", 5 * M, ALICE, eid="a-x"),
    ]
    hits = run(rs, evs)
    assert hit_ids(hits) == [["a-g", "a-d", "a-x"], ["b-g", "b-s"]]
    assert [h.group for h in hits] == [((ALICE,),), ((BOB,),)]


def test_missing_group_by_value_or_time_takes_no_part_and_is_counted(tmp_path: Path) -> None:
    rs = ordered(tmp_path)
    stats = CorrelationStats()
    cor = Correlator(rs.correlations, stats=stats)
    evs = [
        ev("GetTrailStatus", 0, None, eid="no-arn"),  # no userIdentity.arn
        ev("StopLogging", 1 * M, None, eid="no-arn-2"),
        ev("GetTrailStatus", None, eid="no-time"),
        ev("GetTrailStatus", 2 * M, eid="g"),
        ev("StopLogging", 3 * M, eid="s"),
        ev("ListUsers", 4 * M, None),  # not a referenced rule: not counted anywhere
    ]
    for i, m in enumerate(matches(rs, evs)):
        cor.add(m, i)
    hits = cor.finish()
    cid = rs.correlations[0].id
    assert hit_ids(hits) == [["g", "s"]]
    assert stats.ungrouped == {cid: 2} and stats.untimed == {cid: 1} and stats.hits == {cid: 1}


def test_aliases_read_a_different_field_per_rule(tmp_path: Path) -> None:
    """The key created by one principal is then used by another call: alias `key` is
    responseElements.accessKey.accessKeyId for the creation and userIdentity.accessKeyId for
    the use (corr spec, Field Name Aliases)."""
    rs = ruleset(
        tmp_path,
        base("key_created", "CreateAccessKey"),
        base("key_used", "StopLogging"),
        corr(
            """\
            type: temporal_ordered
            rules: [key_created, key_used]
            group-by: [key]
            timespan: 1h
            aliases:
              key:
                key_created: responseElements.accessKey.accessKeyId
                key_used: userIdentity.accessKeyId
            """
        ),
    )
    made = ev("CreateAccessKey", 0, eid="made", responseElements={"accessKey": {"accessKeyId": "AKIA1"}})
    used = ev("StopLogging", 5 * M, eid="used")
    used.raw["userIdentity"]["accessKeyId"] = "AKIA1"
    other = ev("StopLogging", 6 * M, eid="other")
    other.raw["userIdentity"]["accessKeyId"] = "AKIA2"
    hits = run(rs, [made, used, other])
    assert hit_ids(hits) == [["made", "used"]] and hits[0].group == (("AKIA1",),)


def test_an_event_matched_by_two_listed_rules_counts_once_read_with_the_first(tmp_path: Path) -> None:
    """value_count over rules [wide, narrow] with aliases: an event both match is one event,
    and its value is read with the first listed rule's field (engine/correlate.py)."""
    rs = ruleset(
        tmp_path,
        base("wide", "ListUsers", "ListRoles"),
        base("narrow", "ListUsers"),
        corr(
            """\
            type: value_count
            rules: [wide, narrow]
            group-by: [userIdentity.arn]
            timespan: 1h
            condition: {field: what, gte: 2}
            aliases:
              what:
                wide: requestParameters.a
                narrow: requestParameters.b
            """
        ),
    )
    evs = [
        ev("ListUsers", 0, eid="x", requestParameters={"a": "same", "b": "one"}),
        ev("ListUsers", M, eid="y", requestParameters={"a": "same", "b": "two"}),
    ]
    assert run(rs, evs) == []  # wide's field: one value
    evs.append(ev("ListRoles", 2 * M, eid="z", requestParameters={"a": "other"}))
    assert hit_ids(run(rs, evs)) == [["x", "y", "z"]]


def test_a_match_a_filter_removed_takes_no_part(tmp_path: Path) -> None:
    flt = textwrap.dedent(
        f"""\
        title: not the automation role
        id: 3d2c1b0a-3333-4c4c-8d8d-000000000003
        logsource: {{product: aws, service: cloudtrail}}
        filter:
          rules: [{uuid.uuid5(uuid.NAMESPACE_URL, "recon")}]
          bot:
            userIdentity.type: AWSService
          condition: not bot
        """
    )
    rs = ordered(tmp_path)  # the same rules without the filter (loaded before it is written)
    body = "type: temporal_ordered\nrules: [recon, tamper]\ngroup-by: [userIdentity.arn]\ntimespan: 30m\n"
    rs2, problems = load(tmp_path, RECON, TAMPER, flt, corr(body))
    assert not problems and len(rs2.filters) == 1
    bot = ev("GetTrailStatus", 0, eid="bot")
    bot.raw["userIdentity"]["type"] = "AWSService"
    evs = [bot, ev("StopLogging", M, eid="s")]
    assert hit_ids(run(rs, evs)) == [["bot", "s"]]  # without the filter
    assert run(rs2, evs) == []  # the filter removed the recon match


def test_no_group_by_is_one_group(tmp_path: Path) -> None:
    rs = ruleset(
        tmp_path,
        base("listing", "ListUsers"),
        corr("type: event_count\nrules: listing\ntimespan: 1m\ncondition: {gte: 2}\n"),
    )
    assert hit_ids(run(rs, [ev("ListUsers", 0, ALICE, eid="a"), ev("ListUsers", S, BOB, eid="b")])) == [["a", "b"]]


def test_copies_of_one_operation_count_once(tmp_path: Path) -> None:
    """A CloudTrail record delivered twice (S3 and EventBridge) is one call: with
    same_operation (what the corrected profile passes) two copies are not two events."""
    rs = count_rules(tmp_path, "gte", 2)
    evs = [ev("ListUsers", 0, eid="dup"), ev("ListUsers", 0, eid="dup")]
    for e in evs:
        e.raw["eventID"] = "dup"
    assert run(rs, evs, same_operation=collapse_key) == []
    (hit,) = run(rs, evs)  # every record on its own (the seed profile's view)
    assert hit.orders == (0, 1)


# ---------------------------------------------------------------------------------------------
# brute-force oracles on random streams


def _brute_members(kind: str, need: int, span: int, evs: list[tuple[int, int]]) -> set[int]:
    """Members by the definitions, by enumeration. evs: (time, rule position), one group."""
    out: set[int] = set()
    n = len(evs)
    if kind == "event_count":
        for a in {t for t, _ in evs}:  # every window that fits in the span starts at an event
            inside = [i for i, (t, _) in enumerate(evs) if a <= t <= a + span]
            if len(inside) >= need:
                out.update(inside)
    elif kind == "temporal":
        for a in {t for t, _ in evs}:
            inside = [i for i, (t, _) in enumerate(evs) if a <= t <= a + span]
            if len({evs[i][1] for i in inside}) >= need:
                out.update(inside)
    else:  # temporal_ordered: chains of `need` events, strictly increasing rule, t non-decreasing
        for combo in itertools.permutations(range(n), need):
            ts = [evs[i][0] for i in combo]
            rs = [evs[i][1] for i in combo]
            if all(rs[i] < rs[i + 1] and ts[i] <= ts[i + 1] for i in range(need - 1)) and ts[-1] - ts[0] <= span:
                out.update(combo)
    return out


@pytest.mark.parametrize("kind", ["event_count", "temporal", "temporal_ordered"])
def test_random_streams_match_the_brute_force_definition(tmp_path: Path, kind: str) -> None:
    names = ["ListUsers", "CreateUser", "StopLogging"]
    rules = [base(f"r{i}", n) for i, n in enumerate(names)]
    need = 3 if kind == "event_count" else 2
    cond = f"condition: {{gte: {need}}}\n"
    listed = "[r0]" if kind == "event_count" else "[r0, r1, r2]"
    rs = ruleset(
        tmp_path,
        *rules,
        corr(f"type: {kind}\nrules: {listed}\ngroup-by: [userIdentity.arn]\ntimespan: 10s\n{cond}"),
    )
    rnd = random.Random(kind)
    for trial in range(150):
        n = rnd.randint(1, 7)
        raw = [(rnd.randint(0, 30) * S, rnd.randrange(1 if kind == "event_count" else 3)) for _ in range(n)]
        evs = [ev(names[r], t, eid=f"t{trial}-{i}") for i, (t, r) in enumerate(raw)]
        hits = run(rs, evs)
        got = [e for h in hits for e in h.event_ids]
        want = {f"t{trial}-{i}" for i in _brute_members(kind, need, 10 * S, raw)}
        assert set(got) == want, (kind, raw)
        assert len(got) == len(set(got))  # an event is in one hit at most
        # hits do not overlap in time (overlapping satisfied windows merge)
        assert all(a.end_ns < b.start_ns for a, b in itertools.pairwise(hits)), (kind, raw)


# ---------------------------------------------------------------------------------------------
# scoring and rows


def scored(rs: RuleSet, evs: list[Event], **kw: Any) -> list[Any]:
    return score_all(matches(rs, evs), 0, correlations=rs.correlations, **kw)


def test_generate_false_base_rules_never_count_alone(tmp_path: Path) -> None:
    rs = ordered(tmp_path)
    assert scored(rs, [ev("GetTrailStatus", 0), ev("StopLogging", 2 * 60 * M)]) == []


def test_generate_true_base_rules_count_alone(tmp_path: Path) -> None:
    rs = ordered(tmp_path, extra="generate: true")
    fs = scored(rs, [ev("GetTrailStatus", 0, eid="g"), ev("StopLogging", 2 * 60 * M, eid="s")])
    assert sorted((f.event.event_id, f.score, [r.name for r in (x.sigma for x in f.rules)]) for f in fs) == [
        ("g", 1, ["recon"]),
        ("s", 1, ["tamper"]),
    ]


def test_hit_adds_the_weight_to_every_member_and_lists_it(tmp_path: Path) -> None:
    rs = ruleset(
        tmp_path,
        RECON,
        base("tamper", "StopLogging", "DeleteTrail", "UpdateTrail"),
        base("stop_scored", "StopLogging", extra="weight: 3\nsignal: security_disable"),
        corr(
            "type: temporal_ordered\nrules: [recon, tamper]\ngroup-by: [userIdentity.arn]\ntimespan: 30m\n",
            head="weight: 2\n",
        ),
    )
    evs = [
        ev("GetTrailStatus", 0, eid="g"),
        ev("DescribeTrails", 1 * M, eid="d"),
        ev("StopLogging", 2 * M, eid="s"),
        ev("StopLogging", 3 * 60 * M, BOB, eid="bob-s"),  # scored alone, no sequence
    ]
    fs = scored(rs, evs)
    assert [(f.event.event_id, f.score) for f in fs] == [("s", 5), ("bob-s", 3), ("g", 2), ("d", 2)]
    c = rs.correlations[0]
    assert [r.id for r in fs[0].rules] == [rs.rules[2].id, c.id]  # base rules first, then correlations
    assert fs[2].rules == [c]  # only the correlation flagged the recon call
    p = get_profile("corrected")
    rows = [row(f, p) for f in fs]
    assert list(rows[0]) == list(COLUMNS) and "correlations" in COLUMNS
    want = [{"rule_id": c.id, "title": c.title, "events": ["g", "d", "s"]}]
    assert rows[0]["correlations"] == rows[2]["correlations"] == rows[3]["correlations"] == want
    assert rows[1]["correlations"] == []
    assert rows[2]["signals"] == [
        {"rule_id": c.id, "title": c.title, "level": None, "weight": 2, "signal": None,
         "context": False, "author": None, "tags": [], "guide": None}
    ]
    assert rows[0]["security_disable"] == 1 and rows[2]["security_disable"] == 0


def test_context_rules_apply_to_events_only_a_correlation_flagged(tmp_path: Path) -> None:
    failed = textwrap.dedent(
        """\
        title: failed
        id: 0c9b9d4e-2222-4b4b-8c8c-000000000002
        logsource: {product: aws, service: cloudtrail}
        weight: -0.5
        context: true
        detection:
          selection:
            errorCode|exists: true
          condition: selection
        """
    )
    rs = ruleset(
        tmp_path,
        RECON,
        TAMPER,
        failed,
        corr(
            "type: temporal_ordered\nrules: [recon, tamper]\ngroup-by: [userIdentity.arn]\ntimespan: 30m\n",
            head="weight: 2\n",
        ),
    )
    evs = [ev("GetTrailStatus", 0, eid="g"), ev("StopLogging", M, eid="s", errorCode="TrailNotFoundException")]
    assert [(f.event.event_id, f.score) for f in scored(rs, evs)] == [("g", 2), ("s", 1.5)]
    # a failed recon call alone is not a finding (context rules never flag on their own)
    assert scored(rs, [ev("GetTrailStatus", 0, errorCode="AccessDenied")]) == []


def test_scores_and_rows_are_deterministic_under_shuffling(tmp_path: Path) -> None:
    rs = ordered(tmp_path)
    evs = [
        ev("GetTrailStatus", 0, ALICE, eid="a1"),
        ev("GetTrailStatus", 0, BOB, eid="b1"),
        ev("StopLogging", 0, BOB, eid="b2"),
        ev("UpdateTrail", 5 * M, ALICE, eid="a2"),
        ev("DescribeTrails", 50 * M, ALICE, eid="a3"),
        ev("DeleteTrail", 60 * M, ALICE, eid="a4"),
    ]
    p = get_profile("corrected")

    def out(events: list[Event]) -> list[Any]:
        return [{k: v for k, v in row(f, p).items() if k != "origin"} for f in scored(rs, events)]

    want = out(evs)
    assert [r["eventID"] for r in want] == ["a1", "b1", "b2", "a2", "a3", "a4"]
    rnd = random.Random(3)
    for _ in range(10):
        shuffled = evs[:]
        rnd.shuffle(shuffled)
        assert out(shuffled) == want


def test_only_referenced_matches_are_kept(tmp_path: Path) -> None:
    rs = ruleset(
        tmp_path,
        RECON,
        TAMPER,
        base("noise", "ListUsers"),
        corr("type: temporal_ordered\nrules: [recon, tamper]\ngroup-by: [userIdentity.arn]\ntimespan: 30m\n"),
    )
    cor = Correlator(rs.correlations)
    kept = [cor.add(m, i) for i, m in enumerate(matches(rs, [ev("ListUsers", 0), ev("GetTrailStatus", 1), ev("ListUsers", 2)]))]
    assert kept == [False, True, False]
    assert isinstance(rs.correlations[0], Correlation)
