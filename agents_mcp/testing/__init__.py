"""Test suites on the agent-testing API: scenarios x repeats, pass rates, deltas, triage.

payload.py: the TypedDicts of the compact result (shared with the viewer). analysis.py: pure
functions from invocations to that payload. suite.py: suite files. runner.py: the I/O.
"""
