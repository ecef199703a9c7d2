"""Bad input: a clear Issue, never an exception, and nothing readable lost."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailhound.model import Issue, RawRecord
from trailhound.sources import read_bytes


def _split(items: list[RawRecord | Issue]) -> tuple[list[RawRecord], list[Issue]]:
    records = [i for i in items if isinstance(i, RawRecord)]
    issues = [i for i in items if isinstance(i, Issue)]
    return records, issues


def _read(raw: bytes, explicit: bool = True) -> tuple[list[RawRecord], list[Issue]]:
    return _split(list(read_bytes(raw, "in.json", explicit)))


def _ct(i: int, agent: str = "aws-cli/2.15.0 Python/3.11") -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventSource": "ec2.amazonaws.com",
        "eventName": f"RunInstances{i}",
        "userAgent": agent,
        "eventID": f"id-{i}",
        "requestParameters": {"n": i, "tags": ["a", "b"], "nested": {"k": None}},
    }


# --- truncated / corrupt gzip ------------------------------------------------------------------

_AGENTS = st.text(alphabet=st.sampled_from(list('abcXYZ019 /._-"\\é€😀')), min_size=0, max_size=30)


def _build(shape: str, recs: list[dict[str, Any]]) -> tuple[bytes, list[int]]:
    """Serialise `recs` in one container shape; return the bytes and each record's end offset."""
    parts = [json.dumps(r, ensure_ascii=False).encode() for r in recs]
    if shape == "records":
        head, sep, tail = b'{"Records": [', b", ", b"]}"
    elif shape == "array":
        head, sep, tail = b"[\n", b",\n", b"\n]\n"
    else:  # jsonl
        head, sep, tail = b"", b"\n", b"\n"
    ends, pos = [], len(head)
    for i, part in enumerate(parts):
        pos += len(part)
        ends.append(pos)
        pos += len(sep) if i < len(parts) - 1 else 0
    body = head + sep.join(parts) + tail
    assert all(body[e - 1 : e] == b"}" for e in ends)
    return body, ends


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.sampled_from(["records", "array", "jsonl"]),
    agents=st.lists(_AGENTS, min_size=1, max_size=25),
    level=st.sampled_from([1, 6, 9]),
    data=st.data(),
)
def test_cut_gzip_keeps_every_complete_record(
    shape: str, agents: list[str], level: int, data: st.DataObject
) -> None:
    recs = [_ct(i, agent) for i, agent in enumerate(agents)]
    body, ends = _build(shape, recs)
    gz = gzip.compress(body, compresslevel=level, mtime=0)
    cut = data.draw(st.integers(min_value=2, max_value=len(gz) - 1), label="cut")
    prefix = zlib.decompressobj(31).decompress(gz[:cut])  # independent of the reader
    expected = [r for r, end in zip(recs, ends) if end <= len(prefix)]

    records, issues = _read(gz[:cut])

    assert [r.data for r in records] == expected
    assert [(i.kind, i.severity) for i in issues] == [("truncated_gzip", "error")]
    [issue] = issues
    assert issue.location.compressed and issue.location.offset == cut
    assert f"kept {len(expected)} record" in issue.message


def test_every_cut_of_a_small_gzip_file() -> None:
    """Exhaustive companion of the property test: every cut offset, every container shape."""
    recs = [_ct(i, agent) for i, agent in enumerate(["é😀€", "x", "€€", "plain", "😀"])]
    for shape in ("records", "array", "jsonl"):
        body, ends = _build(shape, recs)
        gz = gzip.compress(body, compresslevel=9, mtime=0)
        for cut in range(2, len(gz)):
            prefix = zlib.decompressobj(31).decompress(gz[:cut])
            expected = [r for r, end in zip(recs, ends) if end <= len(prefix)]
            records, issues = _read(gz[:cut])
            assert [r.data for r in records] == expected, (shape, cut)
            assert [i.kind for i in issues] == ["truncated_gzip"], (shape, cut, issues)


def test_cut_inside_a_multibyte_character_is_not_a_utf8_error() -> None:
    body = json.dumps([_ct(0, "😀" * 40)], ensure_ascii=False).encode()
    gz = gzip.compress(body, compresslevel=0, mtime=0)  # stored: byte-exact cuts
    cuts = [
        c
        for c in range(2, len(gz))
        if _ends_mid_character(zlib.decompressobj(31).decompress(gz[:c]))
    ]
    assert len(cuts) > 20
    for cut in cuts:
        records, issues = _read(gz[:cut])
        assert records == [] and [i.kind for i in issues] == ["truncated_gzip"], cut


def _ends_mid_character(prefix: bytes) -> bool:
    try:
        prefix.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"
    return False


def test_multi_member_gzip_reads_all_members() -> None:
    a = gzip.compress(json.dumps({"Records": [_ct(0), _ct(1)]}).encode())
    b = gzip.compress(b"\n".join(json.dumps(_ct(i)).encode() for i in (2, 3, 4)))
    records, issues = _read(a + b)
    assert issues == []
    assert [r.data for r in records] == [_ct(i) for i in range(5)]
    # Second member cut: first member's records plus the complete lines of the second.
    records, issues = _read((a + b)[:-12])
    assert [r.data for r in records][:2] == [_ct(0), _ct(1)]
    assert [i.kind for i in issues] == ["truncated_gzip"]


