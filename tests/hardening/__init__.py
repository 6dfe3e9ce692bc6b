"""Hardening tests: extreme values, random graphs, memory, files, threads (issue 6)."""
