"""Every rule and correlation of the related pack has the pack's derived id: uuid5 (URL
namespace) of `trailhound/related/<name>`, computed here with the standard library, not read from
trailhound. A hand-made or random id fails, and so does a name used twice."""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml

import trailhound
from trailhound.rules.related_ids import related_id

PACK = Path(trailhound.__file__).parent / "rules" / "packs" / "related"


def _docs() -> list[tuple[str, dict[str, object]]]:
    out = []
    for f in sorted(PACK.glob("*.yml")):
        out += [(f.name, d) for d in yaml.safe_load_all(f.read_text()) if d]
    return out


def test_pack_has_rules() -> None:
    assert len(_docs()) >= 30


def test_every_id_is_uuid5_of_its_name() -> None:
    wrong = [(f, d.get("name"), d.get("id")) for f, d in _docs()
             if d.get("id") != str(uuid.uuid5(uuid.NAMESPACE_URL, f"trailhound/related/{d.get('name')}"))]
    assert wrong == []


def test_names_are_unique() -> None:
    names = [d.get("name") for _, d in _docs()]
    assert len(names) == len(set(names))


def test_helper_agrees_with_the_scheme() -> None:
    assert related_id("aws_ec2_ami_shared") == "1b85f613-7a9b-54e3-9382-b73b326377fd"
