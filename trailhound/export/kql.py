"""`--to kql`: Kusto for Microsoft Sentinel's tables, the score model in `extend`.

Tables and their columns (Azure Monitor Logs table reference, learn.microsoft.com/azure/
azure-monitor/reference/tables/<table>): CloudTrail -> `AWSCloudTrail` (CloudTrail's fields as
PascalCase columns: `EventName`, `UserIdentityArn`, `SourceIpAddress`, ...; `RequestParameters`,
`ResponseElements`, `AdditionalEventData` kept as JSON text), Azure Activity -> `AzureActivity`,
Entra ID audit -> `AuditLogs`, sign-ins -> `SigninLogs`, GCP audit -> `GCPAuditLogs`,
Microsoft 365 -> `OfficeActivity`. The field tables of rules/pipelines.py already list the
Sentinel spellings for the Azure, Entra and Microsoft 365 sources, so a rule's intermediate form
holds them among its alternatives; CloudTrail's are mapped here (CLOUDTRAIL). A raw path with no
column in the table is a missing field (columnar.bind); a rule left with no test is reported.

Tests: `=~` / `in~` (case-insensitive), `==` / `in` (`|cased`), `startswith` / `endswith` /
`contains` (and their `_cs` forms), `matches regex` (RE2, searched) for `|re` and other
wildcards, `todouble()`, `ipv4_is_in_range()` / `ipv6_is_in_range()`, `isempty()` for `null`
(Kusto has no missing string: a missing column value is empty), keywords over
`tostring(pack_all())` (the whole row).
"""

from __future__ import annotations

import functools
import re

from trailhound.engine import ir
from trailhound.export.base import Target
from trailhound.export.columnar import bind, unapplied_filters
from trailhound.export.lists import ExactList, gather
from trailhound.export.normalized import ADDRESS_PATTERNS, FALSE, TRUE, AddressCidr, NotExportable
from trailhound.export.pack import ExportPack, ExportRule
from trailhound.export.sql import regex_pattern
from trailhound.export.text import c_string, one_line
from trailhound.logsources import SOURCES

__all__ = ["TABLES", "TARGET", "render"]

# CloudTrail field -> AWSCloudTrail column
CLOUDTRAIL = {
    "eventName": "EventName", "eventSource": "EventSource", "eventTime": "TimeGenerated",
    "awsRegion": "AWSRegion", "sourceIPAddress": "SourceIpAddress", "userAgent": "UserAgent",
    "errorCode": "ErrorCode", "errorMessage": "ErrorMessage", "eventID": "AwsEventId",
    "eventType": "EventTypeName", "eventVersion": "EventVersion", "readOnly": "ReadOnly",
    "recipientAccountId": "RecipientAccountId", "managementEvent": "ManagementEvent",
    "apiVersion": "APIVersion", "requestID": "AwsRequestId_", "sharedEventID": "SharedEventId",
    "vpcEndpointId": "VpcEndpointId",
    "userIdentity.type": "UserIdentityType", "userIdentity.arn": "UserIdentityArn",
    "userIdentity.principalId": "UserIdentityPrincipalid",
    "userIdentity.accountId": "UserIdentityAccountId", "userIdentity.userName": "UserIdentityUserName",
    "userIdentity.accessKeyId": "UserIdentityAccessKeyId", "userIdentity.invokedBy": "UserIdentityInvokedBy",
    "userIdentity.sessionContext.sessionIssuer.userName": "SessionIssuerUserName",
    "userIdentity.sessionContext.sessionIssuer.arn": "SessionIssuerArn",
    "userIdentity.sessionContext.sessionIssuer.type": "SessionIssuerType",
    "userIdentity.sessionContext.sessionIssuer.principalId": "SessionIssuerPrincipalId",
    "userIdentity.sessionContext.sessionIssuer.accountId": "SessionIssuerAccountId",
    "userIdentity.sessionContext.attributes.mfaAuthenticated": "SessionMfaAuthenticated",
    "userIdentity.sessionContext.attributes.creationDate": "SessionCreationDate",
}
# CloudTrail objects Sentinel keeps as JSON text: read into with parse_json
CLOUDTRAIL_JSON = {
    "requestParameters": "RequestParameters", "responseElements": "ResponseElements",
    "additionalEventData": "AdditionalEventData", "resources": "Resources",
}
# GCP audit LogEntry path -> GCPAuditLogs column
GCP = {
    "protoPayload.methodName": "MethodName", "protoPayload.serviceName": "ServiceName",
    "protoPayload.resourceName": "ResourceName",
    "protoPayload.authenticationInfo.principalEmail": "PrincipalEmail",
    "protoPayload.requestMetadata.callerIp": "CallerIp", "resource.labels.project_id": "ProjectId",
    "severity": "Severity", "logName": "LogName", "insertId": "InsertId", "timestamp": "TimeGenerated",
}
GCP_JSON = {"protoPayload.request": "Request", "protoPayload.response": "Response", "protoPayload.status": "Status"}

