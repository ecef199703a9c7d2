"""Reference engine: value semantics, conditions, log-source gating, filters, refusals.

Expected values come from the Sigma specification (rules spec v2.0.0, modifiers appendix
v2.1.0 / v2.2.0) and the semantics written down in trailhound/engine/fields.py, not from
running the engine.
"""

from __future__ import annotations

import base64
import re
import textwrap
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaCompareExpression,
    SigmaNumber,
    SigmaQueryExpression,
    SpecialChars,
)

from trailhound.engine import make_engine
from trailhound.engine.base import Match
from trailhound.engine.fields import compile_wildcard
from trailhound.engine.reference import ReferenceEngine, compile_rule
from trailhound.errors import EngineError
from trailhound.model import Event, Location
from trailhound.rules.model import Filter, Rule, RuleSet

# ---------------------------------------------------------------------------------------------
# helpers


def make_rule(text: str, path: str = "test.yml") -> Rule:
    """A Rule from Sigma YAML: weight 1, no signal, not a context rule."""
    sr = SigmaRule.from_yaml(textwrap.dedent(text))
    ls = sr.logsource
    return Rule(
        id=str(sr.id) if sr.id else sr.title,
        title=sr.title,
        level=sr.level.name.lower() if sr.level else None,
        author=sr.author,
        tags=tuple(f"{t.namespace}.{t.name}" for t in sr.tags),
        weight=1,
        signal=None,
        context=False,
        product=ls.product,
        service=ls.service,
        category=ls.category,
        sigma=sr,
        path=path,
    )


def detection_rule(detection: str, product: str = "aws", service: str = "cloudtrail") -> Rule:
    """A rule around a `detection:` body (given without the `detection:` line)."""
    body = textwrap.indent(textwrap.dedent(detection).strip("\n"), "    ")
    return make_rule(
        f"title: t\nid: {uuid.uuid4()}\nlogsource:\n    product: {product}\n"
        f"    service: {service}\ndetection:\n{body}\n"
    )


def make_filter(text: str, path: str = "filter.yml") -> Filter:
    sf = SigmaFilter.from_yaml(textwrap.dedent(text))
    rules = sf.filter.rules
    return Filter(
        id=str(sf.id) if sf.id else sf.title,
        title=sf.title,
        rule_ids=None if isinstance(rules, str) else frozenset(r.reference for r in rules),
        product=sf.logsource.product,
        service=sf.logsource.service,
        sigma=sf,
        path=path,
    )


def event(raw: dict[str, Any], source: str = "cloudtrail") -> Event:
    provider = {"cloudtrail": "aws", "gcp_audit": "gcp"}.get(source, "azure")
    return Event(source=source, provider=provider, raw=raw, location=Location("<test>"))


def matches(detection: str, raw: dict[str, Any]) -> bool:
    return compile_rule(detection_rule(detection))(raw)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


# ---------------------------------------------------------------------------------------------
# value semantics: (detection, event, expected)

SEL = "condition: sel"

CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    # --- plain strings: whole-value match, case-insensitive by default
    ("str exact", "sel: {eventName: StopLogging}", {"eventName": "StopLogging"}, True),
    ("str case-insensitive", "sel: {eventName: StopLogging}", {"eventName": "STOPlogging"}, True),
    ("str is not substring", "sel: {eventName: StopLogging}", {"eventName": "StopLoggingX"}, False),
    ("str non-ascii case", "sel: {a: 'ÄRGER'}", {"a": "ärger"}, True),
    ("str empty matches empty", "sel: {a: ''}", {"a": ""}, True),
    ("str empty vs text", "sel: {a: ''}", {"a": "x"}, False),
    ("str empty vs missing", "sel: {a: ''}", {}, False),
    ("str empty vs null", "sel: {a: ''}", {"a": None}, False),
    ("field names are case-sensitive", "sel: {EventName: StopLogging}",
     {"eventName": "StopLogging"}, False),
    # --- wildcards and escapes
    ("star suffix", "sel: {a: 'Stop*'}", {"a": "stoplogging"}, True),
    ("star matches empty", "sel: {a: 'Stop*'}", {"a": "Stop"}, True),
    ("star across newline", "sel: {a: 'foo*bar'}", {"a": "foo\nbar"}, True),
    ("star middle no match", "sel: {a: 'foo*bar'}", {"a": "foo bar baz"}, False),
    ("question one char", "sel: {a: 'Stop?ogging'}", {"a": "StopLogging"}, True),
    ("question not two chars", "sel: {a: 'Stop?ogging'}", {"a": "StopLLogging"}, False),
    ("question not zero chars", "sel: {a: 'Stop?'}", {"a": "Stop"}, False),
    ("escaped star is literal", r"sel: {a: 'x\*y'}", {"a": "x*y"}, True),
    ("escaped star no wildcard", r"sel: {a: 'x\*y'}", {"a": "xzzy"}, False),
    ("escaped question literal", r"sel: {a: 'x\?'}", {"a": "x?"}, True),
    ("escaped question no wildcard", r"sel: {a: 'x\?'}", {"a": "xa"}, False),
    ("plain backslash", r"sel: {a: 'C:\Windows\System32'}", {"a": "c:\\windows\\system32"}, True),
    ("escaped backslash then wildcard", r"sel: {a: 'C:\Windows\\*'}",
     {"a": "C:\\Windows\\notepad.exe"}, True),
    ("backslash-star is a literal star", r"sel: {a: 'C:\Windows\*'}",
     {"a": "C:\\Windows\\notepad.exe"}, False),
    ("regex metachar is literal", "sel: {a: 'a.c'}", {"a": "abc"}, False),
    # --- contains / startswith / endswith / all / lists
    ("contains", "sel: {a|contains: Admin}", {"a": "xxADMINyy"}, True),
    ("contains no", "sel: {a|contains: Admin}", {"a": "Admi"}, False),
    ("startswith", "sel: {a|startswith: Get}", {"a": "getObject"}, True),
    ("startswith no", "sel: {a|startswith: Get}", {"a": "BucketGet"}, False),
    ("endswith", "sel: {a|endswith: ':root'}", {"a": "arn:aws:iam::1:ROOT"}, True),
    ("endswith no", "sel: {a|endswith: ':root'}", {"a": "arn:aws:iam::1:root/x"}, False),
    ("contains with wildcard inside", "sel: {a|contains: 'foo*bar'}", {"a": "1foo2bar3"}, True),
    ("list is OR", "sel: {a: [x, y]}", {"a": "Y"}, True),
    ("list is OR none", "sel: {a: [x, y]}", {"a": "z"}, False),
    ("contains all both", "sel: {a|contains|all: [foo, bar]}", {"a": "bar-FOO"}, True),
    ("contains all one", "sel: {a|contains|all: [foo, bar]}", {"a": "foo"}, False),
    ("map is AND", "sel: {a: x, b: y}", {"a": "x", "b": "z"}, False),
    ("list of maps is OR", "sel: [{a: x}, {b: y}]", {"b": "y"}, True),
    # --- cased
    ("cased exact", "sel: {a|cased: StopLogging}", {"a": "StopLogging"}, True),
    ("cased other case", "sel: {a|cased: StopLogging}", {"a": "stoplogging"}, False),
    ("cased contains", "sel: {a|contains|cased: Admin}", {"a": "xAdminx"}, True),
    ("cased contains other case", "sel: {a|contains|cased: Admin}", {"a": "xADMINx"}, False),
    # --- field lookup: nesting, dotted keys, lists
    ("nested path", "sel: {requestParameters.bucketName: b1}",
     {"requestParameters": {"bucketName": "b1"}}, True),
    ("nested path missing level", "sel: {requestParameters.bucketName: b1}",
     {"requestParameters": "b1"}, False),
    ("dotted key (Azure claim URL)",
     "sel: {'claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': alice@x.com}",
     {"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "Alice@x.com"}},
     True),
    ("longest key wins", "sel: {a.b.c: long}",
     {"a": {"b": {"c": "short"}}, "a.b": {"c": "long"}}, True),
    ("longest key wins, no fallback", "sel: {a.b.c: short}",
     {"a": {"b": {"c": "short"}}, "a.b": {"c": "long"}}, False),
    ("path crosses list", "sel: {resources.ARN|endswith: 'trail/t1'}",
     {"resources": [{"ARN": "arn:x:trail/t0"}, {"ARN": "arn:x:trail/t1"}]}, True),
    ("path crosses list none", "sel: {resources.ARN|endswith: 'trail/t9'}",
     {"resources": [{"ARN": "arn:x:trail/t0"}, {"ARN": "arn:x:trail/t1"}]}, False),
    ("list-valued leaf any element", "sel: {a: x}", {"a": ["w", "X"]}, True),
    ("nested list-valued leaf", "sel: {a: x}", {"a": [["w"], ["x"]]}, True),
    # --- leaf types
    ("number leaf as text", "sel: {a: '5'}", {"a": 5}, True),
    ("float leaf as text", "sel: {a: '1.5'}", {"a": 1.5}, True),
    ("bool leaf as text", "sel: {a: 'true'}", {"a": True}, True),
    ("bool leaf as text, other case", "sel: {a: 'TRUE'}", {"a": True}, True),
    ("bool leaf wildcard", "sel: {a: 'fa*'}", {"a": False}, True),
    ("bool leaf JSON text is lower case", "sel: {a|cased: 'true'}", {"a": True}, True),
    ("bool leaf JSON text not Python's", "sel: {a|cased: 'True'}", {"a": True}, False),
    ("object leaf never matches a string", "sel: {a: '*'}", {"a": {"b": 1}}, False),
    ("null leaf never matches a string", "sel: {a: '*'}", {"a": None}, False),
    ("star matches any text", "sel: {a: '*'}", {"a": ""}, True),
    # --- null / missing / exists
    ("null matches missing", "sel: {errorCode: null}", {}, True),
    ("null matches JSON null", "sel: {errorCode: null}", {"errorCode": None}, True),
    ("null does not match empty string", "sel: {errorCode: null}", {"errorCode": ""}, False),
    ("null does not match a value", "sel: {errorCode: null}", {"errorCode": "AccessDenied"}, False),
    ("null through missing parent", "sel: {a.b: null}", {"a": {}}, True),
    ("null in list leaf", "sel: {a: null}", {"a": ["x", None]}, True),
    ("exists true", "sel: {a|exists: true}", {"a": "x"}, True),
    ("exists true on null value", "sel: {a|exists: true}", {"a": None}, True),
    ("exists true on object", "sel: {a|exists: true}", {"a": {"b": 1}}, True),
    ("exists true on missing", "sel: {a|exists: true}", {}, False),
    ("exists false on missing", "sel: {a|exists: false}", {}, True),
    ("exists false on null value", "sel: {a|exists: false}", {"a": None}, False),
    ("exists false nested missing", "sel: {a.b|exists: false}", {"a": {"c": 1}}, True),
    ("not over missing field", "sel: {a: x}\ncondition: not sel", {}, True),
    ("not over matching field", "sel: {a: x}\ncondition: not sel", {"a": "x"}, False),
    ("neq differs", "sel: {a|neq: x}", {"a": "y"}, True),
    ("neq same (case-insensitive)", "sel: {a|neq: x}", {"a": "X"}, False),
    ("neq on missing", "sel: {a|neq: x}", {}, True),
    # --- cidr
    ("cidr v4 in", "sel: {ip|cidr: 10.0.0.0/8}", {"ip": "10.200.3.4"}, True),
    ("cidr v4 out", "sel: {ip|cidr: 10.0.0.0/8}", {"ip": "11.0.0.1"}, False),
    ("cidr v4 list", "sel: {ip|cidr: [10.0.0.0/8, 192.168.0.0/16]}", {"ip": "192.168.1.1"}, True),
    ("cidr non-IP", "sel: {ip|cidr: 10.0.0.0/8}", {"ip": "AWS Internal"}, False),
    ("cidr DNS name", "sel: {ip|cidr: 10.0.0.0/8}", {"ip": "ec2.amazonaws.com"}, False),
    ("cidr number leaf", "sel: {ip|cidr: 0.0.0.0/0}", {"ip": 167772161}, False),
    ("cidr v6 in", "sel: {ip|cidr: '2001:db8::/32'}", {"ip": "2001:db8:0:1::5"}, True),
    ("cidr v6 out", "sel: {ip|cidr: '2001:db8::/32'}", {"ip": "2001:db9::1"}, False),
    ("cidr v4 net vs v6 addr", "sel: {ip|cidr: 0.0.0.0/0}", {"ip": "2001:db8::1"}, False),
    ("cidr missing", "sel: {ip|cidr: 0.0.0.0/0}", {}, False),
    # --- numbers and comparisons
    ("number equals number", "sel: {n: 5}", {"n": 5}, True),
    ("number equals float", "sel: {n: 5}", {"n": 5.0}, True),
    ("number equals numeric string", "sel: {n: 5}", {"n": "5"}, True),
    ("number vs other number", "sel: {n: 5}", {"n": 6}, False),
    ("number vs non-numeric string", "sel: {n: 5}", {"n": "five"}, False),
    ("number vs boolean", "sel: {n: 1}", {"n": True}, False),
    ("gt numeric string", "sel: {n|gt: 5}", {"n": "10"}, True),
    ("gt numeric string smaller", "sel: {n|gt: 5}", {"n": "4"}, False),
    ("gt equal is false", "sel: {n|gt: 5}", {"n": 5}, False),
    ("gte equal", "sel: {n|gte: 5}", {"n": "5"}, True),
    ("lt negative string", "sel: {n|lt: 0}", {"n": "-1"}, True),
    ("lte float", "sel: {n|lte: 5}", {"n": 4.5}, True),
    ("gt exponent string", "sel: {n|gt: 5}", {"n": "1e3"}, True),
    ("gt non-numeric", "sel: {n|gt: 5}", {"n": "abc"}, False),
    ("gt missing", "sel: {n|gt: 5}", {}, False),
    ("gt list any", "sel: {n|gt: 5}", {"n": [1, 2, 9]}, True),
    # --- booleans
    ("bool true", "sel: {b: true}", {"b": True}, True),
    ("bool vs false", "sel: {b: true}", {"b": False}, False),
    ("bool vs string", "sel: {b: true}", {"b": "TRUE"}, True),
    ("bool vs 1", "sel: {b: true}", {"b": 1}, False),
    ("bool false vs missing", "sel: {b: false}", {}, False),
    # --- fieldref
    ("fieldref equal, case-insensitive", "sel: {a|fieldref: b}", {"a": "Alice", "b": "alice"},
     True),
    ("fieldref differ", "sel: {a|fieldref: b}", {"a": "x", "b": "y"}, False),
    ("fieldref other missing", "sel: {a|fieldref: b}", {"a": "x"}, False),
    ("fieldref both missing", "sel: {a|fieldref: b}", {}, False),
    ("fieldref nested", "sel: {userIdentity.userName|fieldref: requestParameters.userName}",
     {"userIdentity": {"userName": "bob"}, "requestParameters": {"userName": "bob"}}, True),
    ("fieldref endswith", "sel: {a|fieldref|endswith: b}",
     {"a": "arn:aws:iam::1:user/alice", "b": "alice"}, True),
    ("fieldref startswith no", "sel: {a|fieldref|startswith: b}",
     {"a": "arn:aws:iam::1:user/alice", "b": "alice"}, False),
    ("fieldref contains", "sel: {a|fieldref|contains: b}", {"a": "xxABCxx", "b": "abc"}, True),
    ("fieldref number vs string", "sel: {a|fieldref: b}", {"a": 5, "b": "5"}, True),
    ("fieldref neq", "sel: {a|fieldref|neq: b}", {"a": "x", "b": "y"}, True),
    # --- expansions and encodings
    ("windash slash", "sel: {c|windash|contains: ' -force'}", {"c": "run /force"}, True),
    ("windash en dash", "sel: {c|windash|contains: ' -force'}", {"c": "run \u2013force"}, True),
    ("windash dash", "sel: {c|windash|contains: ' -force'}", {"c": "run -force"}, True),
    ("windash none", "sel: {c|windash|contains: ' -force'}", {"c": "run force"}, False),
    ("base64", "sel: {d|base64: abc}", {"d": "YWJj"}, True),
    ("base64offset shift 0", "sel: {d|base64offset|contains: 'hello'}",
     {"d": b64("hello world")}, True),
    ("base64offset shift 1", "sel: {d|base64offset|contains: 'hello'}",
     {"d": b64("xhello world")}, True),
    ("base64offset shift 2", "sel: {d|base64offset|contains: 'hello'}",
     {"d": b64("xyhello world")}, True),
    ("base64offset absent", "sel: {d|base64offset|contains: 'hello'}",
     {"d": b64("goodbye world")}, False),
    ("wide (utf16le)", "sel: {d|wide: ab}", {"d": "a\x00b\x00"}, True),
    ("utf16be", "sel: {d|utf16be: ab}", {"d": "\x00a\x00b"}, True),
    # --- regular expressions: search, case-sensitive, flags
    ("re is a search", "sel: {a|re: 'ab+c'}", {"a": "xxabbbcxx"}, True),
    ("re anchored", "sel: {a|re: '^ab+c$'}", {"a": "xabc"}, False),
    ("re anchored ok", "sel: {a|re: '^ab+c$'}", {"a": "abbc"}, True),
    ("re case-sensitive", "sel: {a|re: 'ABC'}", {"a": "abc"}, False),
    ("re i flag", "sel: {a|re|i: 'ABC'}", {"a": "xabcx"}, True),
    ("re m flag", "sel: {a|re|m: '^b$'}", {"a": "a\nb\nc"}, True),
    ("re without m", "sel: {a|re: '^b$'}", {"a": "a\nb\nc"}, False),
    ("re s flag", "sel: {a|re|s: 'a.b'}", {"a": "a\nb"}, True),
    ("re without s", "sel: {a|re: 'a.b'}", {"a": "a\nb"}, False),
    ("re on number leaf text", "sel: {a|re: '^[0-9]+$'}", {"a": 123}, True),
    ("re missing", "sel: {a|re: '.*'}", {}, False),
    ("re on list leaf", "sel: {a|re: 'z$'}", {"a": ["x", "yz"]}, True),
    # --- keywords: full-text contains over every string leaf
    ("keyword contained", "keywords: [evil]\ncondition: keywords", {"x": {"y": ["foo EVIL bar"]}},
     True),
    ("keyword not in keys", "keywords: [evil]\ncondition: keywords", {"evil": "x"}, False),
    ("keyword absent", "keywords: [evil]\ncondition: keywords", {"a": "good"}, False),
    ("keyword list is OR", "keywords: [evil, bad]\ncondition: keywords", {"a": "so bad"}, True),
    ("keyword all: across leaves", "keywords:\n  '|all': [foo, bar]\ncondition: keywords",
     {"a": "foo", "b": {"c": "bar"}}, True),
    ("keyword all: one missing", "keywords:\n  '|all': [foo, bar]\ncondition: keywords",
     {"a": "foo"}, False),
    ("keyword with wildcard", "keywords: ['roleAssignments/*/write']\ncondition: keywords",
     {"op": "Microsoft.Authorization/roleAssignments/x/write"}, True),
    ("keyword cased", "keywords:\n  '|cased': [Evil]\ncondition: keywords", {"a": "evil"}, False),
    ("keyword re", "keywords:\n  '|re': ['ev.l']\ncondition: keywords", {"a": "an evil"}, True),
    ("keyword skips number leaves", "keywords: [12345]\ncondition: keywords", {"a": 12345}, False),
    ("numeric keyword in string leaf", "keywords: [12345]\ncondition: keywords",
     {"a": "id 12345."}, True),
    ("keyword and field", "sel: {a: x}\nkw: [needle]\ncondition: sel and kw",
     {"a": "x", "b": "haystack needle"}, True),
    # --- condition forms
    ("1 of sel*", "sel1: {a: x}\nsel2: {b: y}\ncondition: 1 of sel*", {"b": "y"}, True),
    ("1 of sel* none", "sel1: {a: x}\nsel2: {b: y}\ncondition: 1 of sel*", {}, False),
    ("all of sel*", "sel1: {a: x}\nsel2: {b: y}\ncondition: all of sel*", {"a": "x"}, False),
    ("all of sel* both", "sel1: {a: x}\nsel2: {b: y}\ncondition: all of sel*",
     {"a": "x", "b": "y"}, True),
    ("all of them", "sel: {a: x}\nfilter: {b: y}\ncondition: all of them", {"a": "x"}, False),
    ("all of them both", "sel: {a: x}\nfilter: {b: y}\ncondition: all of them",
     {"a": "x", "b": "y"}, True),
    ("them skips _identifiers", "sel: {a: x}\n_aux: {b: y}\ncondition: all of them", {"a": "x"},
     True),
    ("1 of them", "sel: {a: x}\nother: {b: y}\ncondition: 1 of them", {"b": "y"}, True),
    ("and not 1 of filter*",
     "sel: {a: x}\nfilter_1: {b: y}\nfilter_2: {c: z}\ncondition: sel and not 1 of filter*",
     {"a": "x", "c": "z"}, False),
    ("and not 1 of filter* kept",
     "sel: {a: x}\nfilter_1: {b: y}\nfilter_2: {c: z}\ncondition: sel and not 1 of filter*",
     {"a": "x", "c": "q"}, True),
    ("precedence and over or", "a1: {a: x}\nb1: {b: y}\nc1: {c: z}\ncondition: a1 or b1 and c1",
     {"a": "x"}, True),
    ("brackets", "a1: {a: x}\nb1: {b: y}\nc1: {c: z}\ncondition: (a1 or b1) and c1",
     {"a": "x"}, False),
    ("condition list is OR", "s1: {a: x}\ns2: {b: y}\ncondition: [s1, s2]", {"b": "y"}, True),
    # --- timestamp parts (eventTime is CloudTrail's event time field)
    ("hour", "sel: {eventTime|hour: 3}", {"eventTime": "2024-01-02T03:04:05Z"}, True),
    ("hour other", "sel: {eventTime|hour: 4}", {"eventTime": "2024-01-02T03:04:05Z"}, False),
    ("minute", "sel: {eventTime|minute: 4}", {"eventTime": "2024-01-02T03:04:05Z"}, True),
    ("day", "sel: {eventTime|day: 2}", {"eventTime": "2024-01-02T03:04:05Z"}, True),
    ("month", "sel: {eventTime|month: 1}", {"eventTime": "2024-01-02T03:04:05Z"}, True),
    ("year", "sel: {eventTime|year: 2024}", {"eventTime": "2024-01-02T03:04:05Z"}, True),
    ("iso week", "sel: {eventTime|week: 1}", {"eventTime": "2024-01-02T03:04:05Z"}, True),
    ("iso week of 2021-01-01 is 53", "sel: {eventTime|week: 53}",
     {"eventTime": "2021-01-01T00:00:00Z"}, True),
    ("hour with fraction and offset, no tz conversion", "sel: {eventTime|hour: 23}",
     {"eventTime": "2024-01-02T23:59:59.1234567+05:30"}, True),
    ("hour gt", "sel: {eventTime|hour|gt: 18}", {"eventTime": "2024-01-02T21:00:00Z"}, True),
    ("hour gt no", "sel: {eventTime|hour|gt: 18}", {"eventTime": "2024-01-02T08:00:00Z"}, False),
    ("unparseable timestamp", "sel: {eventTime|hour: 3}", {"eventTime": "yesterday"}, False),
    ("timestamp missing", "sel: {eventTime|hour: 3}", {}, False),
]


