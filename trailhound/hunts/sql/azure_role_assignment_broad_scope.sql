-- name: azure_role_assignment_broad_scope
-- title: Azure role assignments at subscription, management-group or root scope
-- tags: [attack.privilege-escalation, attack.t1098.003, attack.persistence]
-- sources: [azure_activity]
-- description: >
--   Microsoft.Authorization/roleAssignments/write whose scope (the resource id without its
--   /providers/Microsoft.Authorization/roleAssignments/<id> tail) is a whole subscription, a
--   management group or the tenant root, rather than a resource group or a resource: such a
--   grant reaches every resource below it. Only final records (succeeded or failed; the Started
--   and Accepted copies of the same operation are left out). role_definition and assignee come
--   from properties.requestbody when the export keeps it.
WITH ra AS (
    SELECT *,
        coalesce(raw->>'$.resourceId', raw->>'$.ResourceId', raw->>'$._ResourceId',
                 raw->>'$.resource_id') AS resource_id,
        coalesce(raw->>'$.properties.requestbody', raw->>'$.Properties_d.requestbody',
                 raw->>'$.properties.requestBody') AS body
    FROM events
    WHERE source = 'azure_activity'
        AND lower(operation) = 'microsoft.authorization/roleassignments/write'
        AND status IN ('success', 'failure')
),
scoped AS (
    SELECT *,
        regexp_replace(lower(resource_id),
            '/providers/microsoft\.authorization/roleassignments/[^/]*$', '') AS scope
    FROM ra
)
SELECT
    ts AS time,
    principal,
    CASE
        WHEN scope IN ('', '/') THEN 'root'
        WHEN regexp_matches(scope, '^/providers/microsoft\.management/managementgroups/[^/]+$')
            THEN 'management_group'
        ELSE 'subscription'
    END AS scope_level,
    scope,
    coalesce(try(json_extract_string(body, '$.properties.roleDefinitionId')),
             try(json_extract_string(body, '$.Properties.RoleDefinitionId'))) AS role_definition,
    coalesce(try(json_extract_string(body, '$.properties.principalId')),
             try(json_extract_string(body, '$.Properties.PrincipalId'))) AS assignee,
    status,
    src_ip,
    account,
    event_id
FROM scoped
WHERE resource_id IS NOT NULL
    AND (scope IN ('', '/')
         OR regexp_matches(scope, '^/subscriptions/[^/]+$')
         OR regexp_matches(scope, '^/providers/microsoft\.management/managementgroups/[^/]+$'))
ORDER BY ts, principal, event_id;
