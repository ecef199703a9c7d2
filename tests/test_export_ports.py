"""An allowlist `cidr` in exported queries, on source addresses that carry the client's port
(Microsoft 365's ClientIP and Azure's callerIpAddress: `1.2.3.4:5678`, `[2001:db8::1]:443`).

trailhound's engines compare the address without the port; every export must too. Oracles: the
hand-written ADDRESSES table (which logged value lies in the allowlisted network), DuckDB running
the SQL export, `detect` (the reference engine) on the same records; for KQL and SPL, whose
engines are not at hand, the emitted expression is evaluated here by the functions' documented
semantics (KQL `case` / `matches regex` / `extract` / `ipv4_is_in_range`, RE2 - learn.microsoft.com
kusto/query; SPL `case` / `match` / `replace` / `cidrmatch`, PCRE - docs.splunk.com eval functions).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import re2
import regex
from hypothesis import given
from hypothesis import strategies as st

from trailhound.export import TARGETS
from trailhound.export.build import ruleset_for
from trailhound.export.normalized import ADDRESS_PATTERNS, PORT_CUT, paths
from trailhound.export.pack import build
from trailhound.logsources import SOURCES
from trailhound.model import Location, RawRecord
from trailhound.normalize import NORMALIZERS
from trailhound.normalize._fields import address
from trailhound.pipeline import scan
from trailhound.profiles import get_profile

NET = "10.20.0.0/16"
# ClientIP as logged -> whether its address lies in NET (by hand, from the brief's definition:
# the client's port, after `:` or after a bracketed address, is not part of the address)
ADDRESSES: dict[str, bool] = {
    "10.20.1.2:5678": True,
    "10.20.1.3": True,
    "[10.20.1.4]:443": True,
    "[10.20.1.5]": True,
    "10.21.0.1:5678": False,
    "10.20.1.6:": False,  # no port digits: not an address with a port
    "10.20.1.7:80:90": False,
    "[2001:db8::1]:443": False,
    "2001:db8::1": False,
    "10.20.1.8:80\n": False,  # a newline is not a port digit ($ before a final newline)
    "x10.20.1.9:80": False,
    "[10.20.1.10:80": False,
    "10.20.1.11:8a": False,
}
RULE = """title: file downloaded
id: 0d3c7a7e-2b55-4e0c-9f4e-6c5a1b2c3d01
logsource: {product: m365, service: audit}
level: high
detection:
  selection:
    Operation: FileDownloaded
  condition: selection