@pytest.mark.parametrize(
    ("detection", "raw", "expected"),
    [pytest.param(d if "condition:" in d else f"{d}\n{SEL}", r, e, id=n) for n, d, r, e in CASES],
)
def test_value_semantics(detection: str, raw: dict[str, Any], expected: bool) -> None:
    assert matches(detection, raw) is expected


# ---------------------------------------------------------------------------------------------
# refusals


def _refused(rule: Rule) -> str:
    with pytest.raises(EngineError) as ei:
        ReferenceEngine().compile(RuleSet((rule,)))
    msg = str(ei.value)
    assert msg.startswith(f"rule {rule.id} ({rule.path}): cannot evaluate: "), msg
    assert "\n" not in msg
    return msg


def test_refuses_unexpanded_placeholder() -> None:
    rule = detection_rule("sel: {userIdentity.arn|expand: '%Admins%'}\ncondition: sel")
    assert "Admins" in _refused(rule)


def test_refuses_placeholder_in_regex() -> None:
    rule = detection_rule("sel: {a|re|expand: '^%Admins%$'}\ncondition: sel")
    assert "Admins" in _refused(rule)


def test_refuses_query_expression() -> None:
    rule = detection_rule("sel: {a: x}\ncondition: sel")
    item = rule.sigma.detection.detections["sel"].detection_items[0]
    item.value = [SigmaQueryExpression("{field} in lookup", "q")]
    assert "query expression" in _refused(rule)


