"""The visual report's data (``empathy report``): gathered once in core, drawn by :mod:`empathy.report`."""

from empathy.core.report.data import ReportData
from empathy.core.report.gather import MISSING, build_report

__all__ = ["MISSING", "ReportData", "build_report"]
