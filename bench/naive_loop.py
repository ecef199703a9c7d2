"""What a user writes first: a plain Python loop over the files with the standard library
(gzip + json), the seed query's filter and score, sorted like `trailhound detect`.

    python bench/naive_loop.py DIR > findings.jsonl
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys

IAM = {"CreateUser", "AttachUserPolicy", "CreateAccessKey", "CreateRole"}
DISABLE = {"StopLogging", "DeleteTrail", "PutEventSelectors", "DisableGuardDuty", "DeleteDetector"}
PRIV = {"AssumeRole", "AttachUserPolicy"}
COMPUTE = {"RunInstances", "CreateFunction", "UpdateFunctionCode"}
WHERE = IAM | DISABLE | PRIV | COMPUTE | {
    "GetSessionToken", "PutBucketPolicy", "DeleteBucketPolicy", "CreateKeyPair", "CreateGroup",
    "AddMemberToGroup",
}
AZURE = re.compile(r"roleDefinitions/write|roleAssignments/write|virtualMachines/write")


def main() -> None:
    rows = []
    for folder, dirs, names in os.walk(sys.argv[1]):
        dirs.sort()
        for name in sorted(names):
            if not name.endswith(".json.gz"):
                continue
            with gzip.open(os.path.join(folder, name), "rb") as fh:
                doc = json.load(fh)
            for r in doc.get("Records", []):
                en = r.get("eventName")
                op = r.get("operationName")
                if en not in WHERE and not (isinstance(op, str) and AZURE.search(op)):
                    continue
                flags = (en in IAM, en in DISABLE, en in PRIV, en in COMPUTE)
                score = 2 * flags[0] + 3 * flags[1] + 2 * flags[2] + flags[3]
                if score > 0:
                    rows.append((-score, r.get("eventTime") or "", r.get("eventID") or "", r))
    rows.sort(key=lambda x: x[:3])
    out = sys.stdout
    for neg, _, _, r in rows:
        out.write(json.dumps({"suspicion_score": -neg, "eventName": r.get("eventName"), "eventID": r.get("eventID")}))
        out.write("\n")


if __name__ == "__main__":
    main()
