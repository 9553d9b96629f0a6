"""Filling in an arch file from the scores of some of its archs, and the record that says so (no paddle).

The written file is in the competition format with every arch scored: the scored ones keep their
score, the rest get the predictor's. The record beside it (OUT.predict.json) names which archs were
scored and which predicted, the predictor, its features, the sample and the fill-in's K-fold quality.
"""
import numpy as np

from hnas.errors import HnasError
from hnas.io import write_json
from hnas.archfile import min_max, write_arch_file
from hnas.predictor.features import arch_features
from hnas.layout import predict_record
from hnas.predictor.regressor import fit_predict, out_of_fold, settings

RULES_NOTE = ("scores of archs outside the scored sample were made by an accuracy predictor, not by the supernet: "
              "the CVPR 2022 Track 1 rules forbid submitting predicted accuracies; for a submission to that "
              "track score every arch with hnas test")


class FillIn:
    """One arch file's features, computed once; fitted on any subset of its keys' scores."""

    def __init__(self, space, entries):
        self.space, self.entries = space, entries
        self.names, self.features = arch_features(space, [space.parse(text) for _, text in entries])
        self.row = {key: i for i, (key, _) in enumerate(entries)}
        self.params = self.features[:, self.names.index("params")]

    def _rows(self, scored):
        unknown = [key for key in scored if key not in self.row]
        if unknown:
            raise HnasError(f"{len(unknown)} scored keys are not in the arch file (e.g. {unknown[0]!r})")
        keys = [key for key, _ in self.entries if key in scored]
        return [self.row[k] for k in keys], np.array([scored[k] for k in keys], dtype=np.float64)

    def quality(self, scored, folds, seed):
        rows, values = self._rows(scored)
        return out_of_fold(self.features[rows], values, folds, seed)

    def complete(self, scored, seed):
        """{key: score} for every arch: the scored ones' own, the rest predicted."""
        rows, values = self._rows(scored)
        rest = [i for i, (key, _) in enumerate(self.entries) if key not in scored]
        full = dict(scored)
        if rest:
            predicted = fit_predict(self.features[rows], values, self.features[rest], seed)
            full.update({self.entries[i][0]: float(v) for i, v in zip(rest, predicted)})
        return full


def write_filled(out, fill, scored, quality, seed, sample, normalize=False):
    """Write `out` (min-max scaled over every arch with `normalize`) and its record; returns the record.
    `sample` describes how the scored archs were chosen."""
    full = fill.complete(scored, seed)
    write_arch_file(out, fill.entries, min_max(full) if normalize else full)
    record = {"note": RULES_NOTE, "space": fill.space.name,
              "archs": len(fill.entries), "scored": len(scored), "predicted": len(fill.entries) - len(scored),
              "fill_in_quality": {"kfold_tau_b": quality["tau_b"], "fold_tau_b": quality["fold_tau_b"],
                                  "folds": quality["folds"], "against": "the scored archs' own scores"},
              "predictor": {**settings(seed, len(scored)), "seed": seed, "target": "the scores as given"},
              "features": fill.names, "sample": sample, "normalized": normalize,
              "scored_keys": [key for key, _ in fill.entries if key in scored]}
    write_json(predict_record(out), record, indent=1)
    return record
