-- Reference lists the shipped hunts share (and your own --hunt-sql queries may use). Edit a
-- copy rather than the hunts when your estate calls things differently.

-- Read-only calls that tell an intruder whether and where the account logs, and who exists.
CREATE TABLE aws_recon_calls AS SELECT * FROM (VALUES
    ('cloudtrail.amazonaws.com', 'GetTrailStatus'),
    ('cloudtrail.amazonaws.com', 'DescribeTrails'),
    ('cloudtrail.amazonaws.com', 'ListTrails'),
    ('cloudtrail.amazonaws.com', 'GetEventSelectors'),
    ('cloudtrail.amazonaws.com', 'GetTrail'),
    ('guardduty.amazonaws.com', 'ListDetectors'),
    ('guardduty.amazonaws.com', 'GetDetector'),
    ('config.amazonaws.com', 'DescribeConfigurationRecorders'),
    ('iam.amazonaws.com', 'ListUsers'),
    ('iam.amazonaws.com', 'ListRoles'),
    ('iam.amazonaws.com', 'ListGroups'),
    ('iam.amazonaws.com', 'ListAccessKeys'),
    ('iam.amazonaws.com', 'GetAccountAuthorizationDetails')
) AS t(service, operation);

-- Calls that blind the defenders: logging stopped, deleted or re-scoped, detectors removed.
CREATE TABLE aws_tamper_calls AS SELECT * FROM (VALUES
    ('cloudtrail.amazonaws.com', 'StopLogging'),
    ('cloudtrail.amazonaws.com', 'DeleteTrail'),
    ('cloudtrail.amazonaws.com', 'UpdateTrail'),
    ('cloudtrail.amazonaws.com', 'PutEventSelectors'),
    ('guardduty.amazonaws.com', 'DeleteDetector'),
    ('guardduty.amazonaws.com', 'UpdateDetector'),
    ('config.amazonaws.com', 'StopConfigurationRecorder'),
    ('config.amazonaws.com', 'DeleteConfigurationRecorder'),
    ('ec2.amazonaws.com', 'DeleteFlowLogs')
) AS t(service, operation);

-- Privileged operations of every provider, as lower-case LIKE patterns on `operation`
-- (AWS eventName, Azure operationName, GCP methodName, Entra activity).
CREATE TABLE privileged_operations AS SELECT * FROM (VALUES
    ('createuser'), ('createaccesskey'), ('createloginprofile'), ('updateloginprofile'),
    ('attachuserpolicy'), ('attachrolepolicy'), ('attachgrouppolicy'),
    ('putuserpolicy'), ('putrolepolicy'), ('putgrouppolicy'),
    ('createpolicyversion'), ('setdefaultpolicyversion'), ('updateassumerolepolicy'),
    ('addusertogroup'), ('createrole'), ('passrole'),
    ('assumerole'), ('getsessiontoken'), ('getfederationtoken'),
    ('stoplogging'), ('deletetrail'), ('updatetrail'), ('puteventselectors'),
    ('deletedetector'), ('updatedetector'),
    ('runinstances'), ('createfunction%'), ('updatefunctioncode%'),
    ('putbucketpolicy'), ('deletebucketpolicy'),
    ('microsoft.authorization/roleassignments/write'),
    ('microsoft.authorization/roledefinitions/write'),
    ('microsoft.authorization/elevateaccess/action'),
    ('microsoft.insights/diagnosticsettings/delete'),
    ('microsoft.compute/virtualmachines/runcommand/action'),
    ('%setiampolicy'),
    ('google.iam.admin.v1.createserviceaccountkey'),
    ('google.iam.credentials.v1.generateaccesstoken'),
    ('google.logging.v2.configservicev2.deletesink'),
    ('add member to role%'),
    ('consent to application%')
) AS t(pattern);
