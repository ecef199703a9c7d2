-- name: gcp_owner_editor_granted
-- title: GCP SetIamPolicy granting roles/owner or roles/editor
-- tags: [attack.privilege-escalation, attack.t1098.003, attack.persistence]
-- sources: [gcp_audit]
-- description: >
--   SetIamPolicy calls (any service) that add a member to roles/owner or roles/editor, the
--   basic roles that reach every resource of the project, folder or organization. Read from
--   protoPayload.serviceData.policyDelta.bindingDeltas (action ADD) when logged (evidence
--   `delta`); otherwise from the policy in the request (evidence `request`: the binding was in
--   the new policy, perhaps already before). One row per granted member and role.
WITH calls AS (
    SELECT *, raw->'$.protoPayload' AS pp
    FROM events
    WHERE source = 'gcp_audit' AND operation LIKE '%SetIamPolicy'
),
deltas AS (
    SELECT c.*, unnest(from_json(pp->'$.serviceData.policyDelta.bindingDeltas', '["json"]')) AS d
    FROM calls c
    WHERE json_array_length(pp->'$.serviceData.policyDelta.bindingDeltas') > 0
),
from_delta AS (
    SELECT ts, principal, pp->>'$.resourceName' AS resource, d->>'$.role' AS role,
        d->>'$.member' AS member, 'delta' AS evidence, status, src_ip, event_id
    FROM deltas
    WHERE d->>'$.action' = 'ADD' AND d->>'$.role' IN ('roles/owner', 'roles/editor')
),
bindings AS (
    SELECT c.*, unnest(from_json(pp->'$.request.policy.bindings', '["json"]')) AS b
    FROM calls c
    WHERE coalesce(json_array_length(pp->'$.serviceData.policyDelta.bindingDeltas'), 0) = 0
        AND json_array_length(pp->'$.request.policy.bindings') > 0
),
members AS (
    SELECT *, unnest(from_json(b->'$.members', '["varchar"]')) AS member
    FROM bindings
    WHERE b->>'$.role' IN ('roles/owner', 'roles/editor')
),
from_request AS (
    SELECT ts, principal, pp->>'$.resourceName' AS resource, b->>'$.role' AS role,
        member, 'request' AS evidence, status, src_ip, event_id
    FROM members
)
SELECT ts AS time, principal, resource, role, member, evidence, status, src_ip, event_id
FROM (SELECT * FROM from_delta UNION ALL SELECT * FROM from_request)
ORDER BY ts, principal, event_id, role, member;
