-- name: recon_without_tampering
-- title: Trail and identity recon bursts, no tampering after
-- tags: [attack.discovery, attack.t1526, attack.t1087.004, attack.t1518.001]
-- sources: [cloudtrail]
-- description: >
--   Principals that made at least 3 read-only recon calls (aws_recon_calls: GetTrailStatus,
--   DescribeTrails, ListUsers, ListRoles, GetAccountAuthorizationDetails...) within 10 minutes
--   and did not touch logging or detectors (aws_tamper_calls) at or after the burst. One row per
--   principal: its busiest 10-minute burst. This is the quiet half of the recon-then-tamper
--   pattern: an intruder mapping what is logged, or a posture tool; check the user agent and the
--   source IP against the principal's usual ones (hunt new_source_for_principal).
WITH recon AS (
    SELECT e.principal, e.ts, e.operation, e.src_ip, e.account
    FROM events e
    JOIN aws_recon_calls r ON e.service = r.service AND e.operation = r.operation
    WHERE e.source = 'cloudtrail' AND e.principal IS NOT NULL AND e.ts IS NOT NULL
),
windows AS (
    SELECT *,
        count(*) OVER w AS calls,
        max(ts) OVER w AS burst_end
    FROM recon
    WINDOW w AS (PARTITION BY principal ORDER BY ts
                 RANGE BETWEEN CURRENT ROW AND INTERVAL 10 MINUTE FOLLOWING)
),
top AS (  -- each principal's busiest window, the earliest on a tie
    SELECT principal, ts AS burst_start, burst_end, calls
    FROM windows
    WHERE calls >= 3
    QUALIFY row_number() OVER (PARTITION BY principal ORDER BY calls DESC, ts) = 1
)
SELECT
    t.principal,
    t.burst_start,
    t.burst_end,
    t.calls,
    list(DISTINCT r.operation ORDER BY r.operation) AS operations,
    list(DISTINCT r.src_ip ORDER BY r.src_ip) FILTER (WHERE r.src_ip IS NOT NULL) AS source_ips,
    min(r.account) AS account
FROM top t
JOIN recon r ON r.principal = t.principal AND r.ts BETWEEN t.burst_start AND t.burst_end
WHERE NOT EXISTS (
    SELECT 1
    FROM events x
    JOIN aws_tamper_calls c ON x.service = c.service AND x.operation = c.operation
    WHERE x.source = 'cloudtrail' AND x.principal = t.principal AND x.ts >= t.burst_start
)
GROUP BY ALL
ORDER BY t.calls DESC, t.burst_start, t.principal;