# trailhound source -> (table, its columns by the names rules read them under, dynamic columns)
TABLES: dict[str, tuple[str, frozenset[str], frozenset[str]]] = {
    "cloudtrail": ("AWSCloudTrail", frozenset(), frozenset()),
    "azure_activity": ("AzureActivity", frozenset({
        "OperationNameValue", "OperationName", "CategoryValue", "ActivityStatusValue",
        "ActivitySubstatusValue", "ResourceProviderValue", "Caller", "CallerIpAddress",
        "SubscriptionId", "CorrelationId", "EventDataId", "Level", "ResourceGroup", "_ResourceId",
        "Properties", "HTTPRequest", "TimeGenerated",
    }), frozenset({"Properties_d", "Authorization_d", "Claims_d"})),
    "entra_audit": ("AuditLogs", frozenset({
        "OperationName", "ActivityDisplayName", "Category", "Result", "ResultReason",
        "ResultDescription", "LoggedByService", "CorrelationId", "Id", "AADTenantId",
        "ActivityDateTime", "AADOperationType", "Identity", "TimeGenerated",
    }), frozenset({"InitiatedBy", "TargetResources", "AdditionalDetails"})),
    "entra_signin": ("SigninLogs", frozenset({
        "ResultType", "ResultDescription", "UserPrincipalName", "UserDisplayName", "AppDisplayName",
        "AppId", "IPAddress", "Location", "ClientAppUsed", "ConditionalAccessStatus",
        "RiskLevelDuringSignIn", "RiskState", "AuthenticationRequirement", "UserAgent",
        "ResourceDisplayName", "UserType", "Category", "OperationName", "TimeGenerated",
    }), frozenset({"Status", "DeviceDetail", "LocationDetails", "AuthenticationDetails"})),
    "gcp_audit": ("GCPAuditLogs", frozenset(), frozenset()),
    "m365_audit": ("OfficeActivity", frozenset({
        "Operation", "OfficeWorkload", "RecordType", "UserId", "UserType", "ClientIP",
        "ResultStatus", "OrganizationId", "OfficeId", "Parameters", "ExtendedProperties",
        "ModifiedProperties", "Site_Url", "SourceFileName", "ObjectId", "UserAgent", "TimeGenerated",
    }), frozenset()),
}
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _member(base: str, rest: list[str]) -> str:
    return base + "".join(f".{k}" if _PLAIN.match(k) else f"[{c_string(k)}]" for k in rest)


def resolve(source: str, path: str) -> str | None:
    """The Kusto expression of raw `path` in `source`'s table, or None (no such column)."""
    if source == "cloudtrail":
        if path in CLOUDTRAIL:
            return CLOUDTRAIL[path]
        top, _, below = path.partition(".")
        if top in CLOUDTRAIL_JSON and below:
            return f"tostring({_member(f'parse_json({CLOUDTRAIL_JSON[top]})', below.split('.'))})"
        return None
    if source == "gcp_audit":
        if path in GCP:
            return GCP[path]
        for prefix, column in GCP_JSON.items():
            if path.startswith(prefix + "."):
                keys = path[len(prefix) + 1:].split(".")
                return f"tostring({_member(f'parse_json({column})', keys)})"
        return None
    return _column(source, path) or _renamed(source, path)


