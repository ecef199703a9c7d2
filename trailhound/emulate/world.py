"""The invented organisation every emulated log belongs to (Acme: accounts, tenant, project,
attacker addresses from the documentation ranges) and the seeded id generator and time formats
shared by the record builders. Moved from tools/loggen/demo.py: the demo dataset and `trailhound
emulate` draw from the same world."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]

DAY = datetime(2026, 3, 14, tzinfo=UTC)

ACCT = "111122223333"  # acme-prod
ACCT2 = "444455556666"  # acme-data
ORG_ID = "o-7h2kq9x4mz"
EXT_ACCT = "777788889999"  # the attacker's own AWS account
REGION = "us-east-1"
ORG_TRAIL, LOCAL_TRAIL, DATA_TRAIL = "acme-org-trail", "acme-prod-local", "acme-data-trail"
TRAIL_BUCKET = "acme-org-cloudtrail-logs"
DETECTOR = "6ec6d8a2f1b04e5c9a7e3b21d4f08c57"
SUB = "a3f6c2d1-7b4e-4c9a-9e21-5d8f0b6c4e17"  # Azure subscription acme-prod
TENANT = "5c1e8a92-3d47-4f0b-b6a1-2e9d7c4f8a30"
DOMAIN = "acme.example"
PROJECT, PROJECT_NUM = "acme-prod-4821", "418273650921"

AWS_ATTACKER, GCP_ATTACKER, AZ_ATTACKER = "203.0.113.77", "192.0.2.45", "198.51.100.23"

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


class Ids:
    """Every random value comes from one seeded generator, consumed in a fixed order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, n: int) -> str:
        return self.chars("0123456789abcdef", n)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def digits(self, n: int) -> str:
        return str(self.rng.randint(1, 9)) + self.chars("0123456789", n - 1)

    def aws(self, prefix: str, acct: str) -> str:
        """AIDA/AROA (21 chars) or AKIA/ASIA (20 chars) ids; ids of one account share a block."""
        block = {ACCT: "YB4K2WQX", ACCT2: "N7CF3RDZ"}[acct]
        return prefix + block + self.chars(B32, 9 if prefix in ("AIDA", "AROA") else 8)

    def ip(self, prefix: str) -> str:
        return f"{prefix}.{self.rng.randint(2, 250)}"

    def pick(self, seq: list[Any]) -> Any:
        return self.rng.choice(seq)


def at(hms: str | datetime) -> datetime:
    """`HH:MM:SS` on the story's day (the demo's hand-written timeline), or a datetime as is."""
    if isinstance(hms, datetime):
        return hms
    h, m, s = (int(x) for x in hms.split(":"))
    return DAY.replace(hour=h, minute=m, second=s)


def z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def frac(dt: datetime, digits: int, ids: Ids, suffix: str = "Z") -> str:
    """Sub-second timestamps as Azure (7 digits) and GCP (9 digits) write them."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + ids.chars("0123456789", digits) + suffix


def aws_date(dt: datetime) -> str:
    """IAM/STS response dates as CloudTrail writes them: 'Mar 14, 2026, 9:06:45 AM'."""
    return f"{dt:%b %d, %Y}, {int(dt.strftime('%I'))}:{dt:%M:%S %p}"


def kebab(name: str) -> str:
    name = re.sub(r"\d{8}(v\d)?$", "", name)  # Lambda's API-version suffix
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
