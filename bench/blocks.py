"""The building blocks' cost per record, one core (the figures behind the fast engine's design).

    python bench/blocks.py DIR [--files 200]

DIR: generated CloudTrail (bench/gen_cloudtrail.py). Best of 3 runs over the first --files
files, decompressed in memory first (except for the decompression row).
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from isal import igzip, isal_zlib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEED = [b"AssumeRole", b"CreateUser", b"RunInstances", b"StopLogging", b"DeleteTrail", b"CreateFunction",
        b"AttachUserPolicy", b"CreateAccessKey", b"CreateRole", b"PutEventSelectors", b"DisableGuardDuty",
        b"DeleteDetector", b"UpdateFunctionCode"]


def files(root: str, n: int) -> list[str]:
    out = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        out.extend(os.path.join(folder, x) for x in sorted(names) if x.endswith(".json.gz") and "Digest" not in folder)
    return out[:n]


def best(fn: Callable[[], Any], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        gc.enable()
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--files", type=int, default=200)
    a = ap.parse_args()
    paths = files(a.root, a.files)
    gzs = [Path(p).read_bytes() for p in paths]
    datas = [igzip.decompress(g) for g in gzs]
    n = sum(len(orjson.loads(d)["Records"]) for d in datas)
    mb = sum(map(len, datas)) / 1e6
    rows: list[tuple[str, float]] = []

    def row(name: str, fn: Callable[[], Any], per: int | None = None) -> None:
        t = best(fn)
        rows.append((name, t / (per or n) * 1e6))
        extra = f"{mb / t:,.0f} MB/s" if per is None else ""
        print(f"{name:70s} {t / (per or n) * 1e6:7.2f} µs/record  {extra}", flush=True)

    def one_member(g: bytes) -> bytes:
        d = isal_zlib.decompressobj(31)
        return d.decompress(g)

    row("ISA-L decompression (one member)", lambda: [one_member(g) for g in gzs])
    row("orjson.loads of each whole file", lambda: [orjson.loads(d) for d in datas])
    try:
        import msgspec
    except ImportError:
        print("msgspec missing: its rows are skipped")
    else:
        small = msgspec.defstruct("S", [("eventName", str), ("eventSource", str)])
        dec = msgspec.json.Decoder(msgspec.defstruct("F", [("Records", list[small])]))
        row("msgspec projection (eventName, eventSource)", lambda: [dec.decode(d) for d in datas])
        raw = msgspec.json.Decoder(msgspec.defstruct("R", [("Records", list[msgspec.Raw])]))
        row("msgspec, every record as a Raw slice", lambda: [raw.decode(d) for d in datas])
        from trailhound.engine.fast import FastEngine
        from trailhound.engine.fast_scan import projection
        from trailhound.rules.loader import load_pack

        proj = projection(FastEngine().compile(load_pack("seed")))
        if proj is not None:
            row("the fast engine's seed projection (decode)", lambda: [proj.decode(d) for d in datas])
            decoded = [proj.decode(d) for d in datas]
            row("the fast engine's seed selector", lambda: [proj.select(r) for r in decoded])
    try:
        import simdjson
    except ImportError:
        pass
    else:
        parser = simdjson.Parser()

        def sj() -> None:
            names = {"AssumeRole"}
            for d in datas:
                doc = parser.parse(d)
                for r in doc["Records"]:
                    r["eventName"] in names  # noqa: B015
                del r, doc

        row("pysimdjson parse + iterate + eventName", sj)
    rx = re.compile(rb'eventName":"(?:' + b"|".join(SEED) + rb')"')
    row("re with a literal prefix, one pattern (seed names)", lambda: [list(rx.finditer(d)) for d in datas])

    def finds() -> None:
        for d in datas:
            for lit in SEED:
                i = d.find(lit)
                while i >= 0:
                    i = d.find(lit, i + 1)

    row("13 bytes.find passes (seed literals)", finds)

    from trailhound.engine.fast_normalize import cloudtrail_event
    from trailhound.model import Location, RawRecord
    from trailhound.normalize import normalize

    recs = orjson.loads(datas[0])["Records"][:1000]
    raws = [RawRecord(r, Location("x", index=i, pointer=f"/Records/{i}"), "cloudtrail", "s3_records", {}) for i, r in enumerate(recs)]
    row("normalize() of a CloudTrail record (reference)", lambda: [normalize(x) for x in raws], len(raws))
    row("fast_normalize.cloudtrail_event (same Event)", lambda: [cloudtrail_event(x, force=True) for x in raws], len(raws))
    events = [normalize(x)[0] for x in raws]
    blobs = [pickle.dumps(e, 5) for e in events]
    row("pickle.dumps + loads of an Event", lambda: [pickle.loads(pickle.dumps(e, 5)) for e in events], len(raws))
    segs = [orjson.dumps(r) for r in recs]
    row("orjson.loads of one record (the rebuild in the main process)", lambda: [orjson.loads(s) for s in segs], len(segs))
    del blobs
    print(f"({n} records, {mb:.0f} MB JSON)")


if __name__ == "__main__":
    main()
