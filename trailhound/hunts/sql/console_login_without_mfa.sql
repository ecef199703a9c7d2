-- name: console_login_without_mfa
-- title: AWS console logins without MFA (IAM users and root)
-- tags: [attack.initial-access, attack.t1078.004, attack.credential-access, attack.t1110]
-- sources: [cloudtrail]
-- description: >
--   ConsoleLogin events of IAM users and the root user with additionalEventData.MFAUsed = "No":
--   a password alone opened the console. Failed attempts are listed too (result Failure: password
--   guessing or spraying). Federated (SAML/SSO) logins are left out: their MFA happens at the
--   identity provider and CloudTrail always says "No" for them.
SELECT
    ts AS time,
    principal,
    principal_type,
    coalesce(raw->>'$.responseElements.ConsoleLogin', status) AS result,
    error_message,
    src_ip,
    user_agent,
    account,
    event_id
FROM events
WHERE source = 'cloudtrail'
    AND operation = 'ConsoleLogin'
    AND principal_type IN ('IAMUser', 'Root')
    AND raw->>'$.additionalEventData.MFAUsed' = 'No'
ORDER BY ts, principal, event_id;
