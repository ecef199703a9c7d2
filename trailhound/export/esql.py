"""`--to esql`: ES|QL over the data streams of Elastic's integrations, with their ECS fields.

Data streams and fields (Elastic integration docs, docs.elastic.co/integrations/<name>):
AWS CloudTrail -> `logs-aws.cloudtrail-*` (`event.action` is eventName, `event.provider`
eventSource, `aws.cloudtrail.user_identity.arn`, `source.address`, `user_agent.original`,
`aws.cloudtrail.error_code`, ...); Azure -> `logs-azure.activitylogs-*`, `logs-azure.auditlogs-*`,
`logs-azure.signinlogs-*` (`azure.<dataset>.*`, snake_case); GCP -> `logs-gcp.audit-*`
(`event.action` is methodName, `client.user.email`, `source.ip`); Microsoft 365 ->
`logs-o365.audit-*` (the API's fields under `o365.audit.*`, `event.action` is Operation).
FIELDS lists each mapping; a raw path without an ECS field is a missing field (columnar.bind):
the integrations keep CloudTrail's requestParameters as one flattened text field, so rules on
`requestParameters.*` lose those tests, which is reported when a rule is left with none.

Tests: `TO_LOWER(f) == "v"` / `IN (...)` (case-insensitive Sigma), `LIKE` (`*`, `?`),
`CIDR_MATCH(TO_IP(f), ...)`, `TO_DOUBLE`, `IS NULL`; every value test is guarded with
`f IS NOT NULL AND` (a comparison with null is null, and NOT null is null). Not exported:
`|re` (ES|QL's RLIKE is a Lucene regular expression matched in full, without inline flags,
another language than the Python / RE2 patterns of Sigma) and keywords (ES|QL has no
whole-document substring search in an expression).
"""

from __future__ import annotations

import functools
import re

from trailhound.engine import ir
from trailhound.export.base import Target
from trailhound.export.columnar import bind, unapplied_filters
from trailhound.export.normalized import ADDRESS_PATTERNS, FALSE, TRUE, AddressCidr, NotExportable
from trailhound.export.pack import ExportPack, ExportRule
from trailhound.export.text import c_string, one_line

__all__ = ["DATASETS", "FIELDS", "TARGET", "render"]

# trailhound source -> the integration's data stream dataset
DATASETS = {
    "cloudtrail": "aws.cloudtrail", "azure_activity": "azure.activitylogs",
    "entra_audit": "azure.auditlogs", "entra_signin": "azure.signinlogs",
    "gcp_audit": "gcp.audit", "m365_audit": "o365.audit",
}
_CT_ID = "aws.cloudtrail.user_identity"
# raw path -> ECS / integration field, per source
FIELDS: dict[str, dict[str, str]] = {
    "cloudtrail": {
        "eventName": "event.action", "eventSource": "event.provider", "eventTime": "@timestamp",
        "awsRegion": "cloud.region", "sourceIPAddress": "source.address", "userAgent": "user_agent.original",
        "errorCode": "aws.cloudtrail.error_code", "errorMessage": "aws.cloudtrail.error_message",
        "eventID": "event.id", "eventType": "aws.cloudtrail.event_type",
        "eventVersion": "aws.cloudtrail.event_version", "readOnly": "aws.cloudtrail.read_only",
        "recipientAccountId": "aws.cloudtrail.recipient_account_id",
        "userIdentity.type": f"{_CT_ID}.type", "userIdentity.arn": f"{_CT_ID}.arn",
        "userIdentity.principalId": "user.id", "userIdentity.userName": "user.name",
        "userIdentity.accountId": "cloud.account.id", "userIdentity.accessKeyId": f"{_CT_ID}.access_key_id",
        "userIdentity.invokedBy": f"{_CT_ID}.invoked_by",
        "userIdentity.sessionContext.sessionIssuer.type": f"{_CT_ID}.session_context.session_issuer.type",
        "userIdentity.sessionContext.sessionIssuer.arn": f"{_CT_ID}.session_context.session_issuer.arn",
        "userIdentity.sessionContext.sessionIssuer.userName": "role.name",
        "userIdentity.sessionContext.attributes.mfaAuthenticated": f"{_CT_ID}.session_context.mfa_authenticated",
    },
    "azure_activity": {
        "operationName": "azure.activitylogs.operation_name", "operationName.value": "azure.activitylogs.operation_name",
        "resultType": "azure.activitylogs.result_type", "resultSignature": "azure.activitylogs.result_signature",
        "category": "azure.activitylogs.category", "callerIpAddress": "source.ip",
        "correlationId": "azure.correlation_id", "resourceId": "azure.resource.id", "level": "log.level",
        "caller": "azure.activitylogs.identity.claims_initiated_by_user.name", "time": "@timestamp",
    },
    "entra_audit": {
        "operationName": "azure.auditlogs.operation_name", "category": "azure.auditlogs.category",
        "properties.activityDisplayName": "azure.auditlogs.properties.activity_display_name",
        "properties.result": "azure.auditlogs.properties.result",
        "properties.resultReason": "azure.auditlogs.properties.result_reason",
        "properties.loggedByService": "azure.auditlogs.properties.logged_by_service",
        "properties.initiatedBy.user.userPrincipalName": "azure.auditlogs.properties.initiated_by.user.userPrincipalName",
        "properties.initiatedBy.app.displayName": "azure.auditlogs.properties.initiated_by.app.displayName",
        "properties.id": "azure.auditlogs.properties.id", "time": "@timestamp",
    },
    "entra_signin": {
        "operationName": "azure.signinlogs.operation_name", "category": "azure.signinlogs.category",
        "resultType": "azure.signinlogs.result_type", "resultDescription": "azure.signinlogs.result_description",
        "properties.userPrincipalName": "azure.signinlogs.properties.user_principal_name",
        "properties.appDisplayName": "azure.signinlogs.properties.app_display_name",
        "properties.ipAddress": "source.ip", "properties.clientAppUsed": "azure.signinlogs.properties.client_app_used",
        "time": "@timestamp",
    },
    "gcp_audit": {
        "protoPayload.methodName": "event.action", "protoPayload.serviceName": "service.name",
        "protoPayload.resourceName": "gcp.audit.resource_name",
        "protoPayload.authenticationInfo.principalEmail": "client.user.email",
        "protoPayload.requestMetadata.callerIp": "source.ip", "protoPayload.status.code": "gcp.audit.status.code",
        "resource.labels.project_id": "cloud.project.id", "logName": "log.logger", "timestamp": "@timestamp",
    },
}
_O365_TOP = re.compile(r"[A-Z][A-Za-z]*\Z")  # the Management Activity API's top-level names


