# The seed query as a jq filter over CloudTrail S3 files (one {"Records": [...]} per input):
# where eventName in (...) or operationName matches the Azure pattern, the four flags, the score.
def inlist($xs): . as $x | any($xs[]; . == $x);
(.Records // [])[]
| select(
    (.eventName | inlist(["CreateUser","AttachUserPolicy","CreateAccessKey","CreateRole","AssumeRole",
      "GetSessionToken","PutBucketPolicy","DeleteBucketPolicy","CreateFunction","UpdateFunctionCode",
      "RunInstances","CreateKeyPair","StopLogging","DeleteTrail","PutEventSelectors","DisableGuardDuty",
      "DeleteDetector","CreateGroup","AddMemberToGroup"]))
    or ((.operationName // "") | tostring | test("roleDefinitions/write|roleAssignments/write|virtualMachines/write")))
| (if (.eventName | inlist(["CreateUser","AttachUserPolicy","CreateAccessKey","CreateRole"])) then 1 else 0 end) as $iam
| (if (.eventName | inlist(["StopLogging","DeleteTrail","PutEventSelectors","DisableGuardDuty","DeleteDetector"])) then 1 else 0 end) as $dis
| (if (.eventName | inlist(["AssumeRole","AttachUserPolicy"])) then 1 else 0 end) as $priv
| (if (.eventName | inlist(["RunInstances","CreateFunction","UpdateFunctionCode"])) then 1 else 0 end) as $comp
| ($iam * 2 + $dis * 3 + $priv * 2 + $comp) as $score
| select($score > 0)
| {time: .eventTime, eventName, userArn: .userIdentity.arn, identityType: .userIdentity.type,
   sourceIP: .sourceIPAddress, awsRegion, errorCode, errorMessage, iam_change: $iam,
   security_disable: $dis, priv_esc: $priv, compute_create: $comp, suspicion_score: $score, eventID}
