"""The evaluation harness behind ``tools/evaluate.py`` (``shared/eval/FORMAT.md``).

suite.py (read and check suites), runner.py (real Home Assistant, agents, one turn per case),
scoring.py (FORMAT.md's rules), report.py (tables, plots, report.md).
"""
