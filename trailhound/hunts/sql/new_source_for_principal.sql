-- name: new_source_for_principal
-- title: First-seen source IP or user agent of a known principal
-- tags: [attack.initial-access, attack.t1078.004, attack.credential-access, attack.t1528]
-- sources: []
-- description: >
--   For every principal, each source IP and each user agent first seen more than 1 hour after
--   the principal's own first event in the logs read: the principal was established from
--   elsewhere, then something new used its identity. Stolen access keys show up as a new IP with
--   a new agent (often a different CLI, SDK or Python version) on an old principal. The first
--   hour is the baseline (a console session alone brings a dozen agents in its first minutes);
--   AWS's own values (`AWS Internal`, `*.amazonaws.com`) are left out. Read as much history as
--   you have: the baseline is only as good as the window.
WITH firsts AS (
    SELECT principal, min(ts) AS principal_first
    FROM events
    WHERE principal IS NOT NULL AND ts IS NOT NULL
    GROUP BY principal
),
seen AS (  -- one row per (principal, kind, value): UNPIVOT turns the two columns into rows
    SELECT principal, kind, value,
        min(ts) AS first_seen, max(ts) AS last_seen, count(*) AS events
    FROM (
        UNPIVOT (
            SELECT principal, ts, src_ip AS source_ip, user_agent
            FROM events
            WHERE principal IS NOT NULL AND ts IS NOT NULL
        ) ON source_ip, user_agent INTO NAME kind VALUE value
    )
    WHERE value <> 'AWS Internal' AND value NOT LIKE '%.amazonaws.com'
    GROUP BY ALL
)
SELECT s.principal, s.kind, s.value, s.first_seen, s.last_seen, s.events, f.principal_first
FROM seen s
JOIN firsts f USING (principal)
WHERE s.first_seen > f.principal_first + INTERVAL 1 HOUR
ORDER BY s.first_seen, s.principal, s.kind, s.value;
