"""Supernet search: evolutionary (SPOS-style), random and grid search under FLOPs/params limits,
Pareto fronts, search-space analysis, subnet export."""
