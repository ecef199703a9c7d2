"""The related pack's rule ids: uuid5 of the rule's name, so an id is derived, never invented,
and a rule renamed on purpose gets a new id (Sigma: a changed rule that means something else is
a new rule). tests/test_related_ids.py holds every rule of the pack to it."""

from __future__ import annotations

import uuid

PREFIX = "trailhound/related/"


def related_id(name: str) -> str:
    """`aws_ec2_ami_shared` -> its rule id (uuid5 under the URL namespace)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, PREFIX + name))