def test_garbage_after_member_and_corrupt_header() -> None:
    gz = gzip.compress(json.dumps([_ct(0), _ct(1)]).encode())
    records, issues = _read(gz + b"this is not gzip")
    assert [r.data for r in records] == [_ct(0), _ct(1)]
    [issue] = issues
    assert (issue.kind, issue.location.offset, issue.location.compressed) == (
        "truncated_gzip",
        len(gz),
        True,
    )
    bad = bytearray(gz)
    bad[2] = 7  # compression method: not deflate
    records, issues = _read(bytes(bad))
    assert records == []
    [issue] = issues
    assert issue.kind == "truncated_gzip" and 2 <= issue.location.offset < 10  # in the header
    assert "unknown compression method" in issue.message


def test_corrupt_deflate_data_is_one_issue_and_no_exception() -> None:
    body = b"\n".join(json.dumps(_ct(i)).encode() for i in range(300))
    gz = bytearray(gzip.compress(body))
    for at in range(len(gz) // 3, len(gz) - 8, 97):
        broken = bytes(gz[:at]) + bytes([gz[at] ^ 0xFF]) + bytes(gz[at + 1 :])
        records, issues = _read(broken)
        assert len(records) <= 300
        gz_issues = [i for i in issues if i.kind == "truncated_gzip"]
        assert len(gz_issues) == 1 and gz_issues[0].location.offset >= at
        assert gz_issues[0] is issues[-1]


def test_trailing_nul_padding_after_gzip_is_ignored() -> None:
    gz = gzip.compress(json.dumps([_ct(0)]).encode())
    records, issues = _read(gz + b"\x00" * 512)
    assert issues == [] and [r.data for r in records] == [_ct(0)]


# --- broken JSON documents -----------------------------------------------------------------------


def test_truncated_records_document_keeps_records_before_the_break() -> None:
    recs = [_ct(i) for i in range(10)]
    body, ends = _build("records", recs)
    cut = ends[6] + 30  # inside record 7
    records, issues = _read(body[:cut])
    assert [r.data for r in records] == recs[:7]
    [issue] = issues
    assert (issue.kind, issue.severity) == ("bad_json", "error")
    assert issue.location.pointer == "/Records/7" and issue.location.index == 7
    assert issue.location.line == 1 and issue.location.offset is not None
    assert "7 elements before it were read" in issue.message


def test_one_broken_element_in_pretty_printed_document() -> None:
    recs = [_ct(i) for i in range(5)]
    text = json.dumps({"Records": recs}, indent=2)
    broken = text.replace('"eventName": "RunInstances3"', '"eventName": RunInstances3', 1)
    records, issues = _read(broken.encode())
    assert [r.data for r in records] == recs[:3]
    [issue] = issues
    assert issue.location.pointer == "/Records/3"
    expected_line = broken[: broken.index("RunInstances3")].count("\n") + 1
    assert issue.location.line == expected_line
    assert "Expecting value" in issue.message


def test_truncated_top_level_array() -> None:
    recs = [_ct(i) for i in range(4)]
    body, ends = _build("array", recs)
    # Cut inside element 3, right after element 2, and after its ",\n": elements are printed one
    # per line, so a complete line parses alone, yet the file is one (cut) array.
    for cut in (ends[3] - 5, ends[2], ends[2] + 2):
        records, issues = _read(body[:cut])
        assert [r.data for r in records] == recs[:3], cut
        assert [(i.kind, i.location.pointer) for i in issues] == [("bad_json", "/3")], cut


def test_bad_json_line_and_partial_last_line() -> None:
    lines = [json.dumps(_ct(i)).encode() for i in range(6)]
    lines[2] = lines[2].replace(b'"eventName"', b'"eventName" oops', 1)
    body = b"\n".join(lines)
    body = body[:-15]  # the last line is cut short too
    records, issues = _read(body)
    assert [r.data for r in records] == [_ct(i) for i in (0, 1, 3, 4)]
    assert [(i.kind, i.severity, i.location.line) for i in issues] == [
        ("bad_json", "error", 3),
        ("bad_json", "error", 6),
    ]
    assert "Expecting ':' delimiter" in issues[0].message
    assert issues[0].location.offset == body.index(b"oops")  # where the parser stopped


def test_nan_huge_numbers_and_deep_nesting_never_raise() -> None:
    records, issues = _read(b'[{"eventSource":"a.amazonaws.com","eventName":"b","x":NaN}]')
    assert records == [] and [i.kind for i in issues] == ["bad_json"]
    big = b'{"eventSource":"a.amazonaws.com","eventName":"b","n":123456789012345678901234567890}'
    records, issues = _read(big)
    assert issues == [] and len(records) == 1  # orjson reads it (as a float)
    for bomb in (b"[" * 200_000, b'{"a":' * 100_000, b'{"Records":' + b"[" * 100_000):
        records, issues = _read(bomb)
        assert records == [] and len(issues) == 1 and issues[0].kind == "bad_json"
    # Valid but absurdly nested envelopes: one issue, no RecursionError.
    for nested in (b"[" * 600 + b"]" * 600, b'{"Records":[' * 400 + b"]}" * 400):
        records, issues = _read(nested)
        assert records == [] and [i.kind for i in issues] == ["wrong_type"]


# --- envelopes and records of the wrong type -----------------------------------------------------


def test_wrong_types_in_envelopes() -> None:
    records, issues = _read(b'{"Records": 5}')
    assert records == []
    assert [(i.kind, i.location.pointer) for i in issues] == [("wrong_type", "/Records")]

    body = json.dumps({"Records": [_ct(0), "text", 5, None, _ct(1)]}).encode()
    records, issues = _read(body)
    assert [r.data for r in records] == [_ct(0), _ct(1)]
    assert [(i.kind, i.location.pointer) for i in issues] == [
        ("wrong_type", "/Records/1"),
        ("wrong_type", "/Records/2"),
        ("wrong_type", "/Records/3"),
    ]
    records, issues = _read(b'{"awslogs": {"data": 5}}\n{"detail-type": "x", "detail": "y"}\n7\n')
    assert records == []
    assert [(i.kind, i.location.line) for i in issues] == [
        ("bad_payload", 1),
        ("wrong_type", 2),
        ("wrong_type", 3),
    ]


def test_unknown_envelope_message_escapes_attacker_text() -> None:
    evil_key = "\x1b[2J\x1b]0;pwned\x07\nINJECTED\u202e" + "k" * 300
    records, issues = _read(json.dumps({evil_key: 1, "other": 2}).encode())
    assert records == []
    [issue] = issues
    assert (issue.kind, issue.severity) == ("unknown_envelope", "error")
    assert not any(ch in issue.message for ch in "\x1b\x07\n\u202e")
    assert "\\x1b[2J" in issue.message and "'other'" in issue.message
    assert "CloudTrail" in issue.message  # says which shapes are understood
    assert len(evil_key) > 300 and "k" * 100 not in issue.message


def test_bad_json_snippet_is_escaped_and_short() -> None:
    body = b'{"eventSource": "a", "eventName": "\\u001b' + b"\x07\x1b[31m" * 50 + b'"}\n'
    records, issues = _read(body)
    assert records == []
    [issue] = issues
    assert issue.kind == "bad_json"
    assert "\x1b" not in issue.message and "\x07" not in issue.message
    near = issue.message.split(" near ", 1)[1]
    assert len(near.split(";")[0]) <= 80


# --- text encoding, empty and non-JSON files -----------------------------------------------------


def test_non_utf8_bytes_keep_the_record_and_report_once() -> None:
    lines = [json.dumps(_ct(i)).encode() for i in range(4)]
    lines[1] = lines[1].replace(b"aws-cli/2.15.0", b"aws-cli/\xff2.15.0")
    lines[3] = lines[3].replace(b"aws-cli/2.15.0", b"aws-cli/\xc3(x\xe2\x82")
    body = b"\n".join(lines) + b"\n"
    records, issues = _read(body)
    assert len(records) == 4
    assert records[1].data["userAgent"] == "aws-cli/\ufffd2.15.0 Python/3.11"
    assert records[0].data == _ct(0) and records[2].data == _ct(2)
    [issue] = issues
    first_bad = body.index(b"\xff")
    assert (issue.kind, issue.severity) == ("non_utf8", "error")
    assert (issue.location.offset, issue.location.line) == (first_bad, 2)
    expected_count = body.decode("utf-8", "replace").count("\ufffd")
    assert f"{expected_count} bad byte sequences" in issue.message
    # The same in a whole document (fast path fails on the bad byte, nothing is lost).
    doc = json.dumps({"Records": [_ct(0), _ct(1)]}).encode().replace(b"2.15.0", b"2.\xfe15.0", 1)
    records, issues = _read(gzip.compress(doc))
    assert len(records) == 2 and [i.kind for i in issues] == ["non_utf8"]


def test_empty_and_whitespace_files_are_skips() -> None:
    for body in (b"", b"  \n\n\t", gzip.compress(b""), b"\xef\xbb\xbf"):
        records, issues = _read(body)
        assert records == []
        assert [(i.kind, i.severity) for i in issues] == [("empty", "skip")]


def test_non_json_file_is_error_when_named_and_skip_when_walked() -> None:
    csv = b"Event Type,Event Name\nAwsApiCall,HeadBucket\n"
    _, issues = _read(csv, explicit=True)
    assert [(i.kind, i.severity) for i in issues] == [("not_json", "error")]
    _, issues = _read(csv, explicit=False)
    assert [(i.kind, i.severity) for i in issues] == [("not_json", "skip")]
    _, issues = _read(b"PK\x03\x04rest-of-zip", explicit=True)
    assert "zip archive" in issues[0].message
