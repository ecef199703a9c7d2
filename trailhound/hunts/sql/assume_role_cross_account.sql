-- name: assume_role_cross_account
-- title: AssumeRole into another account, and role chains
-- tags: [attack.lateral-movement, attack.t1550.001, attack.privilege-escalation, attack.t1078.004]
-- sources: [cloudtrail]
-- description: >
--   AssumeRole calls whose target role (requestParameters.roleArn) lives in another AWS account
--   than the caller; `chained` is true when the caller is itself an assumed-role session (a hop
--   of a chain), and `calls_as_role` counts the events the resulting session
--   (responseElements.assumedRoleUser.arn) made in the logs read: follow it with
--   `trailhound hunt` on the target account's trail or the timeline of that ARN. AWS services
--   assuming roles for themselves are left out.
WITH ar AS (
    SELECT
        ts,
        principal,
        principal_type,
        coalesce(raw->>'$.userIdentity.accountId', account) AS caller_account,
        raw->>'$.requestParameters.roleArn' AS role_arn,
        split_part(raw->>'$.requestParameters.roleArn', ':', 5) AS role_account,
        raw->>'$.requestParameters.roleSessionName' AS session_name,
        raw->>'$.responseElements.assumedRoleUser.arn' AS session_arn,
        status,
        error_code,
        src_ip,
        event_id
    FROM events
    WHERE source = 'cloudtrail' AND service = 'sts.amazonaws.com' AND operation = 'AssumeRole'
        AND principal_type IS DISTINCT FROM 'AWSService'
),
used AS (
    SELECT principal AS session_arn, count(*) AS calls_as_role
    FROM events
    WHERE source = 'cloudtrail' AND principal IN (SELECT session_arn FROM ar)
    GROUP BY principal
)
SELECT
    ar.ts AS time,
    ar.principal,
    ar.caller_account,
    ar.role_arn,
    ar.role_account,
    coalesce(ar.principal_type = 'AssumedRole', false) AS chained,
    ar.session_name,
    ar.session_arn,
    coalesce(used.calls_as_role, 0) AS calls_as_role,
    ar.status,
    ar.error_code,
    ar.src_ip,
    ar.event_id
FROM ar
LEFT JOIN used USING (session_arn)
WHERE ar.role_account <> '' AND ar.caller_account IS NOT NULL
    AND ar.role_account <> ar.caller_account
ORDER BY ar.ts, ar.principal, ar.event_id;
