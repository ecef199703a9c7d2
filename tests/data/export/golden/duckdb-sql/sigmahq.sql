-- trailhound export --to duckdb-sql: pack rules, 12 rule(s)
-- input: one relation per log source, column raw = the record's JSON text
-- r1: 352a918a-34d8-4882-8470-44830c507aa3 Malicious Usage Of IMDS Credentials Outside Of AWS Infrastructure (weight 3, no signal)
-- r2: 055fb148-60f8-462d-ad16-26926ce050f1 AWS User Login Profile Was Modified (weight 3, no signal)
-- r3: db014773-7375-4f4e-b83b-133337c0ffee AWS IAM S3Browser Templated S3 Bucket Policy Creation (weight 3, no signal)
-- r4: 97fbabf8-8e1b-47a2-b7d5-a418d2b95e3d AWS New Lambda Layer Attached (weight 1, no signal)
-- r5: d2656e78-c069-4571-8220-9e0ab5913f19 AWS GuardDuty Detector Deleted Or Updated (weight 3, no signal)
-- r6: 6ad91e31-53df-4826-bd27-0166171c8040 Google Cloud Kubernetes Admission Controller (weight 2, no signal)
-- r7: 13f81a90-a69c-4fab-8f07-b5bb55416a9f Google Cloud Service Account Disabled or Deleted (weight 2, no signal)
-- r8: 76737c19-66ee-4c07-b65a-a03301d1573d GCP Break-glass Container Workload Deployed (weight 2, no signal)
-- r9: 60de9b57-dc4d-48b9-a6a0-b39e0469f876 Disabling Multi Factor Authentication (weight 3, no signal)
-- r10: 11c767ae-500b-423b-bae3-b234450736ed Users Added to Global or Device Admin Roles (weight 3, no signal)
-- r11: a622fcd2-4b5a-436a-b8a2-a4171161833c Granting Of Permissions To An Account (weight 2, no signal)
-- r12: d2d901db-7a75-45a1-bc39-0cbf00812192 Number Of Resource Creation Or Deployment Activities (weight 2, no signal)
WITH cloudtrail_flags AS (
  SELECT
    coalesce(nullif(json_extract_string(raw, '$.eventTime'), ''), nullif(json_extract_string(raw, '$."@timestamp"'), '')) AS event_time,
    'cloudtrail' AS source,
    nullif(json_extract_string(raw, '$.eventID'), '') AS event_id,
    nullif(json_extract_string(raw, '$.eventName'), '') AS operation,
    coalesce(nullif(json_extract_string(raw, '$.userIdentity.arn'), ''), nullif(json_extract_string(raw, '$.userIdentity.principalId'), ''), nullif(json_extract_string(raw, '$.userIdentity.userName'), ''), nullif(json_extract_string(raw, '$.userIdentity.accountId'), ''), nullif(json_extract_string(raw, '$.userIdentity.invokedBy'), '')) AS principal,
    nullif(json_extract_string(raw, '$.sourceIPAddress'), '') AS src_ip,
    CASE WHEN coalesce(regexp_matches(json_extract_string(raw, '$.userIdentity.arn'), '.+:assumed-role/aws:.+'), false) AND NOT (coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'ssm.amazonaws.com', false) OR coalesce(lower(json_extract_string(raw, '$.eventName')) = 'registermanagedinstance', false) OR coalesce(lower(json_extract_string(raw, '$.sourceIPAddress')) = 'aws internal', false)) THEN 1 ELSE 0 END AS r1,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'iam.amazonaws.com', false) AND coalesce(lower(json_extract_string(raw, '$.eventName')) = 'updateloginprofile', false)) AND NOT coalesce(lower(json_extract_string(raw, '$.userIdentity.arn')) = lower(json_extract_string(raw, '$.requestParameters.userName')), false) THEN 1 ELSE 0 END AS r2,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'iam.amazonaws.com', false) AND coalesce(lower(json_extract_string(raw, '$.eventName')) = 'putuserpolicy', false) AND coalesce(lower(json_extract_string(raw, '$.userAgent')) LIKE '%s3 browser%' ESCAPE '!', false) AND (coalesce(lower(json_extract_string(raw, '$.requestParameters')) LIKE '%"arn:aws:s3:::<your-bucket-name>/%"%' ESCAPE '!', false) AND coalesce(lower(json_extract_string(raw, '$.requestParameters')) LIKE '%"s3:getobject"%' ESCAPE '!', false) AND coalesce(lower(json_extract_string(raw, '$.requestParameters')) LIKE '%"allow"%' ESCAPE '!', false)) THEN 1 ELSE 0 END AS r3,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'lambda.amazonaws.com', false) AND coalesce(lower(json_extract_string(raw, '$.eventName')) LIKE 'updatefunctionconfiguration%' ESCAPE '!', false) AND coalesce(json_extract_string(raw, '$.requestParameters.layers') IS NOT NULL, false) THEN 1 ELSE 0 END AS r4,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'guardduty.amazonaws.com', false) AND (coalesce(lower(json_extract_string(raw, '$.eventName')) = 'deletedetector', false) OR (coalesce(lower(json_extract_string(raw, '$.eventName')) = 'updatedetector', false) AND coalesce(lower(json_extract_string(raw, '$.requestParameters.enable')) = 'false', false))) AND (coalesce(lower(json_extract_string(raw, '$.errorCode')) = 'success', false) OR coalesce(json_extract_string(raw, '$.errorCode') IS NULL, false)) THEN 1 ELSE 0 END AS r5,
    0 AS r6,
    0 AS r7,
    0 AS r8,
    0 AS r9,
    0 AS r10,
    0 AS r11,
    0 AS r12
  FROM cloudtrail
),
azure_activity_flags AS (
  SELECT
    coalesce(nullif(json_extract_string(raw, '$.time'), ''), nullif(json_extract_string(raw, '$.eventTimestamp'), ''), nullif(json_extract_string(raw, '$.event_timestamp'), ''), nullif(json_extract_string(raw, '$.TimeGenerated'), '')) AS event_time,
    'azure_activity' AS source,
    coalesce(nullif(json_extract_string(raw, '$.eventDataId'), ''), nullif(json_extract_string(raw, '$.event_data_id'), ''), nullif(json_extract_string(raw, '$.EventDataId'), '')) AS event_id,
    coalesce(nullif(json_extract_string(raw, '$.operationName.value'), ''), nullif(json_extract_string(raw, '$.operationName'), ''), nullif(json_extract_string(raw, '$.operation_name.value'), ''), nullif(json_extract_string(raw, '$.OperationNameValue'), '')) AS operation,
    coalesce(nullif(json_extract_string(raw, '$.caller'), ''), nullif(json_extract_string(raw, '$.Caller'), '')) AS principal,
    coalesce(nullif(json_extract_string(raw, '$.callerIpAddress'), ''), nullif(json_extract_string(raw, '$.httpRequest.clientIpAddress'), ''), nullif(json_extract_string(raw, '$.http_request.client_ip_address'), ''), nullif(json_extract_string(raw, '$.HTTPRequest.clientIpAddress'), '')) AS src_ip,
    0 AS r1,
    0 AS r2,
    0 AS r3,
    0 AS r4,
    0 AS r5,
    0 AS r6,
    0 AS r7,
    0 AS r8,
    0 AS r9,
    0 AS r10,
    CASE WHEN coalesce(lower(raw) LIKE '%microsoft.authorization/roleassignments/write%' ESCAPE '!', false) THEN 1 ELSE 0 END AS r11,
    CASE WHEN coalesce(lower(raw) LIKE '%microsoft.compute/virtualmachines/write%' ESCAPE '!', false) OR coalesce(lower(raw) LIKE '%microsoft.resources/deployments/write%' ESCAPE '!', false) THEN 1 ELSE 0 END AS r12
  FROM azure_activity
),
entra_audit_flags AS (
  SELECT
    coalesce(nullif(json_extract_string(raw, '$.properties.activityDateTime'), ''), nullif(json_extract_string(raw, '$.activityDateTime'), ''), nullif(json_extract_string(raw, '$.ActivityDateTime'), ''), nullif(json_extract_string(raw, '$.time'), ''), nullif(json_extract_string(raw, '$.TimeGenerated'), '')) AS event_time,
    'entra_audit' AS source,
    coalesce(nullif(json_extract_string(raw, '$.properties.id'), ''), nullif(json_extract_string(raw, '$.id'), ''), nullif(json_extract_string(raw, '$.Id'), '')) AS event_id,
    coalesce(nullif(json_extract_string(raw, '$.properties.activityDisplayName'), ''), nullif(json_extract_string(raw, '$.activityDisplayName'), ''), nullif(json_extract_string(raw, '$.ActivityDisplayName'), ''), nullif(json_extract_string(raw, '$.operationName'), ''), nullif(json_extract_string(raw, '$.OperationName'), '')) AS operation,
    coalesce(nullif(json_extract_string(raw, '$.properties.initiatedBy.user.userPrincipalName'), ''), nullif(json_extract_string(raw, '$.initiatedBy.user.userPrincipalName'), ''), nullif(json_extract_string(raw, '$.properties.initiatedBy.app.displayName'), ''), nullif(json_extract_string(raw, '$.initiatedBy.app.displayName'), '')) AS principal,
    coalesce(nullif(json_extract_string(raw, '$.properties.initiatedBy.user.ipAddress'), ''), nullif(json_extract_string(raw, '$.initiatedBy.user.ipAddress'), ''), nullif(json_extract_string(raw, '$.callerIpAddress'), '')) AS src_ip,
    0 AS r1,
    0 AS r2,
    0 AS r3,
    0 AS r4,
    0 AS r5,
    0 AS r6,
    0 AS r7,
    0 AS r8,
    0 AS r9,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.category')) = 'rolemanagement', false) OR coalesce(lower(json_extract_string(raw, '$.properties.category')) = 'rolemanagement', false) OR coalesce(lower(json_extract_string(raw, '$.Category')) = 'rolemanagement', false)) AND ((coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE '%add%' ESCAPE '!', false) AND coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE '%member to role%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE '%add%' ESCAPE '!', false) AND coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE '%member to role%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE '%add%' ESCAPE '!', false) AND coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE '%member to role%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE '%add%' ESCAPE '!', false) AND coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE '%member to role%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE '%add%' ESCAPE '!', false) AND coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE '%member to role%' ESCAPE '!', false))) AND ((coalesce(lower(json_extract_string(raw, '$.targetResources')) LIKE '%7698a772-787b-4ac8-901f-60d6b08affd2%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.targetResources')) LIKE '%62e90394-69f5-4237-9190-012177145e10%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.properties.targetResources')) LIKE '%7698a772-787b-4ac8-901f-60d6b08affd2%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.properties.targetResources')) LIKE '%62e90394-69f5-4237-9190-012177145e10%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.TargetResources')) LIKE '%7698a772-787b-4ac8-901f-60d6b08affd2%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.TargetResources')) LIKE '%62e90394-69f5-4237-9190-012177145e10%' ESCAPE '!', false))) THEN 1 ELSE 0 END AS r10,
    0 AS r11,
    0 AS r12
  FROM entra_audit
),
gcp_audit_flags AS (
  SELECT
    nullif(json_extract_string(raw, '$.timestamp'), '') AS event_time,
    'gcp_audit' AS source,
    nullif(json_extract_string(raw, '$.insertId'), '') AS event_id,
    nullif(json_extract_string(raw, '$.protoPayload.methodName'), '') AS operation,
    coalesce(nullif(json_extract_string(raw, '$.protoPayload.authenticationInfo.principalEmail'), ''), nullif(json_extract_string(raw, '$.protoPayload.authenticationInfo.principalSubject'), '')) AS principal,
    nullif(json_extract_string(raw, '$.protoPayload.requestMetadata.callerIp'), '') AS src_ip,
    0 AS r1,
    0 AS r2,
    0 AS r3,
    0 AS r4,
    0 AS r5,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE 'admissionregistration.k8s.io.v%' ESCAPE '!', false) AND (coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE '%.mutatingwebhookconfigurations.%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE '%.validatingwebhookconfigurations.%' ESCAPE '!', false)) AND (coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE '%create' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE '%patch' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE '%replace' ESCAPE '!', false)) THEN 1 ELSE 0 END AS r6,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE '%.serviceaccounts.disable' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE '%.serviceaccounts.delete' ESCAPE '!', false) THEN 1 ELSE 0 END AS r7,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.resource.type')) = 'k8s_cluster', false) AND (coalesce(lower(json_extract_string(raw, '$.logName')) IN ('cloudaudit.googleapis.com/activity', 'cloudaudit.googleapis.com%2factivity'), false)) AND coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) = 'io.k8s.core.v1.pods.create', false)) AND coalesce(lower(raw) LIKE '%image-policy.k8s.io/break-glass%' ESCAPE '!', false) THEN 1 ELSE 0 END AS r8,
    0 AS r9,
    0 AS r10,
    0 AS r11,
    0 AS r12
  FROM gcp_audit
),
m365_audit_flags AS (
  SELECT
    coalesce(nullif(json_extract_string(raw, '$.CreationTime'), ''), nullif(json_extract_string(raw, '$.TimeGenerated'), '')) AS event_time,
    'm365_audit' AS source,
    coalesce(nullif(json_extract_string(raw, '$.Id'), ''), nullif(json_extract_string(raw, '$.OfficeId'), '')) AS event_id,
    nullif(json_extract_string(raw, '$.Operation'), '') AS operation,
    nullif(json_extract_string(raw, '$.UserId'), '') AS principal,
    coalesce(nullif(json_extract_string(raw, '$.ClientIP'), ''), nullif(json_extract_string(raw, '$.ClientIPAddress'), ''), nullif(json_extract_string(raw, '$.Client_IPAddress'), ''), nullif(json_extract_string(raw, '$.ActorIpAddress'), '')) AS src_ip,
    0 AS r1,
    0 AS r2,
    0 AS r3,
    0 AS r4,
    0 AS r5,
    0 AS r6,
    0 AS r7,
    0 AS r8,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE '%disable strong authentication.%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) LIKE '%disable strong authentication.%' ESCAPE '!', false) THEN 1 ELSE 0 END AS r9,
    0 AS r10,
    0 AS r11,
    0 AS r12
  FROM m365_audit
),
flags AS (
  SELECT * FROM cloudtrail_flags
  UNION ALL SELECT * FROM azure_activity_flags
  UNION ALL SELECT * FROM entra_audit_flags
  UNION ALL SELECT * FROM gcp_audit_flags
  UNION ALL SELECT * FROM m365_audit_flags
),
scored AS (
  SELECT
    event_time, source, event_id, operation, principal, src_ip,
    CASE WHEN r1 = 1 OR r2 = 1 OR r3 = 1 OR r4 = 1 OR r5 = 1 OR r6 = 1 OR r7 = 1 OR r8 = 1 OR r9 = 1 OR r10 = 1 OR r11 = 1 OR r12 = 1 THEN 1 ELSE 0 END AS flagged,
    CAST(r1 * 3 + r2 * 3 + r3 * 3 + r4 * 1 + r5 * 3 + r6 * 2 + r7 * 2 + r8 * 2 + r9 * 3 + r10 * 3 + r11 * 2 + r12 * 2 AS DOUBLE) AS suspicion_score
  FROM flags
)
SELECT event_time, source, event_id, operation, principal, src_ip, suspicion_score
FROM scored
WHERE flagged = 1 AND suspicion_score > 0
ORDER BY suspicion_score DESC, event_time ASC NULLS LAST, event_id ASC NULLS LAST
