"""`hnas ablate`: rank consistency of a grid of recipes against stand-alone ground truth."""
