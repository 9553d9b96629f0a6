"""The regressor and how good its fill-in is, judged without ground truth (pure numpy/scikit-learn).

scikit-learn's histogram gradient boosting: deterministic for a seed, seconds to fit 10,000 archs and
predict 50,000 on one core, and on the real 2021 list it reproduced the winner's own ranking from a
5% sample where a degree-2 ridge fell short (issue 24). Early stopping is off, so a fit does not
depend on a validation split and a rerun gives the same bytes. Small trees (7 leaves) over 500 rounds
were chosen among five settings by how well they agree with a Fashion-MNIST supernet's own scores of
archs the fit had not seen, from 100 to 2,500 scored archs (no ground truth in the choice): with 4 x 800
the best, ahead of larger trees at 100 archs, and the better of the two from 500 up
(`python benchmarks/predictor_fmnist.py --candidates`).
"""
import numpy as np

from hnas.errors import HnasError
from hnas.metrics import kendall_tau

MIN_FIT_ARCHS = 10  # below this a K-fold split leaves folds too small to rank


def regressor(seed, n_archs):
    """A fresh regressor; leaves may hold fewer archs on a small sample (20 of 50 would allow 2 splits)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    return HistGradientBoostingRegressor(max_iter=500, learning_rate=0.05, max_leaf_nodes=7,
                                         min_samples_leaf=max(2, min(20, n_archs // 25)), early_stopping=False,
                                         random_state=seed)


def settings(seed, n_archs):
    """The regressor's name and settings, for the record beside a predicted file."""
    model = regressor(seed, n_archs)
    return {"name": type(model).__name__, "library": "scikit-learn",
            "params": {k: v for k, v in model.get_params().items() if isinstance(v, (int, float, str, bool, type(None)))}}


def check_fit_size(n_archs, folds):
    if n_archs < max(MIN_FIT_ARCHS, 2 * folds):
        raise HnasError(f"a predictor needs at least {max(MIN_FIT_ARCHS, 2 * folds)} scored archs "
                        f"({folds}-fold check), got {n_archs}")


def fit_predict(train_x, train_y, test_x, seed):
    from threadpoolctl import threadpool_limits
    # one OpenMP thread: with its 2 threads on 2 cores that another job shares, a fit ran 5-10x slower (issue 24)
    with threadpool_limits(1, user_api="openmp"):
        model = regressor(seed, len(train_y)).fit(train_x, train_y)
        return model.predict(test_x)


def out_of_fold(features, scores, folds=5, seed=0):
    """K-fold over the scored archs: each fold predicted by a regressor fitted on the others.
    {'tau_b': Kendall tau-b of all out-of-fold predictions against the scores, 'fold_tau_b': per fold}.
    It is a little pessimistic: each fit sees (K-1)/K of the sample the final fit sees."""
    scores = np.asarray(scores, dtype=np.float64)
    check_fit_size(len(scores), folds)
    order = np.random.RandomState(seed).permutation(len(scores))
    predicted = np.empty_like(scores)
    fold_taus = []
    for held in np.array_split(order, folds):
        train = np.setdiff1d(order, held)
        predicted[held] = fit_predict(features[train], scores[train], features[held], seed)
        fold_taus.append(kendall_tau(predicted[held], scores[held]))
    return {"tau_b": kendall_tau(predicted, scores), "fold_tau_b": fold_taus, "folds": folds}
