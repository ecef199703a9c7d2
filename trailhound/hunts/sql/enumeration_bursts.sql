-- name: enumeration_bursts
-- title: Enumeration bursts (List*, Describe*, Get* per principal, 10 minutes)
-- tags: [attack.discovery, attack.t1580, attack.t1526, attack.t1087.004, attack.t1069.003]
-- sources: []
-- description: >
--   Principals that made at least 20 read calls covering at least 5 different operations within
--   10 minutes: AWS management events named List*, Describe* or Get* (S3 and Lambda data events
--   are left out), GCP methods whose last part starts with list or get, Azure `.../read`
--   operations. Tools such as Pacu, ScoutSuite, CloudFox or a stolen-key `aws ... list-*` loop
--   look like this; so do posture scanners and the console (check the user agent). One row per
--   principal: its busiest window.
WITH reads AS (
    SELECT principal, ts, operation, service
    FROM events
    WHERE principal IS NOT NULL AND ts IS NOT NULL AND operation IS NOT NULL
        AND (
            (source = 'cloudtrail'
                AND regexp_matches(operation, '^(List|Describe|Get)')
                AND coalesce(raw->>'$.eventCategory', 'Management') = 'Management')
            OR (source = 'gcp_audit'
                AND regexp_matches(lower(regexp_extract(operation, '[^.]*$')), '^(list|get)'))
            OR (source = 'azure_activity' AND lower(operation) LIKE '%/read')
        )
),
windows AS (
    SELECT principal, ts,
        count(*) OVER w AS calls,
        count(DISTINCT operation) OVER w AS operations,
        max(ts) OVER w AS window_end
    FROM reads
    WINDOW w AS (PARTITION BY principal ORDER BY ts
                 RANGE BETWEEN CURRENT ROW AND INTERVAL 10 MINUTE FOLLOWING)
),
top AS (
    SELECT principal, ts AS window_start, window_end, calls, operations
    FROM windows
    WHERE calls >= 20 AND operations >= 5
    QUALIFY row_number() OVER (PARTITION BY principal ORDER BY calls DESC, ts) = 1
)
SELECT
    t.principal,
    t.window_start,
    t.window_end,
    t.calls,
    t.operations,
    list(DISTINCT r.service ORDER BY r.service) FILTER (WHERE r.service IS NOT NULL) AS services
FROM top t
JOIN reads r ON r.principal = t.principal AND r.ts BETWEEN t.window_start AND t.window_end
GROUP BY ALL
ORDER BY t.calls DESC, t.window_start, t.principal;