def test_refuses_timestamp_part_on_non_timestamp_field() -> None:
    rule = detection_rule("sel: {eventName|hour: 3}\ncondition: sel")
    assert "eventName" in _refused(rule)


def test_refuses_cidr_keyword() -> None:
    rule = detection_rule("kw:\n  '|cidr': 10.0.0.0/8\ncondition: kw")
    assert "keyword" in _refused(rule)


def test_compile_rule_refuses_too() -> None:
    rule = detection_rule("sel: {a|expand: '%x%'}\ncondition: sel")
    with pytest.raises(EngineError):
        compile_rule(rule)


def test_refusal_names_the_first_bad_rule_only() -> None:
    good = detection_rule("sel: {a: x}\ncondition: sel")
    bad = detection_rule("sel: {a|expand: '%x%'}\ncondition: sel")
    with pytest.raises(EngineError, match=f"rule {bad.id} "):
        ReferenceEngine().compile(RuleSet((good, bad)))


def test_refuses_bad_filter_naming_it() -> None:
    rule = detection_rule("sel: {a: x}\ncondition: sel")
    flt = make_filter(
        """
        title: f
        id: 00000000-0000-0000-0000-0000000000f1
        logsource: {product: aws, service: cloudtrail}
        filter:
          rules: any
          svc: {a|expand: '%x%'}
          condition: not svc
        """
    )
    with pytest.raises(EngineError, match=r"^filter 00000000-0000-0000-0000-0000000000f1 \("):
        ReferenceEngine().compile(RuleSet((rule,), (flt,)))


