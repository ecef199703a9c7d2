"""The rule compiler and its intermediate form (engine/compiler.py, engine/ir.py).

Expected trees are written by hand from the rules' YAML and the Sigma specification (rules spec
v2.0.0: a condition list is OR-linked, list values are OR-linked, `|all` AND-links them,
`contains` / `startswith` / `endswith` are wildcards, `|neq` is `not`), not taken from the
compiler's output.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from pathlib import Path

import pytest
from sigma.types import SpecialChars

from tests.test_engine_reference import detection_rule, make_filter
from tests.test_rules_check import rule_doc, write
from trailhound.engine import ir
from trailhound.engine.compiler import Refused, filter_tree, rule_tree
from trailhound.engine.fast_prefilter import CONTAINS, EQ, EXISTS, PREFIX, TEST, anchor_of
from trailhound.errors import EngineError
from trailhound.rules.check import check_paths

STAR, ONE = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE


def tree(detection: str) -> ir.Node:
    return rule_tree(detection_rule(detection))


def ft(field: str, m: ir.Matcher) -> ir.FieldTest:
    return ir.FieldTest(field, m)


# ---------------------------------------------------------------------------------------------
# trees


def test_field_values_and_logic() -> None:
    got = tree(
        """
        sel:
          eventSource: iam.amazonaws.com
          eventName|startswith: [Create, Delete]
        flt:
          errorCode: null
        condition: sel and not flt
        """
    )
    assert got == ir.And((
        ir.And((
            ft("eventSource", ir.Text(("iam.amazonaws.com",))),
            ir.Or((
                ft("eventName", ir.Text(("Create", STAR))),
                ft("eventName", ir.Text(("Delete", STAR))),
            )),
        )),
        ir.Not(ft("errorCode", ir.Null())),
    ))


def test_condition_list_is_one_or() -> None:
    got = tree("a: {x: 1}\nb: {y: true}\ncondition: [a, b]")
    assert got == ir.Or((ft("x", ir.Number(1)), ft("y", ir.Bool(True))))


def test_value_matchers() -> None:
    got = tree(
        """
        sel:
          a|contains|all: [foo, 'b?r']
          b|cased: Exact
          c|re|i: '^x+$'
          d|gte: 5
          eventTime|hour|lt: 6
          e|cidr: 10.0.0.0/8
          f|exists: false
          g|fieldref: h
          i|neq: z
        condition: sel
        """
    )
    assert isinstance(got, ir.And)
    assert got.args[0] == ir.And((ft("a", ir.Text((STAR, "foo", STAR))), ft("a", ir.Text((STAR, "b", ONE, "r", STAR)))))
    assert got.args[1] == ft("b", ir.Text(("Exact",), cased=True))
    regex = got.args[2]
    assert isinstance(regex, ir.FieldTest) and isinstance(regex.matcher, ir.Regex)
    assert (regex.matcher.pattern, regex.matcher.flags) == ("^x+$", re.IGNORECASE)
    assert regex.matcher.search("XX") and not regex.matcher.search("xy")
    assert got.args[3:] == (
        ft("d", ir.Compare("gte", 5)),
        ft("eventTime", ir.TimePart("hour", "lt", 6)),
        ft("e", ir.Cidr(ipaddress.ip_network("10.0.0.0/8"))),
        ft("f", ir.Exists(False)),
        ft("g", ir.FieldRef("h")),
        ir.Not(ft("i", ir.Text(("z",)))),
    )


def test_keywords() -> None:
    got = tree("kw: [evil, 4624]\ncondition: kw")
    assert got == ir.Or((ir.Keyword(ir.Text((STAR, "evil", STAR))), ir.Keyword(ir.Text((STAR, "4624", STAR), cased=True))))


def test_filter_tree_is_the_filters_own_condition() -> None:
    f = make_filter(
        """
        title: f
        id: 00000000-0000-0000-0000-0000000000f1
        logsource: {product: aws, service: cloudtrail}
        filter:
          rules: any
          svc: {eventSource: s3.amazonaws.com}
          reads: {readOnly: true}
          condition: not (svc or reads)
        """
    )
    assert filter_tree(f) == ir.Not(
        ir.Or((ft("eventSource", ir.Text(("s3.amazonaws.com",))), ft("readOnly", ir.Bool(True))))
    )


@pytest.mark.parametrize(
    ("parts", "kind", "literal"),
    [
        ((), "exact", ""),
        (("ab",), "exact", "ab"),
        (("ab", STAR), "startswith", "ab"),
        ((STAR, "ab"), "endswith", "ab"),
        ((STAR, "ab", STAR), "contains", "ab"),
        ((STAR,), "any", ""),
        (("a", STAR, "b"), "wildcard", ""),
        (("a", ONE), "wildcard", "a"),
        ((STAR, ONE), "wildcard", ""),
    ],
)
def test_text_shapes(parts: tuple[object, ...], kind: str, literal: str) -> None:
    m = ir.Text(parts)  # type: ignore[arg-type]
    assert (m.kind, m.literal) == (kind, literal)


def test_describe_reads_like_the_rule() -> None:
    got = tree(
        """
        sel:
          eventName: ConsoleLogin
          userAgent|contains: curl
        flt:
          errorCode: null
        condition: sel and not flt
        """
    )
    assert ir.describe(got) == (
        '(eventName = "ConsoleLogin" and userAgent like "*curl*") and not errorCode is null'
    )
    assert ir.describe(tree("kw: ['a*b']\ncondition: kw")) == 'keyword "*a*b*"'
    assert ir.describe(tree("s: {eventTime|hour|gt: 18}\ncondition: s")) == "eventTime|hour > 18"


# ---------------------------------------------------------------------------------------------
# refusals: one place, with their kind


@pytest.mark.parametrize(
    ("detection", "kind", "words"),
    [
        ("sel: {a|expand: '%Admins%'}\nunused: {b|expand: '%Zed%'}\ncondition: sel", "placeholder",
         "%Admins%, %Zed% have no value (|expand)"),
        ("sel: {a: x}\ncondition: sel | count() > 5", "aggregation", "pipe syntax"),
        ("sel: {a|re: '(?<=x)y'}\ncondition: sel", "regex", "RE2 cannot run"),
        ("sel: {eventName|hour: 3}\ncondition: sel", "engine", "needs a timestamp field"),
        ("kw:\n  '|cidr': 10.0.0.0/8\ncondition: kw", "engine", "cannot be a keyword"),
    ],
)
def test_refusals_carry_their_kind(detection: str, kind: str, words: str) -> None:
    rule = detection_rule(detection)
    with pytest.raises(Refused) as ei:
        rule_tree(rule)
    assert ei.value.kind == kind and words in ei.value.reason, ei.value.reason
    assert isinstance(ei.value, EngineError)
    assert str(ei.value) == f"rule {rule.id} ({rule.path}): cannot evaluate: {kind}: {ei.value.reason}"


# ---------------------------------------------------------------------------------------------
# anchors come from the tree


def test_anchors_from_hand_built_trees() -> None:
    eq = anchor_of(ir.And((ft("eventSource", ir.Text(("iam.amazonaws.com",))), ft("eventName", ir.Text(("CreateUser",), cased=True)))))
    assert eq is not None and [(a.kind, a.path, a.text, a.cased) for a in eq] == [(EQ, "eventName", "CreateUser", True)]
    either = anchor_of(ir.Or((ft("a", ir.Text(("X", STAR))), ft("b", ir.Text((STAR, "Y", STAR))))))
    assert either is not None and [(a.kind, a.text) for a in either] == [(PREFIX, "x"), (CONTAINS, "y")]
    assert anchor_of(ir.Or((ft("a", ir.Text(("x",))), ir.Keyword(ir.Text((STAR, "k", STAR)))))) is None
    not_null = anchor_of(ir.Not(ft("a", ir.Null())))
    assert not_null is not None and [(a.kind, a.path) for a in not_null] == [(EXISTS, "a")]
    assert anchor_of(ir.Not(ft("a", ir.Text(("x",))))) is None
    test = anchor_of(ft("a", ir.Number(5)))
    assert test is not None and test[0].kind == TEST and test[0].test is not None
    assert test[0].test("5") and not test[0].test("6")
    assert anchor_of(ft("trailhound.principal", ir.Text(("x",)))) is None  # normalized field


def test_rules_check_prints_the_compilers_refusals(tmp_path: Path) -> None:
    """`rules check` words a refusal as `kind: reason`, the reason once (no engine prefix)."""
    write(tmp_path / "a_hour.yml", rule_doc("sel: {eventName|hour: 3}\ncondition: sel"))
    write(
        tmp_path / "b_filter.yml",
        {
            "title": "f",
            "id": str(uuid.uuid4()),
            "logsource": {"product": "aws", "service": "cloudtrail"},
            "filter": {"rules": "any", "ok": {"userIdentity.arn|expand": "%Admins%"}, "condition": "not ok"},
        },
    )
    lines = [f.line().replace(str(tmp_path) + "/", "") for f in check_paths([tmp_path]).files]
    assert lines[0].startswith(
        "a_hour.yml: refused: engine: condition 'sel', field 'eventName': |hour needs a timestamp field"
    ), lines[0]
    assert lines[1] == (
        "b_filter.yml: refused: placeholder: %Admins% has no value (|expand); "
        "give values with --placeholders FILE"
    ), lines[1]