def resolve(source: str, path: str) -> str | None:
    if source == "m365_audit":
        head = path.split(".")[0]
        return f"o365.audit.{path}" if _O365_TOP.match(head) else None
    return FIELDS.get(source, {}).get(path)




def _name(f: str) -> str:
    return f"`{f}`" if f.startswith("@") else f


def condition(node: ir.Node) -> str:
    if node == TRUE:
        return "true"
    if node == FALSE:
        return "false"
    if isinstance(node, ir.Not):
        return f"NOT ({condition(node.arg)})"
    if isinstance(node, ir.And):
        return " AND ".join(_paren(a) for a in node.args)
    if isinstance(node, ir.Or):
        return " OR ".join(_paren(a) for a in node.args)
    if isinstance(node, ir.Keyword):
        raise NotExportable("a keyword (field-less value): ES|QL has no whole-document substring search")
    x = _name(node.field)
    m = node.matcher
    if isinstance(m, ir.Null) or (isinstance(m, ir.Exists) and not m.want):
        return f"{x} IS NULL"
    if isinstance(m, ir.Exists) or (isinstance(m, ir.Text) and m.kind == "any"):
        return f"{x} IS NOT NULL"
    guard = f"{x} IS NOT NULL"
    if isinstance(m, ir.FieldRef):
        guard += f" AND {_name(m.field)} IS NOT NULL"
    return f"({guard} AND {_test(x, m)})"


def _paren(node: ir.Node) -> str:
    text = condition(node)
    return f"({text})" if isinstance(node, (ir.And, ir.Or)) and len(node.args) > 1 else text


def _like(parts: tuple[object, ...], fold: bool) -> str:
    out = []
    for p in parts:
        if p is ir._MULTI:
            out.append("*")
        elif p is ir._SINGLE:
            out.append("?")
        else:
            text = str(p).lower() if fold else str(p)
            out.append(re.sub(r"([*?\\])", r"\\\1", text))
    return "".join(out)


_OP = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "neq": "!="}