# ---------------------------------------------------------------------------------------------
# engine: gating, ordering, filters


def _run(ruleset: RuleSet, events: list[Event]) -> list[Match]:
    engine = ReferenceEngine()
    return list(engine.run(engine.compile(ruleset), events))


def test_registered() -> None:
    assert type(make_engine("reference")) is ReferenceEngine
    assert ReferenceEngine.NAME == "reference"


def test_logsource_gating() -> None:
    aws = detection_rule("sel: {operationName|exists: true}\ncondition: sel")
    azure = detection_rule(
        "sel: {operationName|exists: true}\ncondition: sel", product="azure", service="activitylogs"
    )
    ev = event({"operationName": "Microsoft.Compute/virtualMachines/write"}, "azure_activity")
    out = _run(RuleSet((aws, azure)), [ev])
    assert len(out) == 1 and out[0].rules == [azure] and out[0].suppressed == []


def test_aws_rule_never_evaluated_on_azure_event() -> None:
    always = detection_rule("sel: {x: null}\ncondition: sel")  # matches any record without x
    assert _run(RuleSet((always,)), [event({}, "entra_signin"), event({}, "gcp_audit")]) == []
    assert len(_run(RuleSet((always,)), [event({}, "cloudtrail")])) == 1


def test_category_rule_never_applies() -> None:
    rule = make_rule(
        """
        title: t
        logsource: {product: aws, category: process_creation}
        detection: {sel: {x: null}, condition: sel}
        """
    )
    assert _run(RuleSet((rule,)), [event({})]) == []


