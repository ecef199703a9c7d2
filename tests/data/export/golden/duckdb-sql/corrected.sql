-- trailhound export --to duckdb-sql: pack corrected, 23 rule(s)
-- input: one relation per log source, column raw = the record's JSON text
-- 7 base rule(s) of correlations not exported: they only feed a correlation and never count on their own
-- correlation rules not exported (their events lack the correlation's weight): AWS CloudTrail recon followed by trail tampering (same principal, 30 minutes), AWS IAM enumeration followed by an identity or permission change (same principal, 30 minutes), Azure role assignments enumerated, then a role granted or defined (same caller, 30 minutes), Azure CLI sign-in, then role assignments enumerated and a role granted (same user, 1 hour)
-- r1: c7f65315-b613-58c3-91fe-58f6bcb02b60 AWS compute created or code replaced (weight 1, compute_create)
-- r2: f81470b2-b473-5d37-a3c4-9c69f8516870 AWS call failed (context: lowers the score of flagged events) (weight -0.5, context)
-- r3: e39dec0c-629d-5b13-9d4a-9048703ef508 AWS identity or access policy created or changed (weight 2, iam_change)
-- r4: 7a81c666-1d2a-5990-b450-8eb64f719274 AWS permissions granted or credentials minted (weight 2, priv_esc)
-- r5: 70becef3-34ae-5677-8c6a-859c3172b43c AWS logging or threat detection disabled (weight 3, security_disable)
-- r6: 283c5e58-06e8-575a-bc2e-69d5b3d00f92 Azure VM created or command run on it (weight 1, compute_create)
-- r7: 1c9aaa7c-ce96-5091-9da3-1b21600a82dd Azure operation failed (context: lowers the score of flagged events) (weight -0.5, context)
-- r8: 03ee776e-466b-53e9-8d1d-740be02ff0c3 Azure custom role defined or changed (weight 2, iam_change)
-- r9: 0b9b0244-68b5-5207-bc2f-59bb54140eb4 Azure role assigned or access elevated (weight 2, priv_esc)
-- r10: 7fdd41c9-ecea-519b-9bce-60ed0ef4b98d Azure activity logging or policy protection removed (weight 3, security_disable)
-- r11: 9ac8c6e0-c0ae-53a6-b706-1f77acefa881 Entra ID operation failed (context: lowers the score of flagged events) (weight -0.5, context)
-- r12: 866154a2-ff46-5927-b175-aec0975d6d5a Entra ID user, group membership or application credential added (weight 2, iam_change)
-- r13: 562b4a66-5ff9-5607-a199-4e132a8b847b Entra ID role granted, consent given or access elevated (weight 2, priv_esc)
-- r14: 595c4882-8624-51e9-be1e-eff79340c84c Entra ID conditional access policy deleted (weight 3, security_disable)
-- r15: fd80a1fb-5d36-5a0c-b552-5188b9ca7a16 GCP compute instance or cloud function created (weight 1, compute_create)
-- r16: 5362773f-084f-5b13-a87c-4f0907a2828d GCP call failed (context: lowers the score of flagged events) (weight -0.5, context)
-- r17: cc90519c-50f1-5c8f-9bfb-a54b7989632f GCP service account, key or role created (weight 2, iam_change)
-- r18: 44938d75-848e-5b15-bff4-96a3d1f0bf99 GCP IAM policy changed or service account impersonated (weight 2, priv_esc)
-- r19: 03dbf2f7-38e2-5888-b167-0daf1a723728 GCP audit log sink or log deleted (weight 3, security_disable)
-- r20: 35135865-11d2-457d-b6d8-6e3095caaf00 Microsoft 365 operation failed (context: lowers the score of flagged events) (weight -0.5, context)
-- r21: 9b12048b-6d6a-4653-a3da-3ae1d2735d13 Microsoft 365: user, group member, application or service principal credential added (weight 2, iam_change)
-- r22: 944d20d5-3871-4b9a-a14a-43a41121e12a Microsoft 365: admin role granted, mailbox FullAccess / SendAs granted or app consent (weight 2, priv_esc)
-- r23: 299c9ecb-79cd-4bec-8c45-f81905cb8281 Microsoft 365 audit logging, mailbox auditing, DLP or alert policy turned off (weight 3, security_disable)
-- f1: filter 71301478-8ca6-5a09-9bcf-886a3d57eb6c Allowlist: AWS services acting for themselves
WITH cloudtrail_filtered AS (
  SELECT raw,
    CASE WHEN NOT coalesce(lower(json_extract_string(raw, '$.userIdentity.type')) = 'awsservice', false) THEN 1 ELSE 0 END AS f1
  FROM cloudtrail
),
cloudtrail_flags AS (
  SELECT
    coalesce(nullif(json_extract_string(raw, '$.eventTime'), ''), nullif(json_extract_string(raw, '$."@timestamp"'), '')) AS event_time,
    'cloudtrail' AS source,
    nullif(json_extract_string(raw, '$.eventID'), '') AS event_id,
    nullif(json_extract_string(raw, '$.eventName'), '') AS operation,
    coalesce(nullif(json_extract_string(raw, '$.userIdentity.arn'), ''), nullif(json_extract_string(raw, '$.userIdentity.principalId'), ''), nullif(json_extract_string(raw, '$.userIdentity.userName'), ''), nullif(json_extract_string(raw, '$.userIdentity.accountId'), ''), nullif(json_extract_string(raw, '$.userIdentity.invokedBy'), '')) AS principal,
    nullif(json_extract_string(raw, '$.sourceIPAddress'), '') AS src_ip,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'ec2.amazonaws.com', false) AND (coalesce(lower(json_extract_string(raw, '$.eventName')) IN ('runinstances', 'createkeypair', 'importkeypair'), false))) OR (coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'lambda.amazonaws.com', false) AND (coalesce(lower(json_extract_string(raw, '$.eventName')) IN ('createfunction', 'updatefunctioncode'), false) OR coalesce(lower(json_extract_string(raw, '$.eventName')) LIKE 'createfunction20%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.eventName')) LIKE 'updatefunctioncode20%' ESCAPE '!', false))) THEN 1 ELSE 0 END AS r1,
    CASE WHEN coalesce(json_exists(raw, '$.errorCode'), false) AND NOT (coalesce(lower(json_extract_string(raw, '$.errorCode')) = '', false) OR coalesce(json_extract_string(raw, '$.errorCode') IS NULL, false)) THEN 1 ELSE 0 END AS r2,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'iam.amazonaws.com', false) AND (coalesce(lower(json_extract_string(raw, '$.eventName')) IN ('createuser', 'createaccesskey', 'createrole', 'createloginprofile', 'creategroup', 'addusertogroup'), false))) OR (coalesce(lower(json_extract_string(raw, '$.eventSource')) = 's3.amazonaws.com', false) AND (coalesce(lower(json_extract_string(raw, '$.eventName')) IN ('putbucketpolicy', 'deletebucketpolicy'), false))) THEN 1 ELSE 0 END AS r3,
    CASE WHEN ((coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'iam.amazonaws.com', false) AND (coalesce(lower(json_extract_string(raw, '$.eventName')) IN ('attachuserpolicy', 'attachrolepolicy', 'attachgrouppolicy', 'putuserpolicy', 'putrolepolicy', 'putgrouppolicy'), false))) OR (coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'sts.amazonaws.com', false) AND (coalesce(lower(json_extract_string(raw, '$.eventName')) IN ('assumerole', 'getsessiontoken'), false)))) AND f1 = 1 THEN 1 ELSE 0 END AS r4,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'cloudtrail.amazonaws.com', false) AND (coalesce(lower(json_extract_string(raw, '$.eventName')) IN ('stoplogging', 'deletetrail', 'updatetrail', 'puteventselectors'), false))) OR ((coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'guardduty.amazonaws.com', false) AND coalesce(lower(json_extract_string(raw, '$.eventName')) = 'deletedetector', false)) OR (coalesce(lower(json_extract_string(raw, '$.eventSource')) = 'guardduty.amazonaws.com', false) AND coalesce(lower(json_extract_string(raw, '$.eventName')) = 'updatedetector', false) AND coalesce(lower(json_extract_string(raw, '$.requestParameters.enable')) = 'false', false))) THEN 1 ELSE 0 END AS r5,
    0 AS r6,
    0 AS r7,
    0 AS r8,
    0 AS r9,
    0 AS r10,
    0 AS r11,
    0 AS r12,
    0 AS r13,
    0 AS r14,
    0 AS r15,
    0 AS r16,
    0 AS r17,
    0 AS r18,
    0 AS r19,
    0 AS r20,
    0 AS r21,
    0 AS r22,
    0 AS r23
  FROM cloudtrail_filtered
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
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.operationName')) IN ('microsoft.compute/virtualmachines/write', 'microsoft.compute/virtualmachines/runcommand/action'), false)) OR (coalesce(lower(json_extract_string(raw, '$.operationName.value')) IN ('microsoft.compute/virtualmachines/write', 'microsoft.compute/virtualmachines/runcommand/action'), false)) OR (coalesce(lower(json_extract_string(raw, '$.operation_name.value')) IN ('microsoft.compute/virtualmachines/write', 'microsoft.compute/virtualmachines/runcommand/action'), false)) OR (coalesce(lower(json_extract_string(raw, '$.OperationNameValue')) IN ('microsoft.compute/virtualmachines/write', 'microsoft.compute/virtualmachines/runcommand/action'), false)) THEN 1 ELSE 0 END AS r6,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.resultType')) IN ('failure', 'failed'), false)) OR (coalesce(lower(json_extract_string(raw, '$.status.value')) IN ('failure', 'failed'), false)) OR (coalesce(lower(json_extract_string(raw, '$.ActivityStatusValue')) IN ('failure', 'failed'), false)) OR (coalesce(lower(json_extract_string(raw, '$.ActivityStatus')) IN ('failure', 'failed'), false)) THEN 1 ELSE 0 END AS r7,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.operationName')) = 'microsoft.authorization/roledefinitions/write', false) OR coalesce(lower(json_extract_string(raw, '$.operationName.value')) = 'microsoft.authorization/roledefinitions/write', false) OR coalesce(lower(json_extract_string(raw, '$.operation_name.value')) = 'microsoft.authorization/roledefinitions/write', false) OR coalesce(lower(json_extract_string(raw, '$.OperationNameValue')) = 'microsoft.authorization/roledefinitions/write', false) THEN 1 ELSE 0 END AS r8,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.operationName')) IN ('microsoft.authorization/roleassignments/write', 'microsoft.authorization/elevateaccess/action'), false)) OR (coalesce(lower(json_extract_string(raw, '$.operationName.value')) IN ('microsoft.authorization/roleassignments/write', 'microsoft.authorization/elevateaccess/action'), false)) OR (coalesce(lower(json_extract_string(raw, '$.operation_name.value')) IN ('microsoft.authorization/roleassignments/write', 'microsoft.authorization/elevateaccess/action'), false)) OR (coalesce(lower(json_extract_string(raw, '$.OperationNameValue')) IN ('microsoft.authorization/roleassignments/write', 'microsoft.authorization/elevateaccess/action'), false)) THEN 1 ELSE 0 END AS r9,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.operationName')) IN ('microsoft.insights/diagnosticsettings/delete', 'microsoft.insights/logprofiles/delete', 'microsoft.authorization/policyassignments/delete'), false)) OR (coalesce(lower(json_extract_string(raw, '$.operationName.value')) IN ('microsoft.insights/diagnosticsettings/delete', 'microsoft.insights/logprofiles/delete', 'microsoft.authorization/policyassignments/delete'), false)) OR (coalesce(lower(json_extract_string(raw, '$.operation_name.value')) IN ('microsoft.insights/diagnosticsettings/delete', 'microsoft.insights/logprofiles/delete', 'microsoft.authorization/policyassignments/delete'), false)) OR (coalesce(lower(json_extract_string(raw, '$.OperationNameValue')) IN ('microsoft.insights/diagnosticsettings/delete', 'microsoft.insights/logprofiles/delete', 'microsoft.authorization/policyassignments/delete'), false)) THEN 1 ELSE 0 END AS r10,
    0 AS r11,
    0 AS r12,
    0 AS r13,
    0 AS r14,
    0 AS r15,
    0 AS r16,
    0 AS r17,
    0 AS r18,
    0 AS r19,
    0 AS r20,
    0 AS r21,
    0 AS r22,
    0 AS r23
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
    0 AS r10,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.result')) IN ('failure', 'timeout'), false)) OR (coalesce(lower(json_extract_string(raw, '$.properties.result')) IN ('failure', 'timeout'), false)) OR (coalesce(lower(json_extract_string(raw, '$.Result')) IN ('failure', 'timeout'), false)) THEN 1 ELSE 0 END AS r11,
    CASE WHEN ((coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) IN ('add user', 'add user.', 'add group', 'add group.'), false)) OR (coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) IN ('add user', 'add user.', 'add group', 'add group.'), false)) OR (coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) IN ('add user', 'add user.', 'add group', 'add group.'), false)) OR (coalesce(lower(json_extract_string(raw, '$.operationName')) IN ('add user', 'add user.', 'add group', 'add group.'), false)) OR (coalesce(lower(json_extract_string(raw, '$.OperationName')) IN ('add user', 'add user.', 'add group', 'add group.'), false))) OR ((coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE 'add member to group%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE 'add service principal credentials%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE 'update application%certificates and secrets management%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE 'add member to group%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE 'add service principal credentials%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE 'update application%certificates and secrets management%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE 'add member to group%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE 'add service principal credentials%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE 'update application%certificates and secrets management%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE 'add member to group%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE 'add service principal credentials%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE 'update application%certificates and secrets management%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE 'add member to group%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE 'add service principal credentials%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE 'update application%certificates and secrets management%' ESCAPE '!', false))) THEN 1 ELSE 0 END AS r12,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE 'add member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE 'add eligible member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE 'add app role assignment to service principal%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE 'consent to application%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE 'user has elevated their access to user access administrator%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE 'add member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE 'add eligible member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE 'add app role assignment to service principal%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE 'consent to application%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE 'user has elevated their access to user access administrator%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE 'add member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE 'add eligible member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE 'add app role assignment to service principal%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE 'consent to application%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE 'user has elevated their access to user access administrator%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE 'add member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE 'add eligible member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE 'add app role assignment to service principal%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE 'consent to application%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE 'user has elevated their access to user access administrator%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE 'add member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE 'add eligible member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE 'add app role assignment to service principal%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE 'consent to application%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE 'user has elevated their access to user access administrator%' ESCAPE '!', false)) THEN 1 ELSE 0 END AS r13,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.activityDisplayName')) LIKE 'delete conditional access policy%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.properties.activityDisplayName')) LIKE 'delete conditional access policy%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.ActivityDisplayName')) LIKE 'delete conditional access policy%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operationName')) LIKE 'delete conditional access policy%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.OperationName')) LIKE 'delete conditional access policy%' ESCAPE '!', false) THEN 1 ELSE 0 END AS r14,
    0 AS r15,
    0 AS r16,
    0 AS r17,
    0 AS r18,
    0 AS r19,
    0 AS r20,
    0 AS r21,
    0 AS r22,
    0 AS r23
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
    0 AS r6,
    0 AS r7,
    0 AS r8,
    0 AS r9,
    0 AS r10,
    0 AS r11,
    0 AS r12,
    0 AS r13,
    0 AS r14,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE '%.compute.instances.insert' ESCAPE '!', false) OR (coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) IN ('google.cloud.functions.v1.cloudfunctionsservice.createfunction', 'google.cloud.functions.v1.cloudfunctionsservice.updatefunction', 'google.cloud.functions.v2.functionservice.createfunction', 'google.cloud.functions.v2.functionservice.updatefunction'), false)) THEN 1 ELSE 0 END AS r15,
    CASE WHEN coalesce(json_exists(raw, '$.protoPayload.status.code'), false) AND NOT coalesce(TRY_CAST(json_extract_string(raw, '$.protoPayload.status.code') AS DOUBLE) = 0, false) THEN 1 ELSE 0 END AS r16,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) IN ('google.iam.admin.v1.createserviceaccount', 'google.iam.admin.v1.createserviceaccountkey', 'google.iam.admin.v1.uploadserviceaccountkey', 'google.iam.admin.v1.createrole'), false) THEN 1 ELSE 0 END AS r17,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) LIKE '%setiampolicy' ESCAPE '!', false) OR (coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) IN ('google.iam.credentials.v1.generateaccesstoken', 'google.iam.credentials.v1.signjwt'), false)) THEN 1 ELSE 0 END AS r18,
    CASE WHEN coalesce(lower(json_extract_string(raw, '$.protoPayload.methodName')) IN ('google.logging.v2.configservicev2.deletesink', 'google.logging.v2.loggingservicev2.deletelog'), false) THEN 1 ELSE 0 END AS r19,
    0 AS r20,
    0 AS r21,
    0 AS r22,
    0 AS r23
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
    0 AS r9,
    0 AS r10,
    0 AS r11,
    0 AS r12,
    0 AS r13,
    0 AS r14,
    0 AS r15,
    0 AS r16,
    0 AS r17,
    0 AS r18,
    0 AS r19,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.ResultStatus')) IN ('false', 'failed', 'failure'), false)) OR (coalesce(lower(json_extract_string(raw, '$.resultstatus')) IN ('false', 'failed', 'failure'), false)) THEN 1 ELSE 0 END AS r20,
    CASE WHEN (coalesce(lower(json_extract_string(raw, '$.Workload')) = 'azureactivedirectory', false) OR coalesce(lower(json_extract_string(raw, '$.OfficeWorkload')) = 'azureactivedirectory', false) OR coalesce(lower(json_extract_string(raw, '$.workload')) = 'azureactivedirectory', false)) AND ((coalesce(lower(json_extract_string(raw, '$.Operation')) IN ('add user', 'add user.', 'add group', 'add group.', 'add application', 'add application.', 'add service principal', 'add service principal.'), false) OR coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE 'add member to group%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE 'add service principal credentials%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE 'update application%certificates and secrets management%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.operation')) IN ('add user', 'add user.', 'add group', 'add group.', 'add application', 'add application.', 'add service principal', 'add service principal.'), false) OR coalesce(lower(json_extract_string(raw, '$.operation')) LIKE 'add member to group%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) LIKE 'add service principal credentials%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) LIKE 'update application%certificates and secrets management%' ESCAPE '!', false))) THEN 1 ELSE 0 END AS r21,
    CASE WHEN ((coalesce(lower(json_extract_string(raw, '$.Workload')) = 'azureactivedirectory', false) OR coalesce(lower(json_extract_string(raw, '$.OfficeWorkload')) = 'azureactivedirectory', false) OR coalesce(lower(json_extract_string(raw, '$.workload')) = 'azureactivedirectory', false)) AND ((coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE 'add member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE 'add eligible member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE 'add app role assignment to service principal%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE 'add delegated permission grant%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE 'consent to application%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.operation')) LIKE 'add member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) LIKE 'add eligible member to role%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) LIKE 'add app role assignment to service principal%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) LIKE 'add delegated permission grant%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) LIKE 'consent to application%' ESCAPE '!', false)))) OR ((coalesce(lower(json_extract_string(raw, '$.Operation')) IN ('add-rolegroupmember', 'new-managementroleassignment'), false)) OR (coalesce(lower(json_extract_string(raw, '$.operation')) IN ('add-rolegroupmember', 'new-managementroleassignment'), false))) OR ((coalesce(lower(json_extract_string(raw, '$.Operation')) = 'add-mailboxpermission', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) = 'add-mailboxpermission', false)) AND (coalesce(lower(json_extract_string(raw, '$.Parameters.Name')) LIKE '%fullaccess%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters.Value')) LIKE '%fullaccess%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters')) LIKE '%fullaccess%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Name')) LIKE '%fullaccess%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Value')) LIKE '%fullaccess%' ESCAPE '!', false))) OR ((coalesce(lower(json_extract_string(raw, '$.Operation')) = 'add-recipientpermission', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) = 'add-recipientpermission', false)) AND (coalesce(lower(json_extract_string(raw, '$.Parameters.Name')) LIKE '%sendas%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters.Value')) LIKE '%sendas%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters')) LIKE '%sendas%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Name')) LIKE '%sendas%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Value')) LIKE '%sendas%' ESCAPE '!', false))) THEN 1 ELSE 0 END AS r22,
    CASE WHEN ((((coalesce(lower(json_extract_string(raw, '$.Operation')) = 'set-adminauditlogconfig', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) = 'set-adminauditlogconfig', false)) AND ((coalesce(lower(json_extract_string(raw, '$.Parameters.Name')) LIKE '%unifiedauditlogingestionenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters.Name')) LIKE '%adminauditlogenabled%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.Parameters.Value')) LIKE '%unifiedauditlogingestionenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters.Value')) LIKE '%adminauditlogenabled%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.Parameters')) LIKE '%unifiedauditlogingestionenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters')) LIKE '%adminauditlogenabled%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.parameters.Name')) LIKE '%unifiedauditlogingestionenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Name')) LIKE '%adminauditlogenabled%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.parameters.Value')) LIKE '%unifiedauditlogingestionenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Value')) LIKE '%adminauditlogenabled%' ESCAPE '!', false)))) OR ((coalesce(lower(json_extract_string(raw, '$.Operation')) = 'set-mailbox', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) = 'set-mailbox', false)) AND (coalesce(lower(json_extract_string(raw, '$.Parameters.Name')) LIKE '%auditenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters.Value')) LIKE '%auditenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters')) LIKE '%auditenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Name')) LIKE '%auditenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Value')) LIKE '%auditenabled%' ESCAPE '!', false)))) AND (coalesce(lower(json_extract_string(raw, '$.Parameters.Name')) LIKE '%false%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters.Value')) LIKE '%false%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters')) LIKE '%false%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Name')) LIKE '%false%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Value')) LIKE '%false%' ESCAPE '!', false))) OR (((coalesce(lower(json_extract_string(raw, '$.Operation')) = 'set-mailboxauditbypassassociation', false) OR coalesce(lower(json_extract_string(raw, '$.operation')) = 'set-mailboxauditbypassassociation', false)) AND (coalesce(lower(json_extract_string(raw, '$.Parameters.Name')) LIKE '%auditbypassenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters.Value')) LIKE '%auditbypassenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters')) LIKE '%auditbypassenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Name')) LIKE '%auditbypassenabled%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Value')) LIKE '%auditbypassenabled%' ESCAPE '!', false))) AND (coalesce(lower(json_extract_string(raw, '$.Parameters.Name')) LIKE '%true%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters.Value')) LIKE '%true%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.Parameters')) LIKE '%true%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Name')) LIKE '%true%' ESCAPE '!', false) OR coalesce(lower(json_extract_string(raw, '$.parameters.Value')) LIKE '%true%' ESCAPE '!', false))) OR ((coalesce(lower(json_extract_string(raw, '$.Operation')) IN ('remove-dlppolicy', 'remove-dlpcompliancerule', 'remove-dlpcompliancepolicy', 'remove-protectionalert', 'remove-activityalert'), false) OR coalesce(lower(json_extract_string(raw, '$.Operation')) LIKE 'delete conditional access policy%' ESCAPE '!', false)) OR (coalesce(lower(json_extract_string(raw, '$.operation')) IN ('remove-dlppolicy', 'remove-dlpcompliancerule', 'remove-dlpcompliancepolicy', 'remove-protectionalert', 'remove-activityalert'), false) OR coalesce(lower(json_extract_string(raw, '$.operation')) LIKE 'delete conditional access policy%' ESCAPE '!', false))) THEN 1 ELSE 0 END AS r23
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
    CASE WHEN r3 = 1 OR r8 = 1 OR r12 = 1 OR r17 = 1 OR r21 = 1 THEN 1 ELSE 0 END AS iam_change,
    CASE WHEN r5 = 1 OR r10 = 1 OR r14 = 1 OR r19 = 1 OR r23 = 1 THEN 1 ELSE 0 END AS security_disable,
    CASE WHEN r4 = 1 OR r9 = 1 OR r13 = 1 OR r18 = 1 OR r22 = 1 THEN 1 ELSE 0 END AS priv_esc,
    CASE WHEN r1 = 1 OR r6 = 1 OR r15 = 1 THEN 1 ELSE 0 END AS compute_create,
    CASE WHEN r1 = 1 OR r3 = 1 OR r4 = 1 OR r5 = 1 OR r6 = 1 OR r8 = 1 OR r9 = 1 OR r10 = 1 OR r12 = 1 OR r13 = 1 OR r14 = 1 OR r15 = 1 OR r17 = 1 OR r18 = 1 OR r19 = 1 OR r21 = 1 OR r22 = 1 OR r23 = 1 THEN 1 ELSE 0 END AS flagged,
    CAST(r1 * 1 + r3 * 2 + r4 * 2 + r5 * 3 + r6 * 1 + r8 * 2 + r9 * 2 + r10 * 3 + r12 * 2 + r13 * 2 + r14 * 3 + r15 * 1 + r17 * 2 + r18 * 2 + r19 * 3 + r21 * 2 + r22 * 2 + r23 * 3 AS DOUBLE) + CASE WHEN CASE WHEN r1 = 1 OR r3 = 1 OR r4 = 1 OR r5 = 1 OR r6 = 1 OR r8 = 1 OR r9 = 1 OR r10 = 1 OR r12 = 1 OR r13 = 1 OR r14 = 1 OR r15 = 1 OR r17 = 1 OR r18 = 1 OR r19 = 1 OR r21 = 1 OR r22 = 1 OR r23 = 1 THEN 1 ELSE 0 END = 1 THEN CAST(r2 * -0.5 + r7 * -0.5 + r11 * -0.5 + r16 * -0.5 + r20 * -0.5 AS DOUBLE) ELSE 0 END AS suspicion_score
  FROM flags
)
SELECT event_time, source, event_id, operation, principal, src_ip, iam_change, security_disable, priv_esc, compute_create, suspicion_score
FROM scored
WHERE flagged = 1 AND suspicion_score > 0
ORDER BY suspicion_score DESC, event_time ASC NULLS LAST, event_id ASC NULLS LAST
