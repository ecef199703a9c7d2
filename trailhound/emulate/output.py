"""Records -> files, in the export formats the clouds really write (docs/log-formats.md):

s3     CloudTrail S3 delivery: gzip `{"Records":[...]}` files under
       AWSLogs/<org>/<account>/CloudTrail/<region>/YYYY/MM/DD/, one per 5-minute slot, late
       records in the next file, records in no order inside a file.
azure  Azure Monitor diagnostic settings to a storage account: JSON lines `PT1H.json` blobs per
       hour under insights-activity-logs/resourceId=/SUBSCRIPTIONS/<id>/ (Activity) and
       insights-logs-auditlogs/ and insights-logs-signinlogs/ under tenantId=<id>/ (Entra).
gcp    Cloud Logging sink to Cloud Storage: cloudaudit.googleapis.com/<log>/YYYY/MM/DD/
       HH:00:00_HH:59:59_S0.json, one LogEntry per line.
jsonl  every stream as bare records, one per line (collector / test-fixture shape).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from trailhound.emulate.cloudtrail import trail_files
from trailhound.emulate.files import json_lines
from trailhound.emulate.scenario import STREAMS, Records
from trailhound.emulate.world import SUB, TENANT, Ids, Json
from trailhound.errors import UsageError

FORMATS = ("s3", "azure", "gcp", "jsonl")
DEFAULT_FORMATS = ("s3", "azure", "gcp")
COVERS = {
    "s3": ("cloudtrail",),
    "azure": ("azure_activity", "entra_audit", "entra_signin"),
    "gcp": ("gcp_audit",),
    "jsonl": STREAMS,
}
TIME_FIELD = {"cloudtrail": "eventTime", "gcp_audit": "timestamp"}  # others: "time"
AZURE_BLOBS = {
    "azure_activity": f"insights-activity-logs/resourceId=/SUBSCRIPTIONS/{SUB.upper()}",
    "entra_audit": f"insights-logs-auditlogs/tenantId={TENANT}",
    "entra_signin": f"insights-logs-signinlogs/tenantId={TENANT}",
}


def _time(stream: str, rec: Json) -> str:
    return str(rec.get(TIME_FIELD.get(stream, "time"), ""))


def _by_hour(stream: str, recs: Iterable[Json]) -> dict[str, list[Json]]:
    """Records grouped by their UTC hour, 'YYYY-MM-DDTHH', each group in time order."""
    hours: dict[str, list[Json]] = {}
    for rec in sorted(recs, key=lambda r: _time(stream, r)):
        hours.setdefault(_time(stream, rec)[:13], []).append(rec)
    return hours


def _hour_path(hour: str) -> tuple[str, str, str, str]:
    return hour[0:4], hour[5:7], hour[8:10], hour[11:13]


def _azure(records: Records) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for stream, prefix in AZURE_BLOBS.items():
        for hour, recs in _by_hour(stream, records.get(stream, [])).items():
            y, m, d, h = _hour_path(hour)
            files[f"azure/{prefix}/y={y}/m={m}/d={d}/h={h}/m=00/PT1H.json"] = json_lines(
                recs, compact=False
            )
    return files


def _gcp(records: Records) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    by_log: dict[str, list[Json]] = {}
    for rec in records.get("gcp_audit", []):
        log = str(rec.get("logName", "")).rsplit("%2F", 1)[-1]  # activity | data_access | ...
        by_log.setdefault(log, []).append(rec)
    for log, recs in sorted(by_log.items()):
        for hour, in_hour in _by_hour("gcp_audit", recs).items():
            y, m, d, h = _hour_path(hour)
            name = f"gcp/cloudaudit.googleapis.com/{log}/{y}/{m}/{d}/{h}:00:00_{h}:59:59_S0.json"
            files[name] = json_lines(in_hour)
    return files


def _s3(records: Records, seed: int) -> dict[str, bytes]:
    recs = records.get("cloudtrail", [])
    return trail_files(Ids(seed), recs)[0] if recs else {}


def _jsonl(records: Records) -> dict[str, bytes]:
    return {
        f"jsonl/{stream}.jsonl": json_lines(sorted(recs, key=lambda r: _time(stream, r)))
        for stream, recs in records.items()
    }


def check_formats(records: Records, formats: Sequence[str], scenario: str) -> None:
    """Every stream the scenario wrote must be covered by a chosen format: a scenario written
    without its records would test nothing."""
    covered = {s for f in formats for s in COVERS[f]}
    for stream in records:
        if stream not in covered:
            need = [f for f in FORMATS if stream in COVERS[f]]
            raise UsageError(
                f"scenario {scenario!r} writes {stream} records, which --format "
                f"{'/'.join(formats)} does not write; add --format {' or '.join(need)}"
            )


def render(records: Records, formats: Sequence[str], seed: int) -> dict[str, bytes]:
    """Relative path -> file bytes, for every chosen format."""
    files: dict[str, bytes] = {}
    for fmt in formats:
        if fmt == "s3":
            files |= _s3(records, seed)
        elif fmt == "azure":
            files |= _azure(records)
        elif fmt == "gcp":
            files |= _gcp(records)
        else:
            files |= _jsonl(records)
    return files


def write(files: dict[str, bytes], out_dir: Path) -> list[Path]:
    written = []
    for rel in sorted(files):
        path = out_dir / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[rel])
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise UsageError(f"cannot write {path}: {reason}; choose a writable folder") from e
        written.append(path)
    return written
