"""The seed query in DuckDB over the S3 files (`read_json` of the gzip'd documents, Records
unnested), for reference: what a SQL engine does with the same data.

    python bench/duckdb_seed.py DIR > findings.csv
"""

from __future__ import annotations

import sys

import duckdb

SQL = """
WITH r AS (
  SELECT unnest(Records) AS r
  FROM read_json('{glob}', maximum_object_size = 1073741824)
), f AS (
  SELECT r.eventTime AS time, r.eventName AS eventName, r.userIdentity.arn AS userArn,
    r.userIdentity.type AS identityType, r.sourceIPAddress AS sourceIP, r.awsRegion AS awsRegion,
    r.eventID AS eventID,
    (r.eventName IN ('CreateUser','AttachUserPolicy','CreateAccessKey','CreateRole'))::INT AS iam_change,
    (r.eventName IN ('StopLogging','DeleteTrail','PutEventSelectors','DisableGuardDuty','DeleteDetector'))::INT AS security_disable,
    (r.eventName IN ('AssumeRole','AttachUserPolicy'))::INT AS priv_esc,
    (r.eventName IN ('RunInstances','CreateFunction','UpdateFunctionCode'))::INT AS compute_create
  FROM r
  WHERE r.eventName IN ('CreateUser','AttachUserPolicy','CreateAccessKey','CreateRole','AssumeRole',
        'GetSessionToken','PutBucketPolicy','DeleteBucketPolicy','CreateFunction','UpdateFunctionCode',
        'RunInstances','CreateKeyPair','StopLogging','DeleteTrail','PutEventSelectors','DisableGuardDuty',
        'DeleteDetector','CreateGroup','AddMemberToGroup')
)
SELECT *, iam_change*2 + security_disable*3 + priv_esc*2 + compute_create AS suspicion_score
FROM f WHERE iam_change*2 + security_disable*3 + priv_esc*2 + compute_create > 0
ORDER BY suspicion_score DESC, time, eventID
"""
# CloudTrail records only (the auto-detected schema has no Azure operationName to test).


def main() -> None:
    root = sys.argv[1].rstrip("/")
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    cur = con.execute(SQL.format(glob=f"{root}/AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"))
    out = sys.stdout
    n = 0
    for row in cur.fetchall():
        out.write(",".join("" if v is None else str(v) for v in row))
        out.write("\n")
        n += 1
    print(n, file=sys.stderr)


if __name__ == "__main__":
    main()
