-- trailhound export --to spark-sql: pack rules, 20 rule(s)
-- input: one relation per log source, column raw = the record's JSON text
-- r1: 4ba0c14f-0181-5e77-9cd0-fa6b2734c482 Export test: contains (weight 1, m_contains)
-- r2: 59e5747b-4ad5-5398-914d-af0665cf40c1 Export test: startswith (weight 1, m_startswith)
-- r3: 7948dcbf-d408-5fab-abf8-dffe09f67330 Export test: endswith (weight 1, m_endswith)
-- r4: 03756892-c617-561b-abee-032834aba448 Export test: all (weight 1, m_all)
-- r5: 07cee14a-5428-5310-ba3f-41505607af4a Export test: re (weight 1, m_re)
-- r6: 5c2657db-48b2-5beb-95c1-45758eea8aa0 Export test: re_i (weight 1, m_re_i)
-- r7: 067c1d6d-5eda-5260-8e3a-8887d4778910 Export test: cidr (weight 1, m_cidr)
-- r8: 7a8541f3-a1a9-5bdd-aa4f-28ffbb9f1763 Export test: exists (weight 1, m_exists)
-- r9: dfdf651a-c63c-5974-a21f-efde4942572e Export test: base64 (weight 1, m_base64)
-- r10: 7985f747-5283-556a-9bc8-c2345230f3f7 Export test: base64offset (weight 1, m_base64offset)
-- r11: 7048056d-7234-54d5-8748-dd740ffb88bb Export test: windash (weight 1, m_windash)
-- r12: 9013ae1a-32a0-5fea-a640-3848b247c244 Export test: cased (weight 1, m_cased)
-- r13: ce75239a-2d46-5822-acbb-c40fe4b553f0 Export test: gt (weight 1, m_gt)
-- r14: f2d295a4-3a91-5c37-b02f-09e1ed1687fc Export test: lte (weight 1, m_lte)
-- r15: bcfbef85-cf56-5279-95d2-301ac381d806 Export test: null (weight 1, m_null)
-- r16: 30c5554b-fe38-58f9-b6b6-228e13fef739 Export test: single_wildcard (weight 1, m_single_wildcard)
-- r17: 84f8ff51-4b10-5840-895d-d4c3f1ad52f6 Export test: number (weight 1, m_number)
-- r18: 8c7442d9-f0f5-533f-9da2-da954efa2c1e Export test: bool (weight 1, m_bool)
-- r19: 84d383c5-bae4-56fd-a299-8f6df743f6db Export test: fieldref (weight 1, m_fieldref)
-- r20: 6f0d6d4e-9a51-5d0e-8f43-4b8bd0b63c11 Export test: keyword and not (weight 1, m_keyword_not)
WITH cloudtrail_flags AS (
  SELECT
    coalesce(nullif(get_json_object(raw, '$.eventTime'), ''), nullif(get_json_object(raw, '$[\'@timestamp\']'), '')) AS event_time,
    'cloudtrail' AS source,
    nullif(get_json_object(raw, '$.eventID'), '') AS event_id,
    nullif(get_json_object(raw, '$.eventName'), '') AS operation,
    coalesce(nullif(get_json_object(raw, '$.userIdentity.arn'), ''), nullif(get_json_object(raw, '$.userIdentity.principalId'), ''), nullif(get_json_object(raw, '$.userIdentity.userName'), ''), nullif(get_json_object(raw, '$.userIdentity.accountId'), ''), nullif(get_json_object(raw, '$.userIdentity.invokedBy'), '')) AS principal,
    nullif(get_json_object(raw, '$.sourceIPAddress'), '') AS src_ip,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.userAgent')) LIKE '%aws-cli/%' ESCAPE '!', false) THEN 1 ELSE 0 END AS r1,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.eventName')) LIKE 'create%' ESCAPE '!', false) THEN 1 ELSE 0 END AS r2,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.eventSource')) LIKE '%.amazonaws.com' ESCAPE '!', false) AND coalesce(lower(get_json_object(raw, '$.eventName')) = 'listbuckets', false) THEN 1 ELSE 0 END AS r3,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.userAgent')) LIKE '%boto3%' ESCAPE '!', false) AND coalesce(lower(get_json_object(raw, '$.userAgent')) LIKE '%python/3%' ESCAPE '!', false) THEN 1 ELSE 0 END AS r4,
    CASE WHEN coalesce((get_json_object(raw, '$.requestParameters.userName') RLIKE '^adm[0-9]+$'), false) THEN 1 ELSE 0 END AS r5,
    CASE WHEN coalesce((get_json_object(raw, '$.requestParameters.userName') RLIKE '(?i)^ADMIN'), false) THEN 1 ELSE 0 END AS r6,
    CASE WHEN coalesce(((get_json_object(raw, '$.sourceIPAddress') RLIKE '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$') AND (try_cast(split_part(get_json_object(raw, '$.sourceIPAddress'), '.', 1) AS BIGINT) * 16777216 + try_cast(split_part(get_json_object(raw, '$.sourceIPAddress'), '.', 2) AS BIGINT) * 65536 + try_cast(split_part(get_json_object(raw, '$.sourceIPAddress'), '.', 3) AS BIGINT) * 256 + try_cast(split_part(get_json_object(raw, '$.sourceIPAddress'), '.', 4) AS BIGINT) * 1) BETWEEN 167772160 AND 184549375), false) THEN 1 ELSE 0 END AS r7,
    CASE WHEN coalesce((get_json_object(raw, '$.requestParameters.policyDocument') IS NOT NULL), false) THEN 1 ELSE 0 END AS r8,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.requestParameters.tagValue')) = 'c2vjcmv0', false) THEN 1 ELSE 0 END AS r9,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.requestParameters.userData')) LIKE '%y3vybc%' ESCAPE '!', false) OR coalesce(lower(get_json_object(raw, '$.requestParameters.userData')) LIKE '%n1cmwg%' ESCAPE '!', false) OR coalesce(lower(get_json_object(raw, '$.requestParameters.userData')) LIKE '%jdxjsi%' ESCAPE '!', false) THEN 1 ELSE 0 END AS r10,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.requestParameters.commandLine')) LIKE '% -enc %' ESCAPE '!', false) OR coalesce(lower(get_json_object(raw, '$.requestParameters.commandLine')) LIKE '% /enc %' ESCAPE '!', false) OR coalesce(lower(get_json_object(raw, '$.requestParameters.commandLine')) LIKE '% –enc %' ESCAPE '!', false) OR coalesce(lower(get_json_object(raw, '$.requestParameters.commandLine')) LIKE '% —enc %' ESCAPE '!', false) OR coalesce(lower(get_json_object(raw, '$.requestParameters.commandLine')) LIKE '% ―enc %' ESCAPE '!', false) THEN 1 ELSE 0 END AS r11,
    CASE WHEN coalesce(get_json_object(raw, '$.eventName') = 'CreateUser', false) THEN 1 ELSE 0 END AS r12,
    CASE WHEN coalesce(try_cast(get_json_object(raw, '$.requestParameters.maxCount') AS DOUBLE) > 5, false) THEN 1 ELSE 0 END AS r13,
    CASE WHEN coalesce(try_cast(get_json_object(raw, '$.requestParameters.maxCount') AS DOUBLE) <= 1, false) THEN 1 ELSE 0 END AS r14,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.eventName')) = 'deletetrail', false) AND coalesce(get_json_object(raw, '$.errorCode') IS NULL, false) THEN 1 ELSE 0 END AS r15,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.eventName')) LIKE 'get_essiontoken' ESCAPE '!', false) THEN 1 ELSE 0 END AS r16,
    CASE WHEN coalesce(try_cast(get_json_object(raw, '$.requestParameters.maxCount') AS DOUBLE) = 3, false) THEN 1 ELSE 0 END AS r17,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.requestParameters.enable')) = 'false', false) THEN 1 ELSE 0 END AS r18,
    CASE WHEN coalesce(lower(get_json_object(raw, '$.requestParameters.userName')) = lower(get_json_object(raw, '$.userIdentity.userName')), false) THEN 1 ELSE 0 END AS r19,
    CASE WHEN coalesce(lower(raw) LIKE '%stratus-red-team%' ESCAPE '!', false) AND NOT (coalesce(lower(get_json_object(raw, '$.eventName')) LIKE 'get%' ESCAPE '!', false) OR coalesce(lower(get_json_object(raw, '$.eventName')) LIKE 'list%' ESCAPE '!', false) OR coalesce(lower(get_json_object(raw, '$.eventName')) LIKE 'describe%' ESCAPE '!', false)) THEN 1 ELSE 0 END AS r20
  FROM cloudtrail
),
flags AS (
  SELECT * FROM cloudtrail_flags
),
scored AS (
  SELECT
    event_time, source, event_id, operation, principal, src_ip,
    CASE WHEN r1 = 1 THEN 1 ELSE 0 END AS m_contains,
    CASE WHEN r2 = 1 THEN 1 ELSE 0 END AS m_startswith,
    CASE WHEN r3 = 1 THEN 1 ELSE 0 END AS m_endswith,
    CASE WHEN r4 = 1 THEN 1 ELSE 0 END AS m_all,
    CASE WHEN r5 = 1 THEN 1 ELSE 0 END AS m_re,
    CASE WHEN r6 = 1 THEN 1 ELSE 0 END AS m_re_i,
    CASE WHEN r7 = 1 THEN 1 ELSE 0 END AS m_cidr,
    CASE WHEN r8 = 1 THEN 1 ELSE 0 END AS m_exists,
    CASE WHEN r9 = 1 THEN 1 ELSE 0 END AS m_base64,
    CASE WHEN r10 = 1 THEN 1 ELSE 0 END AS m_base64offset,
    CASE WHEN r11 = 1 THEN 1 ELSE 0 END AS m_windash,
    CASE WHEN r12 = 1 THEN 1 ELSE 0 END AS m_cased,
    CASE WHEN r13 = 1 THEN 1 ELSE 0 END AS m_gt,
    CASE WHEN r14 = 1 THEN 1 ELSE 0 END AS m_lte,
    CASE WHEN r15 = 1 THEN 1 ELSE 0 END AS m_null,
    CASE WHEN r16 = 1 THEN 1 ELSE 0 END AS m_single_wildcard,
    CASE WHEN r17 = 1 THEN 1 ELSE 0 END AS m_number,
    CASE WHEN r18 = 1 THEN 1 ELSE 0 END AS m_bool,
    CASE WHEN r19 = 1 THEN 1 ELSE 0 END AS m_fieldref,
    CASE WHEN r20 = 1 THEN 1 ELSE 0 END AS m_keyword_not,
    CASE WHEN r1 = 1 OR r2 = 1 OR r3 = 1 OR r4 = 1 OR r5 = 1 OR r6 = 1 OR r7 = 1 OR r8 = 1 OR r9 = 1 OR r10 = 1 OR r11 = 1 OR r12 = 1 OR r13 = 1 OR r14 = 1 OR r15 = 1 OR r16 = 1 OR r17 = 1 OR r18 = 1 OR r19 = 1 OR r20 = 1 THEN 1 ELSE 0 END AS flagged,
    CAST(r1 * 1 + r2 * 1 + r3 * 1 + r4 * 1 + r5 * 1 + r6 * 1 + r7 * 1 + r8 * 1 + r9 * 1 + r10 * 1 + r11 * 1 + r12 * 1 + r13 * 1 + r14 * 1 + r15 * 1 + r16 * 1 + r17 * 1 + r18 * 1 + r19 * 1 + r20 * 1 AS DOUBLE) AS suspicion_score
  FROM flags
)
SELECT event_time, source, event_id, operation, principal, src_ip, m_contains, m_startswith, m_endswith, m_all, m_re, m_re_i, m_cidr, m_exists, m_base64, m_base64offset, m_windash, m_cased, m_gt, m_lte, m_null, m_single_wildcard, m_number, m_bool, m_fieldref, m_keyword_not, suspicion_score
FROM scored
WHERE flagged = 1 AND suspicion_score > 0
ORDER BY suspicion_score DESC, event_time ASC NULLS LAST, event_id ASC NULLS LAST
