"""Moved to trailhound/emulate/files.py (`trailhound emulate` writes the same formats); kept so the
bench generator's imports stay valid."""

from trailhound.emulate.files import digest_key, dumps_min, gzip_bytes, json_lines, trail_key

__all__ = ["digest_key", "dumps_min", "gzip_bytes", "json_lines", "trail_key"]
