-- trailhound export --to spark-sql: pack seed, 4 rule(s)
-- input: one relation per log source, column raw = the record's JSON text
-- r1: 24faa559-ba82-581e-bb04-4c771c406be2 Seed: compute created (RunInstances, CreateFunction, UpdateFunctionCode) (weight 1, compute_create)
-- r2: b0589765-8ade-5348-81bc-440d5a92857d Seed: IAM change (CreateUser, AttachUserPolicy, CreateAccessKey, CreateRole) (weight 2, iam_change)
-- r3: 0b30d742-949c-54a0-b906-bb28ffcef2bc Seed: privilege escalation (AssumeRole, AttachUserPolicy) (weight 2, priv_esc)
-- r4: 864244b7-76d9-5361-84e2-ab4a65794a80 Seed: security control disabled (StopLogging, DeleteTrail, PutEventSelectors, DisableGuardDuty, DeleteDetector) (weight 3, security_disable)
WITH cloudtrail_flags AS (
  SELECT
    coalesce(nullif(get_json_object(raw, '$.eventTime'), ''), nullif(get_json_object(raw, '$[\'@timestamp\']'), '')) AS event_time,
    'cloudtrail' AS source,
    nullif(get_json_object(raw, '$.eventID'), '') AS event_id,
    nullif(get_json_object(raw, '$.eventName'), '') AS operation,
    coalesce(nullif(get_json_object(raw, '$.userIdentity.arn'), ''), nullif(get_json_object(raw, '$.userIdentity.principalId'), ''), nullif(get_json_object(raw, '$.userIdentity.userName'), ''), nullif(get_json_object(raw, '$.userIdentity.accountId'), ''), nullif(get_json_object(raw, '$.userIdentity.invokedBy'), '')) AS principal,
    nullif(get_json_object(raw, '$.sourceIPAddress'), '') AS src_ip,
    CASE WHEN coalesce(get_json_object(raw, '$.eventName') IN ('RunInstances', 'CreateFunction', 'UpdateFunctionCode'), false) THEN 1 ELSE 0 END AS r1,
    CASE WHEN coalesce(get_json_object(raw, '$.eventName') IN ('CreateUser', 'AttachUserPolicy', 'CreateAccessKey', 'CreateRole'), false) THEN 1 ELSE 0 END AS r2,
    CASE WHEN coalesce(get_json_object(raw, '$.eventName') IN ('AssumeRole', 'AttachUserPolicy'), false) THEN 1 ELSE 0 END AS r3,
    CASE WHEN coalesce(get_json_object(raw, '$.eventName') IN ('StopLogging', 'DeleteTrail', 'PutEventSelectors', 'DisableGuardDuty', 'DeleteDetector'), false) THEN 1 ELSE 0 END AS r4
  FROM cloudtrail
),
flags AS (
  SELECT * FROM cloudtrail_flags
),
scored AS (
  SELECT
    event_time, source, event_id, operation, principal, src_ip,
    CASE WHEN r2 = 1 THEN 1 ELSE 0 END AS iam_change,
    CASE WHEN r4 = 1 THEN 1 ELSE 0 END AS security_disable,
    CASE WHEN r3 = 1 THEN 1 ELSE 0 END AS priv_esc,
    CASE WHEN r1 = 1 THEN 1 ELSE 0 END AS compute_create,
    CASE WHEN r1 = 1 OR r2 = 1 OR r3 = 1 OR r4 = 1 THEN 1 ELSE 0 END AS flagged,
    CAST(r1 * 1 + r2 * 2 + r3 * 2 + r4 * 3 AS DOUBLE) AS suspicion_score
  FROM flags
)
SELECT event_time, source, event_id, operation, principal, src_ip, iam_change, security_disable, priv_esc, compute_create, suspicion_score
FROM scored
WHERE flagged = 1 AND suspicion_score > 0
ORDER BY suspicion_score DESC, event_time ASC NULLS LAST, event_id ASC NULLS LAST
