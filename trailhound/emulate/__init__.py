"""Emulated attacks: telemetry in the real export formats for the detection page's adversary
tests, each seed signal per cloud, attack chains, benign look-alikes and background noise
(`trailhound emulate`). The record builders are shared with the demo generator (tools/loggen)."""