def test_matches_in_input_and_ruleset_order() -> None:
    r1 = detection_rule("sel: {eventName: [A, B]}\ncondition: sel")
    r2 = detection_rule("sel: {eventName: B}\ncondition: sel")
    events = [event({"eventName": n}) for n in ("B", "C", "A")]
    out = _run(RuleSet((r1, r2)), events)
    assert [m.event for m in out] == [events[0], events[2]]
    assert out[0].rules == [r1, r2]
    assert out[1].rules == [r1]


ANY_FILTER = """
title: drop AWS services
id: 00000000-0000-0000-0000-00000000000a
logsource: {product: aws, service: cloudtrail}
filter:
  rules: any
  aws_service: {userIdentity.type: AWSService}
  condition: not aws_service
"""


def test_filter_suppresses_and_keeps() -> None:
    rule = detection_rule("sel: {eventName: StopLogging}\ncondition: sel")
    flt = make_filter(ANY_FILTER)
    by_service = event({"eventName": "StopLogging", "userIdentity": {"type": "AWSService"}})
    by_user = event({"eventName": "StopLogging", "userIdentity": {"type": "IAMUser"}})
    other = event({"eventName": "GetObject", "userIdentity": {"type": "AWSService"}})
    out = _run(RuleSet((rule,), (flt,)), [by_service, by_user, other])
    assert len(out) == 2
    assert out[0].event is by_service and out[0].rules == [] and out[0].suppressed == [(rule, flt)]
    assert out[1].event is by_user and out[1].rules == [rule] and out[1].suppressed == []


