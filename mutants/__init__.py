"""Deliberate mutants of the sync engine, and the runner behind ``make mutants``.

Each mutant is a few exact text substitutions in ``src/leadcache``, applied to a *temporary
copy* of ``src/`` that the test run imports first (``PYTHONPATH``); the working tree and the
installed package are never modified, and nothing in the production code knows mutants exist.
The invariant suite must fail against every mutant ("kill" it). A mutant whose anchor text no
longer appears exactly once makes the run fail loudly, so the catalogue is kept in step with
the code it mutates.
"""
