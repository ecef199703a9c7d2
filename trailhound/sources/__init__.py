"""Readers: files, folders and stdin -> RawRecord | Issue.

    specs, issues = discover(["logs/", "-"])
    for item in read_paths(["logs/", "-"], stdin=sys.stdin.buffer): ...

Records come out in file order, then in-file order. Bad input never raises: it becomes an
`Issue` (see model.py), and everything readable around it still comes out.

Modules: files (discovery, raw bytes) -> inputs (whole when small, streamed when large, under
the caps of limits) -> gzipio (streamed, capped gzip; cut/corrupt streams) -> charset (BOM,
UTF-16, invalid UTF-8) -> framing (+ salvage: documents, JSON lines, concatenated JSON, broken
documents; stream: the same for large inputs, a record at a time) -> envelopes (the ENVELOPES registry: S3 files, EventBridge, CloudWatch Logs, ...)
-> classify (CLASSIFIERS: which source a record is; derived from the Source registry,
trailhound/logsources.py, whose built-in records are in builtin.py).

Envelope names (RawRecord.envelope): s3_records, json_array, jsonl, single, eventbridge,
cloudwatch_logs, lookup_events, azure_records, rest_value, sumo_export, panther_test, pubsub.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import BinaryIO

from trailhound.sources.classify import CLASSIFIERS, Verdict, classify
from trailhound.sources.envelopes import ENVELOPES, Ctx, Envelope, Item, unwrap
from trailhound.sources.files import STDIN, STDIN_NAME, InputSpec, discover, discover_one
from trailhound.sources.reader import read_bytes, read_input

__all__ = [
    "CLASSIFIERS",
    "ENVELOPES",
    "ISSUE_KINDS",
    "STDIN",
    "STDIN_NAME",
    "Ctx",
    "Envelope",
    "InputSpec",
    "Item",
    "Verdict",
    "classify",
    "discover",
    "read_bytes",
    "read_input",
    "read_paths",
    "unwrap",
]

# Every Issue.kind the readers emit, with its usual severity.
ISSUE_KINDS: dict[str, str] = {
    "not_found": "error",  # a named path does not exist
    "unreadable": "error",  # permission denied, I/O error, unlistable folder
    "dangling_symlink": "error",  # a symbolic link whose target does not exist
    "symlinked_folder": "skip",  # a link to a folder met in a folder walk: not followed
    "not_a_file": "skip",  # a socket, FIFO or device met in a folder walk
    "empty": "skip",  # zero bytes or only whitespace
    "not_json": "skip",  # found in a folder walk; "error" when the file was named explicitly
    "truncated_gzip": "error",  # gzip cut short, corrupt, or junk after a member
    "inflate_limit": "error",  # gzip past a decompression cap (a bomb): see sources/limits.py
    "too_large": "error",  # a line / element / member over the record limit; skipped
    "non_utf8": "error",  # invalid UTF-8 replaced by U+FFFD; the records were still read
    "bad_json": "error",  # JSON syntax error (line, document, or JSON text inside an envelope)
    "wrong_type": "error",  # an envelope member or element of the wrong JSON type
    "too_deep": "error",  # a record nested past jsonutil.MAX_NESTING: cut there, still read
    "bad_payload": "error",  # base64 / gzip inside an envelope does not decode
    "unknown_envelope": "error",  # an object that is no known record or envelope
    "s3_notification": "skip",  # S3 event notification (eventSource aws:s3)
    "cloudtrail_digest": "skip",  # CloudTrail-Digest file
    "cloudwatch_control": "skip",  # CloudWatch Logs CONTROL_MESSAGE
    "not_audit_log": "skip",  # non-audit GCP LogEntry, other AWS notifications, other EventBridge
    "unsupported_source": "skip",  # recognised but not supported yet (Sentinel AWSCloudTrail rows, ...)
}


def read_paths(paths: Sequence[str], stdin: BinaryIO | None = None) -> Iterator[Item]:
    """`discover` + `read_input` for each path in order (its issues first, then its files)."""
    seen: set[object] = set()
    for path in paths:
        specs, issues = discover_one(path, seen)
        yield from issues
        for spec in specs:
            yield from read_input(spec, stdin)
