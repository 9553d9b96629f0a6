"""Scoring many archs: BN modes, metrics, test subsets, resumable sharded runs, submission files."""
