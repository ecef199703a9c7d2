"""The lower bound: decompress every .json.gz under DIR with ISA-L in N worker processes and
throw the output away (no JSON parsing at all).

    python bench/decompress_only.py DIR [--jobs 2]

Prints `files bytes_in bytes_out` on stdout.
"""

from __future__ import annotations

import argparse
import os
from multiprocessing import Pool

from isal import igzip


def _files(root: str) -> list[str]:
    out = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        out.extend(os.path.join(folder, n) for n in sorted(names) if n.endswith(".json.gz"))
    return out


def _one(path: str) -> tuple[int, int]:
    with open(path, "rb") as fh:
        raw = fh.read()
    return len(raw), len(igzip.decompress(raw))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    files = _files(a.root)
    with Pool(a.jobs) as pool:
        sizes = list(pool.imap_unordered(_one, files, chunksize=4))
    print(len(files), sum(s[0] for s in sizes), sum(s[1] for s in sizes))


if __name__ == "__main__":
    main()
