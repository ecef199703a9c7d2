"""Each operator of the Sumo subset against Sumo Logic's documented semantics (the pages are
cited in docs/sumo.md). Expected values are written from the documentation, by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.sumo import CATEGORIES, SumoQueryError, prepare, run_query


def msg(raw: dict[str, Any], t: int | None = 0, cat: str = "aws/cloudtrail") -> dict[str, Any]:
    return {"_messageTime": t, "_sourceCategory": cat, "_sourceName": "x", "_raw": raw}


def run(q: str, raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The query's rows over messages built here (the scope line is tested separately)."""
    return list(prepare(q).rows(msg(r, i) for i, r in enumerate(raws)))


def col(rows: list[dict[str, Any]], c: str) -> list[Any]:
    return [r[c] for r in rows]


# --- in, =, comparisons ----------------------------------------------------------------------

E = '* | json "eventName" as e nodrop'


def test_in_is_case_sensitive() -> None:
    raws = [{"eventName": "CreateUser"}, {"eventName": "createuser"}, {"eventName": "CREATEUSER"}]
    assert col(run(E + ' | where e in ("CreateUser", "x") | fields e', raws), "e") == ["CreateUser"]
    assert col(run(E + ' | where e not in ("CreateUser") | fields e', raws), "e") == [
        "createuser", "CREATEUSER"]


def test_equals_is_case_sensitive_and_null_never_equals() -> None:
    raws = [{"eventName": "StopLogging"}, {"eventName": "stoplogging"}, {}]
    assert col(run(E + ' | where e = "StopLogging" | fields e', raws), "e") == ["StopLogging"]
    assert col(run(E + ' | where e == "StopLogging" | fields e', raws), "e") == ["StopLogging"]
    # != and <> : null is not "different" either (a test on null is false)
    assert col(run(E + ' | where e != "StopLogging" | fields e', raws), "e") == ["stoplogging"]
    assert col(run(E + ' | where e <> "StopLogging" | fields e', raws), "e") == ["stoplogging"]
    assert col(run(E + ' | where isNull(e) | fields e', raws), "e") == [None]


def test_comparisons_numeric_when_numbers_else_text() -> None:
    raws = [{"n": "10"}, {"n": "9"}, {"n": "abc"}, {}]
    q = '* | json "n" as n nodrop | where n > 9 | fields n'
    assert col(run(q, raws), "n") == ["10"]  # numerically 10 > 9; "abc" and null never compare
    assert col(run('* | json "n" as n nodrop | where n >= 9 | fields n', raws), "n") == ["10", "9"]
    assert col(run('* | json "n" as n nodrop | where n < 10 | fields n', raws), "n") == ["9"]
    assert col(run('* | json "n" as n nodrop | where n <= 10 | fields n', raws), "n") == ["10", "9"]
    # text against text: lexicographic
    assert col(run('* | json "n" as n nodrop | where n > "a" | fields n', raws), "n") == ["abc"]
    # a number equals the field's text read as a number
    assert col(run('* | json "n" as n nodrop | where n = 10.0 | fields n', raws), "n") == ["10"]


def test_and_or_not_and_bang() -> None:
    raws = [{"a": "1", "b": "1"}, {"a": "1", "b": "0"}, {"a": "0", "b": "0"}]
    base = '* | json "a", "b" as a, b | '
    assert len(run(base + 'where a = 1 and b = 1', raws)) == 1
    assert len(run(base + 'where a = 1 AND b = 1', raws)) == 1
    assert len(run(base + 'where a = 1 or b = 1', raws)) == 2
    assert len(run(base + 'where a = 0 OR b = 1', raws)) == 2
    assert len(run(base + 'where not a = 1', raws)) == 1
    assert len(run(base + 'where !(a = 1 and b = 1)', raws)) == 2


# --- matches ---------------------------------------------------------------------------------

O = '* | json "operationName" as op nodrop'