def _test(x: str, m: ir.Matcher) -> str:
    if isinstance(m, ir.Text):
        subject = x if m.cased else f"TO_LOWER({x})"
        if m.kind == "exact":
            return f"{subject} == {c_string(m.literal if m.cased else m.literal.lower())}"
        return f"{subject} LIKE {c_string(_like(m.parts, not m.cased))}"
    if isinstance(m, ir.Number):
        return f"TO_DOUBLE({x}) == {m.value}"
    if isinstance(m, ir.Compare):
        return f"TO_DOUBLE({x}) {_OP[m.op]} {m.value}"
    if isinstance(m, ir.Bool):
        return f"TO_LOWER(TO_STRING({x})) == {c_string('true' if m.value else 'false')}"
    if isinstance(m, ir.Cidr):
        ip = x
        if isinstance(m, AddressCidr):  # (REPLACE is Java's replaceAll: an unset group is "")
            ip = f"REPLACE({x}, {c_string('|'.join(ADDRESS_PATTERNS))}, \"$1$2\")"
        return f"CIDR_MATCH(TO_IP({ip}), {c_string(str(m.network))})"
    if isinstance(m, ir.FieldRef):
        a, b = f"TO_LOWER({x})", f"TO_LOWER({_name(m.field)})"
        if m.starts and m.ends:
            return f"LOCATE({a}, {b}) > 0"
        if m.starts or m.ends:
            return f"{'STARTS_WITH' if m.starts else 'ENDS_WITH'}({a}, {b})"
        return f"{a} == {b}"
    if isinstance(m, ir.Regex):
        raise NotExportable(
            "|re: ES|QL's RLIKE is a Lucene regular expression matched in full, without inline "
            "flags: another language than Sigma's"
        )
    raise NotExportable(f"{m} has no ES|QL form here")


def _bound(pack: ExportPack) -> dict[str, list[tuple[ExportRule, str | None]]]:
    """Per source, each rule's ES|QL condition (None: not exported there, with why in _why)."""
    out: dict[str, list[tuple[ExportRule, str | None]]] = {}
    for source in pack.sources:
        out[source] = []
        for r in pack.rules:
            tree = r.trees.get(source)
            text: str | None = None
            if tree is not None:
                node = bind(tree, functools.partial(resolve, source))
                try:
                    text = None if node == FALSE else condition(node)
                except NotExportable:
                    text = None
            out[source].append((r, text))
    return out


def left_out(pack: ExportPack) -> list[str]:
    lines = []
    for source, rules in _bound(pack).items():
        for r, text in rules:
            if text is None and source in r.trees:
                node = bind(r.trees[source], functools.partial(resolve, source))
                try:
                    why = "it reads no field the integration maps" if node == FALSE else condition(node)
                except NotExportable as e:
                    why = str(e)
                lines.append(
                    f"rule {r.rule.id} ({r.rule.path}): not exported to esql for {DATASETS[source]}: {why}"
                )
    return lines + unapplied_filters(pack, resolve, "esql", DATASETS.__getitem__)


def _weighted(rules: list[ExportRule]) -> str:
    return " + ".join(r.column if r.weight == 1 else f"{r.column} * {r.weight}" for r in rules) or "0"


def render(pack: ExportPack) -> str:
    detections, contexts = pack.detections(), pack.contexts()
    bound = _bound(pack)
    flags = []
    for i, r in enumerate(pack.rules):
        legs = [
            f"(data_stream.dataset == {c_string(DATASETS[s])} AND ({text}))"
            for s, rules in bound.items() if (text := rules[i][1]) is not None
        ]
        flags.append(f"{r.column} = CASE({' OR '.join(legs)}, 1, 0)" if legs else f"{r.column} = 0")
    hit = " OR ".join(f"{r.column} == 1" for r in detections) or "false"
    score = f"TO_DOUBLE({_weighted(detections)})"
    if contexts:
        score += f" + CASE({hit}, TO_DOUBLE({_weighted(contexts)}), 0.0)"
    signals = [
        f"{s} = CASE({' OR '.join(f'{r.column} == 1' for r in detections if r.rule.signal == s)}, 1, 0)"
        for s in pack.signals
    ]
    lines = [
        f"// trailhound export --to esql: pack {pack.name}, {len(pack.rules)} rule(s)",
        *(f"// {one_line(n)}" for n in pack.notes),
        *(f"// {r.column}: {r.rule.id} {one_line(r.rule.title)}" for r in pack.rules),
        *(f"// {line}" for line in left_out(pack)),
        "FROM " + ", ".join(f"logs-{DATASETS[s]}-*" for s in pack.sources),
        *(f"| EVAL {f}" for f in flags),
        *([f"| EVAL {', '.join(signals)}"] if signals else []),
        f"| EVAL suspicion_score = {score}",
        f"| WHERE ({hit}) AND suspicion_score > 0",
        f"| KEEP `@timestamp`, data_stream.dataset, event.action, {', '.join([*pack.signals, 'suspicion_score'])}",
        "| SORT suspicion_score DESC, `@timestamp` ASC",
    ]
    return "\n".join(lines) + "\n"


TARGET = Target(
    "esql", "ES|QL over Elastic's AWS, Azure, GCP and Microsoft 365 integrations (ECS fields)", render,
    left_out=left_out,
)