"""


def _records() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i, ip in enumerate([*ADDRESSES, None]):
        r: dict[str, object] = {
            "CreationTime": f"2026-02-03T09:10:{i:02d}", "Id": f"ev-{i:02d}",
            "Operation": "FileDownloaded", "OrganizationId": "org-1", "RecordType": 6,
            "UserId": "dana@fabrikam.example", "UserType": 0, "Workload": "SharePoint",
        }
        if ip is not None:
            r["ClientIP"] = ip
        out.append(r)
    return out


def _kept_ids() -> set[str]:
    """The oracle: records not allowlisted (their address is not in NET, or none is logged)."""
    return {str(r["Id"]) for r in _records() if not ADDRESSES.get(str(r.get("ClientIP")), False)}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    rule, allow, log = tmp_path / "rule.yml", tmp_path / "allow.yml", tmp_path / "m365.jsonl"
    rule.write_text(RULE, encoding="utf-8")
    allow.write_text(f"- cidr: {NET}\n  provider: m365\n  reason: office\n", encoding="utf-8")
    log.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    return rule, allow, log


def _export(rule: Path, allow: Path, target: str) -> str:
    ruleset, messages = ruleset_for(None, [str(rule)], [str(allow)], None)
    assert messages == []
    return TARGETS.get(target).render(build(ruleset, "corrected"))


def test_detect_compares_the_address(setup: tuple[Path, Path, Path]) -> None:
    rule, allow, log = setup
    ruleset, _ = ruleset_for(None, [str(rule)], [str(allow)], None)
    res = scan([str(log)], get_profile("corrected"), ruleset=ruleset, engine="reference")
    assert {f.event.event_id for f in res.findings} == _kept_ids()


def test_duckdb_runs_the_sql_export_on_ported_addresses(setup: tuple[Path, Path, Path]) -> None:
    rule, allow, log = setup
    con = duckdb.connect()
    con.execute(f"CREATE VIEW m365_audit AS SELECT json AS raw FROM read_json_objects('{log}')")
    for name in ("cloudtrail", "azure_activity", "entra_audit", "entra_signin", "gcp_audit"):
        con.execute(f"CREATE VIEW {name} AS SELECT CAST(NULL AS JSON) AS raw WHERE false")
    cur = con.execute(_export(rule, allow, "duckdb-sql"))
    at = [c[0] for c in cur.description].index("event_id")
    assert {row[at] for row in cur.fetchall()} == _kept_ids()


# -- KQL and SPL: the emitted expression, evaluated by the functions' documented semantics -----

_KQL = re.compile(
    r'not\(ipv4_is_in_range\(case\(ClientIP matches regex @"(?P<p1>(?:[^"]|"")*)", '
    r'extract\(@"(?P=p1)", 1, ClientIP\), ClientIP matches regex @"(?P<p2>(?:[^"]|"")*)", '
    r'extract\(@"(?P=p2)", 1, ClientIP\), ClientIP\), "(?P<net>[0-9./]+)"\)\)'
)
_SPL_STRING = r'"((?:[^"\\]|\\.)*)"'
_SPL = re.compile(
    r"cidrmatch\(" + _SPL_STRING + r", case\(match\(ClientIP, " + _SPL_STRING
    + r"\), replace\(ClientIP, " + _SPL_STRING + r", " + _SPL_STRING + r"\), match\(ClientIP, "
    + _SPL_STRING + r"\), replace\(ClientIP, " + _SPL_STRING + r", " + _SPL_STRING
    + r"\), true\(\), ClientIP\)\)"
)


def _in(ip: str, net: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(net)
    except ValueError:  # ipv4_is_in_range / cidrmatch: not an address, no match
        return False


def _kql_allowlisted(text: str) -> Callable[[str], bool]:
    (m,) = {x.group(0): x for x in _KQL.finditer(text)}.values()  # (one test, on every rule)
    p1, p2 = (m["p1"].replace('""', '"'), m["p2"].replace('""', '"'))

    def allowlisted(value: str) -> bool:
        for p in (p1, p2):  # case(): the first true predicate; `matches regex`: an RE2 search
            found = re2.search(p, value)
            if found:
                return _in(found.group(1), m["net"])  # extract(p, 1, x): group 1 of the match
        return _in(value, m["net"])

    return allowlisted


def _spl_unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def _spl_allowlisted(text: str) -> Callable[[str], bool]:
    (m,) = set(_SPL.findall(text))  # (one test, on every rule)
    net, t1, r1, g1, t2, r2, g2 = map(_spl_unescape, m)
    assert (t1, t2) == (r1, r2)

    def allowlisted(value: str) -> bool:
        for p, g in ((t1, g1), (t2, g2)):  # case(); match(): a PCRE search
            if regex.search(p, value):  # (the regex module reads PCRE's \z; re does not)
                return _in(regex.sub(p, g, value), net)  # replace(): every match, \1 its group
        return _in(value, net)

    return allowlisted


@pytest.mark.parametrize(("target", "reader"), [("kql", _kql_allowlisted), ("splunk", _spl_allowlisted)])
def test_kql_and_spl_compare_the_address(
    setup: tuple[Path, Path, Path], target: str, reader: Callable[[str], Callable[[str], bool]]
) -> None:
    rule, allow, _ = setup
    allowlisted = reader(_export(rule, allow, target))
    assert {v: allowlisted(v) for v in ADDRESSES} == ADDRESSES


# -- the patterns themselves ----------------------------------------------------------------------


def _by_patterns(value: str, search: Callable[[str, str], object]) -> str:
    for p in ADDRESS_PATTERNS:
        m = search(p, value)
        if m:
            return str(m.group(1))  # type: ignore[attr-defined]
    return value


@given(st.text(alphabet="0123456789.:[]abf \n", max_size=24))
def test_patterns_cut_the_port_as_the_normalizers_do(value: str) -> None:
    """RE2 (DuckDB, Kusto) and the regex module (as PCRE and Java read these patterns) against
    the normalizers' function, over ASCII values (a SIEM's [0-9] is ASCII; str.isdigit is not)."""
    want = address(value)
    assert _by_patterns(value, re2.search) == want
    assert _by_patterns(value, regex.search) == want


def test_port_cut_names_the_sources_whose_normalizer_cuts_the_port() -> None:
    for source in SOURCES.values():
        src_paths = paths(source.name, "src_ip")
        sample = json.loads(json.dumps(source.sample))
        if not src_paths:
            continue
        node = sample
        *parents, leaf = src_paths[0].split(".")
        for k in parents:
            node = node.setdefault(k, {})
        node[leaf] = "198.51.100.7:50312"
        rec = RawRecord(sample, Location("sample", line=1), source.name, "single")
        event, _ = NORMALIZERS.get(source.name)(rec)
        cut = event.src_ip == "198.51.100.7"
        assert cut == (source.name in PORT_CUT), source.name
