-- name: recon_then_tampering
-- title: Recon followed by logging or detector tampering (same principal, 1 hour)
-- tags: [attack.discovery, attack.t1526, attack.defense-evasion, attack.t1562.008, attack.t1562.001]
-- sources: [cloudtrail]
-- description: >
--   Every tampering call (aws_tamper_calls: StopLogging, DeleteTrail, UpdateTrail,
--   PutEventSelectors, DeleteDetector, UpdateDetector, StopConfigurationRecorder,
--   DeleteFlowLogs...) made by a principal that ran recon calls (aws_recon_calls) in the hour
--   before it. Wider than the shipped 30-minute correlation rule (more recon calls, detectors and
--   Config too, one hour); failed tampering attempts are listed with their error code.
WITH tamper AS (
    SELECT e.principal, e.ts, e.operation, e.status, e.error_code, e.src_ip, e.event_id
    FROM events e
    JOIN aws_tamper_calls c ON e.service = c.service AND e.operation = c.operation
    WHERE e.source = 'cloudtrail' AND e.principal IS NOT NULL AND e.ts IS NOT NULL
),
recon AS (
    SELECT e.principal, e.ts, e.operation
    FROM events e
    JOIN aws_recon_calls r ON e.service = r.service AND e.operation = r.operation
    WHERE e.source = 'cloudtrail' AND e.principal IS NOT NULL AND e.ts IS NOT NULL
)
SELECT
    t.principal,
    t.ts AS tamper_time,
    t.operation AS tamper_operation,
    t.status,
    t.error_code,
    count(*) AS recon_calls,
    min(r.ts) AS first_recon,
    list(DISTINCT r.operation ORDER BY r.operation) AS recon_operations,
    t.src_ip,
    t.event_id
FROM tamper t
JOIN recon r
    ON r.principal = t.principal AND r.ts <= t.ts AND r.ts >= t.ts - INTERVAL 1 HOUR
GROUP BY ALL
ORDER BY t.ts, t.principal, t.event_id;