def test_filter_only_for_named_rules() -> None:
    r1 = make_rule(
        """
        title: one
        id: 00000000-0000-0000-0000-000000000001
        logsource: {product: aws, service: cloudtrail}
        detection: {sel: {eventName: StopLogging}, condition: sel}
        """
    )
    r2 = make_rule(
        """
        title: two
        id: 00000000-0000-0000-0000-000000000002
        logsource: {product: aws, service: cloudtrail}
        detection: {sel: {eventSource: cloudtrail.amazonaws.com}, condition: sel}
        """
    )
    flt = make_filter(
        """
        title: only one
        id: 00000000-0000-0000-0000-00000000000b
        logsource: {product: aws, service: cloudtrail}
        filter:
          rules: [00000000-0000-0000-0000-000000000001]
          svc: {userIdentity.type: AWSService}
          condition: not svc
        """
    )
    ev = event(
        {
            "eventName": "StopLogging",
            "eventSource": "cloudtrail.amazonaws.com",
            "userIdentity": {"type": "AWSService"},
        }
    )
    (m,) = _run(RuleSet((r1, r2), (flt,)), [ev])
    assert m.rules == [r2]
    assert m.suppressed == [(r1, flt)]


def test_filter_of_other_product_does_not_apply() -> None:
    rule = detection_rule("sel: {eventName: StopLogging}\ncondition: sel")
    flt = make_filter(ANY_FILTER.replace("product: aws, service: cloudtrail", "product: azure"))
    ev = event({"eventName": "StopLogging", "userIdentity": {"type": "AWSService"}})
    (m,) = _run(RuleSet((rule,), (flt,)), [ev])
    assert m.rules == [rule] and m.suppressed == []


def test_filter_over_missing_field_keeps_match() -> None:
    rule = detection_rule("sel: {eventName: StopLogging}\ncondition: sel")
    (m,) = _run(RuleSet((rule,), (make_filter(ANY_FILTER),)), [event({"eventName": "StopLogging"})])
    assert m.rules == [rule]