def _renamed(source: str, path: str) -> str | None:
    """A raw path of another export shape (the normalizer's `callerIpAddress`, as allowlist
    entries read it: export/normalized.py) through the field table that maps rules to this
    source: it lists every shape's spelling of a field together, Sentinel's among them. A path
    inside a mapped object (`initiatedBy.user.ipAddress`) goes through the object's entry."""
    keys = path.split(".")
    for cut in range(len(keys), 0, -1):
        rest = "".join(f".{k}" for k in keys[cut:])
        for spelling in _spellings(source).get(".".join(keys[:cut]), ()):
            column = _column(source, spelling + rest)
            if column is not None:
                return column
    return None


def _column(source: str, path: str) -> str | None:
    _, columns, dynamic = TABLES[source]
    head, *rest = path.split(".")
    if head in columns and not rest:
        return head
    if head in dynamic:
        return f"tostring({_member(head, rest)})" if rest else f"tostring({head})"
    return None


@functools.cache
def _spellings(source: str) -> dict[str, tuple[str, ...]]:
    """Raw path -> the other spellings of the same field (rules/pipelines.py, the source's field
    tables: each entry lists one field's paths in every export shape)."""
    out: dict[str, tuple[str, ...]] = {}
    for table in SOURCES.get(source).field_tables:
        for paths in table.fields.values():
            for p in paths:
                out[p] = out.get(p, ()) + tuple(q for q in paths if q != p)
    return out




def _verbatim(s: str) -> str:
    return '@"' + s.replace('"', '""') + '"'


def condition(node: ir.Node) -> str:
    if node == TRUE:
        return "true"
    if node == FALSE:
        return "false"
    if isinstance(node, ir.Not):
        return f"not({condition(node.arg)})"
    if isinstance(node, ir.And):
        return " and ".join(_paren(a) for a in node.args)
    if isinstance(node, ir.Or):
        return " or ".join(_or_terms(node.args))
    if isinstance(node, ir.Keyword):
        return _test("tostring(pack_all())", node.matcher)
    return _test(node.field, node.matcher)


def _paren(node: ir.Node) -> str:
    text = condition(node)
    return f"({text})" if isinstance(node, (ir.And, ir.Or)) and len(node.args) > 1 else text


def _or_terms(args: tuple[ir.Node, ...]) -> list[str]:
    out = []
    for t in gather(args):
        if isinstance(t, ExactList):
            out.append(f"{t.field} {'in' if t.cased else 'in~'} ({', '.join(c_string(v) for v in t.values)})")
        else:
            out.append(_paren(t))
    return out


_KIND_OP = {"startswith": "startswith", "endswith": "endswith", "contains": "contains"}


def _text(x: str, m: ir.Text) -> str:
    kind = m.kind
    if kind == "any":
        return f"isnotempty({x})"
    if kind == "exact":
        return f"{x} {'==' if m.cased else '=~'} {c_string(m.literal)}"
    if kind in _KIND_OP:
        return f"{x} {_KIND_OP[kind]}{'_cs' if m.cased else ''} {c_string(m.literal)}"
    body = "".join(".*" if p is ir._MULTI else "." if p is ir._SINGLE else re.escape(str(p)) for p in m.parts)
    return f"{x} matches regex {_verbatim(('(?s)' if m.cased else '(?is)') + '^' + body + '$')}"


_OP = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "neq": "!="}


def _test(x: str, m: ir.Matcher) -> str:
    if isinstance(m, ir.Text):
        return _text(x, m)
    if isinstance(m, ir.Regex):
        return f"{x} matches regex {_verbatim(regex_pattern(m))}"
    if isinstance(m, ir.Number):
        return f"todouble({x}) == {m.value}"
    if isinstance(m, ir.Compare):
        return f"todouble({x}) {_OP[m.op]} {m.value}"
    if isinstance(m, ir.Bool):
        return f"tolower(tostring({x})) == {c_string('true' if m.value else 'false')}"
    if isinstance(m, ir.Null):
        return f"isempty({x})"
    if isinstance(m, ir.Exists):
        return f"isnotempty({x})" if m.want else f"isempty({x})"
    if isinstance(m, ir.Cidr):
        fn = "ipv4_is_in_range" if m.network.version == 4 else "ipv6_is_in_range"
        ip = _address(x) if isinstance(m, AddressCidr) else x
        return f"{fn}({ip}, {c_string(str(m.network))})"
    if isinstance(m, ir.FieldRef):
        a, b = f"tolower({x})", f"tolower({m.field})"
        if m.starts and m.ends:
            return f"indexof({a}, {b}) >= 0"
        if m.starts:
            return f"indexof({a}, {b}) == 0"
        if m.ends:
            return f"(strlen({a}) >= strlen({b}) and substring({a}, strlen({a}) - strlen({b})) == {b})"
        return f"{a} == {b}"
    raise NotExportable(f"{m} has no KQL form here")


