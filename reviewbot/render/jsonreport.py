"""`--format json`: the report as Report.to_json writes it (README "JSON")."""
from __future__ import annotations

from reviewbot.findings import Report


def format_json(report: Report, _options) -> str:
    return report.to_json()
