"""MITRE ATT&CK from the rules' Sigma tags: technique and tactic ids (tags.py) and ATT&CK
Navigator layers of what fired or what the packs cover (layer.py)."""