def _address(x: str) -> str:
    """The address part of source address `x` (normalized.ADDRESS_PATTERNS)."""
    arms = ", ".join(f"{x} matches regex {_verbatim(p)}, extract({_verbatim(p)}, 1, {x})"
                     for p in ADDRESS_PATTERNS)
    return f"case({arms}, {x})"


def _weighted(rules: list[ExportRule]) -> str:
    return " + ".join(r.column if r.weight == 1 else f"{r.column} * {r.weight}" for r in rules) or "0"


def _bound(pack: ExportPack) -> dict[str, list[tuple[ExportRule, ir.Node | None]]]:
    """Per source, each rule's condition over the table's columns (None: not of this source;
    FALSE: of this source, but it reads no column the table has)."""
    out: dict[str, list[tuple[ExportRule, ir.Node | None]]] = {}
    for source in pack.sources:
        out[source] = []
        for r in pack.rules:
            tree = r.trees.get(source)
            out[source].append((r, None if tree is None else bind(tree, functools.partial(resolve, source))))
    return out


def left_out(pack: ExportPack) -> list[str]:
    """The rules (per table) the export cannot carry: they test only fields the table lacks;
    and the filters that would silently not apply to a table (columnar.unapplied_filters)."""
    return [
        f"rule {r.rule.id} ({r.rule.path}): not exported to kql for {TABLES[s][0]}: it reads no column of that table"
        for s, rules in _bound(pack).items() for r, node in rules if node == FALSE
    ] + unapplied_filters(pack, resolve, "kql", lambda source: TABLES[source][0])


def render(pack: ExportPack) -> str:
    detections, contexts = pack.detections(), pack.contexts()
    legs: list[str] = []
    for source, rules in _bound(pack).items():
        flags = [
            f"{r.column} = {'0' if node is None or node == FALSE else f'iff({condition(node)}, 1, 0)'}"
            for r, node in rules
        ]
        legs.append(f"{TABLES[source][0]}\n    | extend " + ",\n        ".join(flags))
    dropped = left_out(pack)
    body = legs[0] if len(legs) == 1 else "union\n  (" + "),\n  (".join(legs) + ")"
    hit = " or ".join(f"{r.column} == 1" for r in detections) or "false"
    score = f"todouble({_weighted(detections)})"
    if contexts:
        score += f" + iff({hit}, todouble({_weighted(contexts)}), 0.0)"
    signals = [
        f"{s} = iff({' or '.join(f'{r.column} == 1' for r in detections if r.rule.signal == s)}, 1, 0)"
        for s in pack.signals
    ]
    lines = [
        f"// trailhound export --to kql: pack {pack.name}, {len(pack.rules)} rule(s)",
        *(f"// {one_line(n)}" for n in pack.notes),
        *(f"// {r.column}: {r.rule.id} {one_line(r.rule.title)}" for r in pack.rules),
        *(f"// {d}" for d in dropped),
        body,
        *([f"| extend {', '.join(signals)}"] if signals else []),
        f"| extend suspicion_score = {score}",
        f"| where ({hit}) and suspicion_score > 0",
        f"| project TimeGenerated, Type, {', '.join([*pack.signals, 'suspicion_score'])}",
        "| sort by suspicion_score desc, TimeGenerated asc",
    ]
    return "\n".join(lines) + "\n"


TARGET = Target(
    "kql", "Kusto (Microsoft Sentinel tables AWSCloudTrail, AzureActivity, AuditLogs, ...)", render,
    left_out=left_out,
)
