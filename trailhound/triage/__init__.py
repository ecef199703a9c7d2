"""Triage: what a responder does with the findings. Everything here is built on the finding rows
(report/columns.row), which every engine produces identically, plus the one reader loop for the
events a timeline shows; nothing here prints."""
