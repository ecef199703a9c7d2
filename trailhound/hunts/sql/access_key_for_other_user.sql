-- name: access_key_for_other_user
-- title: Access keys created for another IAM user
-- tags: [attack.persistence, attack.t1098.001, attack.privilege-escalation]
-- sources: [cloudtrail]
-- description: >
--   CreateAccessKey calls whose target user (requestParameters.userName) is not the caller
--   itself: an IAM user minting keys for someone else, or any role or root doing it. Keys made for
--   another user are a classic persistence step (the intruder keeps access when the first key
--   is revoked) and a privilege-escalation path (iam:CreateAccessKey on a more powerful user).
--   Failed attempts are listed too (status, error_code).
SELECT
    ts AS time,
    principal,
    principal_type,
    raw->>'$.requestParameters.userName' AS target_user,
    raw->>'$.responseElements.accessKey.accessKeyId' AS access_key_id,
    status,
    error_code,
    src_ip,
    user_agent,
    account,
    event_id
FROM events
WHERE source = 'cloudtrail'
    AND service = 'iam.amazonaws.com'
    AND operation = 'CreateAccessKey'
    AND raw->>'$.requestParameters.userName' IS NOT NULL
    AND raw->>'$.requestParameters.userName' IS DISTINCT FROM raw->>'$.userIdentity.userName'
ORDER BY ts, principal, event_id;