def test_matches_wildcard_is_whole_value_and_case_sensitive() -> None:
    raws = [{"operationName": "Microsoft.Authorization/roleAssignments/write"},
            {"operationName": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"}, {}]
    assert len(run(O + ' | where op matches "*roleAssignments/write"', raws)) == 1
    assert len(run(O + ' | where op matches "roleAssignments*"', raws)) == 0  # anchored
    assert len(run(O + ' | where op matches "*"', raws)) == 2  # null never matches
    assert len(run(O + ' | where !(op matches "*write")', raws)) == 2  # upper case, and null


def test_matches_regex_is_re2_whole_value_case_sensitive() -> None:
    raws = [{"operationName": "Microsoft.Authorization/roleAssignments/write"},
            {"operationName": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"},
            {"operationName": {"value": "Microsoft.Compute/virtualMachines/write"}}]
    assert len(run(O + r" | where op matches /.*roleAssignments\/write/", raws)) == 1
    # the whole value must match: an unanchored fragment alone does not
    assert len(run(O + r" | where op matches /roleAssignments\/write/", raws)) == 0
    assert len(run(O + r" | where op matches /(?i).*roleassignments\/write/", raws)) == 2
    # an object-valued key is its JSON text
    assert len(run(O + r' | where op matches /\{"value":".*virtualMachines\/write"\}/', raws)) == 1


def test_catastrophic_regex_runs_in_linear_time() -> None:
    raws = [{"operationName": "a" * 30_000 + "!"}]
    # a backtracking engine would not finish this; RE2 answers at once
    assert run(O + " | where op matches /(a+)+$/", raws) == []


def test_regex_re2_refuses_is_an_error_at_its_position() -> None:
    with pytest.raises(SumoQueryError) as e:
        prepare(O + r" | where op matches /(a)\1/")
    assert (e.value.operator, e.value.line) == ("matches", 1)
    assert e.value.column == len(O + " | where op matches ") + 1


# --- json ------------------------------------------------------------------------------------

def test_json_nodrop_gives_null_and_missing_key_drops_without_it() -> None:
    raws = [{"eventName": "A", "errorCode": "AccessDenied"}, {"eventName": "B"}]
    nodrop = run('* | json "errorCode" as err nodrop | json "eventName" as e | fields e, err', raws)
    assert nodrop == [{"e": "A", "err": "AccessDenied"}, {"e": "B", "err": None}]
    dropped = run('* | json "errorCode" as err | json "eventName" as e | fields e, err', raws)
    assert dropped == [{"e": "A", "err": "AccessDenied"}]


def test_json_nodrop_acts_as_or_for_later_parses() -> None:
    """Sumo: `parse a nodrop | parse b` outputs messages matching a OR b."""
    raws = [{"a": "1"}, {"b": "2"}, {"c": "3"}]
    rows = run('* | json "a" as a nodrop | json "b" as b | fields a, b', raws)
    assert rows == [{"a": "1", "b": None}, {"a": None, "b": "2"}]
    # without nodrop both must match
    assert run('* | json "a" as a | json "b" as b', raws) == []


def test_json_multi_key_form_paths_and_value_text() -> None:
    raws = [{"userIdentity": {"arn": "arn:x", "type": "IAMUser"}, "n": 5, "ok": True,
             "list": [{"k": "v0"}, {"k": "v1"}], "dotted.key": "d", "nul": None}]
    rows = run('* | json field=_raw "userIdentity.arn", "userIdentity.type" as arn, kind '
               '| json "n", "ok", "list[1].k", "[\'dotted.key\']", "list", "nul" '
               "as n, ok, k1, dk, lst, nul nodrop | fields arn, kind, n, ok, k1, dk, lst, nul", raws)
    assert rows == [{"arn": "arn:x", "kind": "IAMUser", "n": "5", "ok": "true", "k1": "v1",
                     "dk": "d", "lst": '[{"k":"v0"},{"k":"v1"}]', "nul": None}]
    # a multi-key json keeps a message where any key is found (the rest are null)
    assert run('* | json "userIdentity.arn", "nope" as a, b | fields a, b', raws) == [
        {"a": "arn:x", "b": None}]
    # json without `as` names the field after the key
    assert run('* | json "n" | fields n', raws) == [{"n": "5"}]


def test_json_of_a_text_field() -> None:
    raws = [{"inner": json.dumps({"x": "y"})}, {"inner": "not json"}]
    rows = run('* | json "inner" as inner | json field=inner "x" as x nodrop | fields x', raws)
    assert rows == [{"x": "y"}, {"x": None}]


# --- expressions: if, ternary, arithmetic, functions ------------------------------------------

def test_if_ternary_and_arithmetic() -> None:
    raws = [{"eventName": "AttachUserPolicy"}, {"eventName": "StopLogging"}, {}]
    q = (E + ' | if(e in ("AttachUserPolicy"), 1, 0) as a'
         ' | (e = "StopLogging") ? 3 : 0 as b | a * 2 + b - 1 as s | s / 2 as h | s % 2 as m'
         ' | -s as neg | fields e, a, b, s, h, m, neg')
    rows = run(q, raws)
    assert col(rows, "a") == [1, 0, 0]
    assert col(rows, "b") == [0, 3, 0]
    assert col(rows, "s") == [1, 2, -1]
    assert col(rows, "h") == [0.5, 1, -0.5]
    assert col(rows, "m") == [1, 0, 1]  # Python's modulo sign; -1 % 2
    assert col(rows, "neg") == [-1, -2, 1]


def test_arithmetic_on_text_or_null_or_zero_division_is_null() -> None:
    raws = [{"n": "abc"}, {}, {"n": "4"}]
    rows = run('* | json "n" as n nodrop | n + 1 as p | n / 0 as z | fields p, z', raws)
    assert rows == [{"p": None, "z": None}, {"p": None, "z": None}, {"p": 5, "z": None}]


def test_isnull_isempty_isblank_as_documented() -> None:
    # Sumo's tables: isNull(null)=T, ("")=F, (" ")=F; isEmpty(null)=T, ("")=T, (" ")=F;
    # isBlank(null)=T, ("")=T, (" ")=T; all false for "bob"
    raws = [{}, {"v": ""}, {"v": " "}, {"v": "bob"}]
    rows = run('* | json "v" as v nodrop | isNull(v) as n | isEmpty(v) as e | isBlank(v) as b '
               "| fields n, e, b", raws)
    assert [(r["n"], r["e"], r["b"]) for r in rows] == [
        (True, True, True), (False, True, True), (False, False, True), (False, False, False)]


def test_string_functions() -> None:
    rows = run('* | json "v" as v | toLowerCase(v) as lo | toUpperCase(v) as up | length(v) as n '
               '| concat(v, "-", 1) as c | contains(v, "bC") as has | num("7") + 1 as k '
               '| isNumeric(v) as isn | fields lo, up, n, c, has, k, isn', [{"v": "AbC"}])
    assert rows == [{"lo": "abc", "up": "ABC", "n": 3, "c": "AbC-1", "has": True, "k": 8,
                     "isn": False}]


# --- fields, sort, count, timeslice, limit ------------------------------------------------------

def test_fields_order_and_denylist() -> None:
    raws = [{"a": "1", "b": "2", "c": "3"}]
    assert list(run('* | json "a", "b", "c" as a, b, c | fields c, a', raws)[0]) == ["c", "a"]
    assert list(run('* | json "a", "b", "c" as a, b, c | fields - b', raws)[0]) == [
        "_messageTime", "a", "c", "_sourceCategory", "_sourceName", "_raw"]
    assert list(run('* | json "a" as a | fields - _raw, _sourceName', raws)[0]) == [
        "_messageTime", "a", "_sourceCategory"]
    # the message itself is its JSON text
    assert run('* | fields _raw', raws) == [{"_raw": '{"a":"1","b":"2","c":"3"}'}]


def test_sort_default_is_descending() -> None:
    raws = [{"n": "1"}, {"n": "3"}, {"n": "2"}]
    q = '* | json "n" as n | num(n) as k | sort by k | fields k'
    assert col(run(q, raws), "k") == [3, 2, 1]
    assert col(run(q.replace("sort by k", "sort by k asc"), raws), "k") == [1, 2, 3]
    assert col(run(q.replace("sort by k", "sort by +k"), raws), "k") == [1, 2, 3]
    assert col(run(q.replace("sort by k", "order by k desc"), raws), "k") == [3, 2, 1]
    assert col(run(q.replace("sort by k", "sort k asc"), raws), "k") == [1, 2, 3]


def test_sort_extracted_fields_as_text_numbers_numerically_nulls_last() -> None:
    raws = [{"n": "9"}, {"n": "10"}, {}, {"n": "100"}]
    # Sumo: "To numerically sort, first cast the field to a number. Otherwise ... text"
    assert col(run('* | json "n" as n nodrop | sort by n | fields n', raws), "n") == [
        "9", "100", "10", None]
    assert col(run('* | json "n" as n nodrop | num(n) as k | sort by k asc | fields k', raws),
               "k") == [9, 10, 100, None]


def test_sort_is_stable_and_multi_key() -> None:
    raws = [{"a": "x", "n": "1"}, {"a": "y", "n": "2"}, {"a": "x", "n": "3"}, {"a": "y", "n": "4"}]
    rows = run('* | json "a", "n" as a, n | sort by a asc, n desc | fields a, n', raws)
    assert [(r["a"], r["n"]) for r in rows] == [("x", "3"), ("x", "1"), ("y", "4"), ("y", "2")]


def test_sort_spilled_to_disk_gives_the_same_order(monkeypatch: pytest.MonkeyPatch) -> None:
    raws = [{"n": str((i * 7919) % 101), "i": str(i)} for i in range(60)]
    q = '* | json "n", "i" as n, i | num(n) as k | sort by k | fields k, i'
    in_memory = run(q, raws)
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", "4")
    assert run(q, raws) == in_memory
    want = sorted(raws, key=lambda r: -int(r["n"]))  # stable: input order among equal keys
    assert [(r["k"], r["i"]) for r in in_memory] == [(int(r["n"]), r["i"]) for r in want]


def test_count_by_and_count() -> None:
    raws = [{"e": "A"}, {"e": "B"}, {"e": "A"}, {}]
    rows = run('* | json "e" as e nodrop | count by e | sort by _count', raws)
    assert rows == [{"e": "A", "_count": 2}, {"e": "B", "_count": 1}, {"e": None, "_count": 1}]
    assert run('* | json "e" as e nodrop | count as n by e | where n > 1', raws) == [
        {"e": "A", "n": 2}]
    assert run("* | count", raws) == [{"_count": 4}]


def test_count_forgets_other_fields() -> None:
    with pytest.raises(SumoQueryError) as e:
        prepare('* | json "e", "f" as e, f | count by e | where f = 1')
    assert e.value.operator == "where" and "'f' is not defined" in str(e.value)


def test_timeslice_buckets_message_time_in_ms() -> None:
    hour = 3_600_000
    msgs = [msg({}, t) for t in (0, hour - 1, hour, 5 * hour + 7)]
    rows = list(prepare("* | timeslice 1h | count by _timeslice | sort by _timeslice asc")
                .rows(msgs))
    assert rows == [{"_timeslice": 0, "_count": 2}, {"_timeslice": hour, "_count": 1},
                    {"_timeslice": 5 * hour, "_count": 1}]
    rows = list(prepare("* | timeslice 15m as t | fields t").rows(msgs))
    assert col(rows, "t") == [0, 45 * 60_000, hour, 5 * hour]


def test_limit_streams() -> None:
    pulled = 0

    def messages() -> Any:
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield msg({"i": str(i)})

    rows = list(prepare('* | json "i" as i | limit 3 | fields i').rows(messages()))
    assert col(rows, "i") == ["0", "1", "2"]
    assert pulled == 3  # nothing past the limit was read


# --- aliases -----------------------------------------------------------------------------------

def test_eval_and_table_are_aliases_with_warnings() -> None:
    raws = [{"eventName": "CreateUser"}, {"eventName": "X"}]
    spl = prepare(E + ' | eval x = if(e = "CreateUser", 2, 0) | table e, x')
    sumo = prepare(E + ' | if(e = "CreateUser", 2, 0) as x | fields e, x')
    assert sumo.warnings == []
    assert [w.split(": ", 1)[1] for w in spl.warnings] == [
        "`eval x = ...` is not Sumo (SPL); ran as `... as x`, its Sumo equivalent",
        "`table` is not Sumo (SPL); ran as `fields`, its Sumo equivalent",
    ]
    msgs = [msg(r) for r in raws]
    assert list(spl.rows(msgs)) == list(sumo.rows([msg(r) for r in raws])) == [
        {"e": "CreateUser", "x": 2}, {"e": "X", "x": 0}]


# --- the scope line and the records ---------------------------------------------------------------

def _ct(name: str, when: str = "2024-01-02T03:04:05Z") -> dict[str, Any]:
    return {"eventVersion": "1.08", "eventTime": when, "eventSource": "iam.amazonaws.com",
            "eventName": name, "awsRegion": "us-east-1", "eventID": name,
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/u"}}


def _export(tmp_path: Path, rows: list[tuple[str, dict[str, Any]]]) -> str:
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(
        json.dumps({"_sourceCategory": cat, "_messageTime": str(1000 + i), "_raw": json.dumps(raw)})
        for i, (cat, raw) in enumerate(rows)))
    return str(path)


def names(q: str, paths: list[str]) -> list[str]:
    return [r["e"] for r in run_query(q + ' | json "eventName" as e | fields e', paths)]


def test_scope_selects_by_exported_category(tmp_path: Path) -> None:
    p = _export(tmp_path, [("aws/cloudtrail", _ct("A")), ("prod/aws/cloudtrail", _ct("B")),
                           ("AWS/CloudTrail", _ct("C")), ("azure/activity", _ct("D"))])
    # exact value (defect 13: prod/aws/cloudtrail is another category); case is ignored, as
    # everywhere in Sumo's scope line
    assert names("_sourceCategory=aws/cloudtrail", [p]) == ["A", "C"]
    assert names("_sourceCategory=*aws/cloudtrail", [p]) == ["A", "B", "C"]
    assert names('(_sourceCategory="aws/cloudtrail" OR _sourceCategory=azure/*)', [p]) == [
        "A", "C", "D"]
    assert names("_sourceCategory=*cloudtrail NOT _sourceCategory=prod/*", [p]) == ["A", "C"]
    assert names("_sourceCategory=*cloudtrail AND _sourceCategory=aws*", [p]) == ["A", "C"]
    assert names("*", [p]) == ["A", "B", "C", "D"]


def test_raw_files_get_their_sources_category_and_event_time(tmp_path: Path) -> None:
    raw = tmp_path / "ct.json"
    raw.write_text(json.dumps({"Records": [_ct("A", "2024-01-02T03:04:05Z")]}))
    rows = list(run_query("_sourceCategory=aws/cloudtrail | fields _messageTime, _sourceCategory",
                          [str(raw)]))
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp() * 1000
    assert rows == [{"_messageTime": int(when), "_sourceCategory": "aws/cloudtrail"}]
    assert list(run_query("_sourceCategory=azure/activity", [str(raw)])) == []
    # an export keeps the _messageTime it was exported with
    p = _export(tmp_path, [("aws/cloudtrail", _ct("A"))])
    assert list(run_query("* | fields _messageTime", [p])) == [{"_messageTime": 1000}]


def test_every_builtin_source_has_a_category() -> None:
    from trailhound import logsources

    assert set(CATEGORIES) == {s.name for s in logsources.SOURCES.values()}
    assert len(set(CATEGORIES.values())) == len(CATEGORIES)


# --- properties against plain Python ----------------------------------------------------------

def _wildcard_oracle(pattern: str, s: str) -> bool:
    """Whole-string match where `*` is any run of characters: plain dynamic programming."""
    ok = [True] + [False] * len(s)  # ok[j]: pattern[:i] matches s[:j]
    for c in pattern:
        if c == "*":
            ok = [any(ok[: j + 1]) for j in range(len(s) + 1)]
        else:
            ok = [False] + [ok[j] and s[j] == c for j in range(len(s))]
    return ok[len(s)]


_ALPHABET = "ab*.^$[](){}+?|\\/\"é\n"


@settings(max_examples=300, deadline=None)
@given(st.text(_ALPHABET, max_size=8), st.text(_ALPHABET.replace("*", ""), max_size=10))
def test_matches_wildcard_equals_plain_python(pattern: str, value: str) -> None:
    q = prepare('* | json "v" as v | where v matches "' + pattern.replace("\\", "\\\\")
                .replace('"', '\\"') + '" | fields v')
    got = list(q.rows([msg({"v": value})]))
    assert (got == [{"v": value}]) == _wildcard_oracle(pattern, value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["A", "a", "B", "10", "10.0", " A"]), max_size=4),
       st.sampled_from(["A", "a", "10", "x"]))
def test_in_equals_exact_text_membership(listed: list[str], value: str) -> None:
    values = ", ".join(json.dumps(v) for v in listed) or '"zz"'
    q = prepare(f'* | json "v" as v | where v in ({values}) | fields v')
    got = list(q.rows([msg({"v": value})]))
    assert (got != []) == (value in listed)


def test_comments_and_layout() -> None:
    q = ("// the scope\n_sourceCategory=aws/cloudtrail // trailing\n"
         '| json "eventName" as e /* a block\n comment */ nodrop\n'
         "// a whole line\n| where e = \"A\" | fields e")
    assert run(q, [{"eventName": "A"}, {"eventName": "B"}]) == [{"e": "A"}]
