-- name: failed_then_succeeded
-- title: Privileged calls that failed, then succeeded (same principal, 1 hour)
-- tags: [attack.privilege-escalation, attack.t1098, attack.discovery, attack.t1580]
-- sources: []
-- description: >
--   A principal whose privileged call (privileged_operations: IAM user, key and policy changes,
--   role assumption, logging changes, Azure role assignments, GCP SetIamPolicy, Entra role
--   grants...) was denied one or more times and then went through within the hour: trial and
--   error until a permission, a role or a stolen credential worked. One row per success that
--   ends a run of failures (failures since the principal's previous success of that operation).
--   Azure's Started/Accepted records are neither failures nor successes here.
WITH priv AS (
    SELECT e.principal, e.operation, e.ts, e.status, e.error_code, e.event_id, e.src_ip
    FROM events e
    WHERE e.principal IS NOT NULL AND e.ts IS NOT NULL AND e.operation IS NOT NULL
        AND e.status IN ('success', 'failure')
        AND EXISTS (SELECT 1 FROM privileged_operations p WHERE lower(e.operation) LIKE p.pattern)
),
succ AS (
    SELECT s.*,
        (SELECT max(p.ts) FROM priv p
         WHERE p.principal = s.principal AND p.operation = s.operation
           AND p.status = 'success' AND p.ts < s.ts) AS previous_success
    FROM priv s
    WHERE s.status = 'success'
)
SELECT
    s.principal,
    s.operation,
    count(*) AS failures,
    min(f.ts) AS first_failure,
    s.ts AS succeeded_at,
    list(DISTINCT f.error_code ORDER BY f.error_code) FILTER (WHERE f.error_code IS NOT NULL)
        AS error_codes,
    s.src_ip,
    s.event_id
FROM succ s
JOIN priv f
    ON f.principal = s.principal AND f.operation = s.operation AND f.status = 'failure'
    AND f.ts < s.ts AND f.ts >= s.ts - INTERVAL 1 HOUR
    AND (s.previous_success IS NULL OR f.ts > s.previous_success)
GROUP BY ALL
ORDER BY s.ts, s.principal, s.operation, s.event_id;
