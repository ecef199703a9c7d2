"""model.LazyEvent: a finding's raw record travels as its JSON bytes and is decoded on demand."""

from __future__ import annotations

import json
import pickle

from trailhound.model import PENDING, Event, LazyEvent, Location, pack_head
from trailhound.spill import Payloads, Runs, pack_event, unpack_event

RECORD = b'{"eventName": "AssumeRole", "userIdentity": {"type": "AssumedRole"}, "n": [1, 2.5, null]}'


def _lazy() -> LazyEvent:
    return LazyEvent("cloudtrail", "aws", PENDING, Location("f.json", line=3), operation="AssumeRole", json=RECORD)


def test_raw_is_decoded_on_first_read_and_equals_json_loads() -> None:
    e = _lazy()
    assert e.raw == json.loads(RECORD)
    assert e.raw is e.raw  # decoded once, then kept
    assert e.json == RECORD


def test_lazy_event_equals_the_event_it_stands_for() -> None:
    plain = Event("cloudtrail", "aws", json.loads(RECORD), Location("f.json", line=3), operation="AssumeRole")
    assert _lazy() == plain and plain == _lazy()
    other = Event("cloudtrail", "aws", {"eventName": "X"}, Location("f.json", line=3), operation="AssumeRole")
    assert _lazy() != other


def test_spill_keeps_the_bytes_as_they_came_without_decoding() -> None:
    e = _lazy()
    packed = pack_event(e)
    assert packed[1] is RECORD
    back = unpack_event(pickle.loads(pickle.dumps(packed)))
    assert type(back) is LazyEvent and back.raw == json.loads(RECORD)


def test_replacing_raw_drops_the_stale_bytes() -> None:
    e = _lazy()
    e.raw = {"eventName": "Other"}
    assert e.json is None
    assert json.loads(pack_event(e)[1]) == {"eventName": "Other"}


def test_runs_sort_across_chunks_and_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    items = [(i * 7919) % 2003 for i in range(2003)]
    runs = Runs(None, 300, str(tmp_path))  # several runs, each of several pickled chunks
    for x in items:
        runs.add(x)
    assert list(runs) == sorted(items)


def test_a_workers_event_is_spilled_as_the_bytes_it_came_as(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain = Event("cloudtrail", "aws", json.loads(RECORD), Location("f.json", line=3, index=7),
                  operation="AssumeRole", time_ns=5, event_id="e-1")
    row = (b'{"time": 1}', ("rule-a",), True)
    head, rowp = pack_head(plain), pickle.dumps(row)
    e = LazyEvent.packed(head, RECORD, rowp, "keys")  # as FastPlan.from_wire builds it
    assert e.row == row and e.keys == "keys"
    payloads = Payloads(str(tmp_path))
    at = payloads.put_event(e)
    assert payloads._ends[0] == len(head) + len(RECORD) + len(rowp)  # written as they came, nothing else
    back = payloads.get_event(at)
    assert type(back) is LazyEvent and back.row == row
    assert back == plain and e == plain  # every field unpacked on first read
    e.raw = {"eventName": "Other"}  # no longer what the bytes say: pickled as the event it is
    assert e.head is None and e.row is None and e.keys is None and e.operation == "AssumeRole"
    again = payloads.get_event(payloads.put_event(e))
    assert again.raw == {"eventName": "Other"} and again.operation == "AssumeRole"
    payloads.close()


def test_a_packed_event_is_unpacked_by_the_first_read_of_any_field() -> None:
    plain = Event("cloudtrail", "aws", json.loads(RECORD), Location("f.json", index=2), time_ns=9)
    for name in ("raw", "time_ns", "location", "meta", "logsource"):
        e = LazyEvent.packed(pack_head(plain), RECORD, None)
        assert getattr(e, name) == getattr(plain, name), name
        assert e.row is None
    e = LazyEvent.packed(pack_head(plain), RECORD, None)
    back = pickle.loads(pickle.dumps(e))  # pickled as the plain Event it stands for
    assert type(back) is Event and back == plain
    e = LazyEvent.packed(pack_head(plain), RECORD, None)
    e.raw = {"x": 1}  # replaced before any read: the other fields still come from the head
    assert e.time_ns == 9 and e.location == plain.location and e.raw == {"x": 1}
