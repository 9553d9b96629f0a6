"""An accuracy predictor (once-for-all's, for the competitions' lists): a regressor fitted on the
scores of a sample of an arch file predicts the rest, so a supernet scores a sample, not the list."""
