"""The benchmark harness: the real daemon against sandbox processes, one table per scenario.

``python -m bench [--size tiny|small|full] [--scenario NAME ...] [--record]``; see ``bench/RESULTS.md``.
"""
