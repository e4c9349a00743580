"""Worked examples: the design's three agents, and a simulated day that runs them."""
