"""Comparisons of many recipes x seeds on one budget (`gankit compare`): spec.py (what to run), plan.py
(what is done, what to skip), worker.py and backends.py (local processes, Ray), stats.py (mean ± std,
Welch's test), results.py, figures.py and report.py (report.html, results.csv, results.json)."""
from .compare import StudyResult, compare
from .spec import Spec, SpecError, bundled_specs, read_spec

__all__ = ["compare", "StudyResult", "Spec", "SpecError", "read_spec", "bundled_specs"]