def test_two_filters_each_reported() -> None:
    rule = detection_rule("sel: {eventName: StopLogging}\ncondition: sel")
    f1 = make_filter(ANY_FILTER)
    f2 = make_filter(
        """
        title: drop region
        id: 00000000-0000-0000-0000-00000000000c
        logsource: {product: aws}
        filter:
          rules: any
          region: {awsRegion|startswith: us-}
          condition: not region
        """
    )
    ev = event(
        {
            "eventName": "StopLogging",
            "userIdentity": {"type": "AWSService"},
            "awsRegion": "us-east-1",
        }
    )
    (m,) = _run(RuleSet((rule,), (f1, f2)), [ev])
    assert m.rules == [] and m.suppressed == [(rule, f1), (rule, f2)]


def test_filter_condition_with_selector() -> None:
    rule = detection_rule("sel: {eventName: StopLogging}\ncondition: sel")
    flt = make_filter(
        """
        title: allow list
        id: 00000000-0000-0000-0000-00000000000d
        logsource: {product: aws, service: cloudtrail}
        filter:
          rules: any
          allow_a: {userIdentity.userName: ci-bot}
          allow_b: {sourceIPAddress|cidr: 10.0.0.0/8}
          condition: not 1 of allow_*
        """
    )
    evs = [
        event({"eventName": "StopLogging", "sourceIPAddress": "10.1.1.1"}),
        event({"eventName": "StopLogging", "userIdentity": {"userName": "CI-BOT"}}),
        event({"eventName": "StopLogging", "sourceIPAddress": "8.8.8.8"}),
    ]
    out = _run(RuleSet((rule,), (flt,)), evs)
    assert [bool(m.suppressed) for m in out] == [True, True, False]


def test_plan_is_reusable() -> None:
    rule = detection_rule("sel: {eventName: X}\ncondition: sel")
    engine = ReferenceEngine()
    plan = engine.compile(RuleSet((rule,)))
    for _ in range(2):
        assert len(list(engine.run(plan, [event({"eventName": "x"})]))) == 1


# ---------------------------------------------------------------------------------------------
# constructs only a processing pipeline produces, and odd conditions


def _inject(rule: Rule, value: Any) -> Rule:
    rule.sigma.detection.detections["sel"].detection_items[0].value = [value]
    return rule


@pytest.mark.parametrize(
    ("raw", "expected"),
    [({"n": 6}, True), ({"n": "4"}, True), ({"n": 5}, False), ({"n": "5.0"}, False),
     ({"n": "abc"}, False), ({}, False)],
)
def test_compare_neq_operator(raw: dict[str, Any], expected: bool) -> None:
    rule = _inject(
        detection_rule("sel: {n: 0}\ncondition: sel"),
        SigmaCompareExpression(SigmaNumber(5), CompareOperators.NEQ),
    )
    assert compile_rule(rule)(raw) is expected


def test_refuses_pipe_aggregation_condition() -> None:
    rule = detection_rule("sel: {a: x}\ncondition: sel | count() > 5")
    assert "sel | count() > 5" in _refused(rule)


def test_refuses_rule_without_detection() -> None:
    rule = detection_rule("sel: {a: x}\ncondition: sel")
    rule.sigma.detection.parsed_condition = []
    assert "no detection condition" in _refused(rule)


# ---------------------------------------------------------------------------------------------
# the fast string paths agree with the documented definition (re.fullmatch, IGNORECASE, DOTALL)

_ALPHABET = "aAbB.*\\\nßsSſkKİı\u212a"
_part = st.one_of(
    st.text(_ALPHABET, min_size=1, max_size=3),
    st.just(SpecialChars.WILDCARD_MULTI),
    st.just(SpecialChars.WILDCARD_SINGLE),
)


def _definition(parts: list[Any], text: str, cased: bool) -> bool:
    src = "".join(
        re.escape(p) if isinstance(p, str)
        else (".*" if p is SpecialChars.WILDCARD_MULTI else ".")
        for p in parts
    )
    flags = re.DOTALL | (0 if cased else re.IGNORECASE)
    return re.fullmatch(src, text, flags) is not None


@settings(max_examples=400, deadline=None)
@given(st.lists(_part, max_size=4), st.text(_ALPHABET, max_size=8), st.booleans())
def test_wildcard_fast_paths_match_definition(parts: list[Any], text: str, cased: bool) -> None:
    assert compile_wildcard(parts, cased)(text) is _definition(parts, text, cased)
