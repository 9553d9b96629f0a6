"""`hnas search`: score candidates with a trained supernet (the evaluator's BN mode and metric) and
keep the best, by evolution (SPOS), random search or a grid over named genes, under FLOPs/params
limits. Resumable: every score is saved as it is computed, and a rerun regenerates the same
candidates (each generation's random numbers follow from the seed and the generation) and scores
only the ones not yet scored."""
import random
from pathlib import Path

from hnas.errors import HnasError
from hnas.layout import SEARCH_STATE
from hnas.stopping import arm, stop_here
from hnas.archfile import write_arch_file
from hnas.fingerprint import scoring_settings, weights_fingerprint
from hnas.io import check_writable, write_json
from hnas.plots import save_png, subplots
from hnas.progress import progress
from hnas.proxies.limits import Limits
from hnas.proxies.score import DEFAULT_CLASSES
from hnas.score_store import SaveSchedule, ScoreStore
from hnas.search.candidates import grid_candidates, offspring, pareto_front, random_candidates
from hnas.spaces import get_space

METHODS = ("evolution", "random", "grid")
SAVE_EVERY = 10


class ScoreBook:
    """Scores by arch string in the order they were computed, and the generations' history, in
    state.json (a ScoreStore)."""

    def __init__(self, out, fingerprint, score):
        self.store = ScoreStore(Path(out) / SEARCH_STATE, fingerprint, mismatch=(
            f"{out} holds a search with other settings (checkpoint, method, limits or eval); use another "
            f"--out or pass --fresh"))
        self.scores, self._score = self.store.scores, score
        self.schedule = SaveSchedule(self.store.save, every=SAVE_EVERY)
        self.history = self.store.extra.setdefault("history", [])
        self._recorded = {h["generation"] for h in self.history}
        if self.scores:
            print(f"resuming the search in {out}: {len(self.scores)} archs already scored")

    def score_all(self, space, archs, desc):
        texts = [space.format(arch) for arch in archs]
        arm()
        try:
            for arch, text in zip(progress(archs, desc=desc, unit="arch", leave=False, dynamic_ncols=True), texts):
                if text not in self.scores:
                    self.scores[text] = self._score(arch)
                    self.schedule.added()
                    stop_here(f"{len(self.scores)} archs scored (kept in {self.store.path})")
        except BaseException:  # an interrupted or failed search keeps every arch it scored
            self.save()
            raise
        return [self.scores[t] for t in texts]

    def record(self, entry):
        """A generation's summary; a resumed search replays its generations, so one lost with the
        last save is recorded again."""
        if entry["generation"] not in self._recorded:
            self._recorded.add(entry["generation"])
            self.history.append(entry)
            self.schedule.added(0)

    def save(self):
        self.schedule.save_now()

    def best(self, count, among=None):
        """The `count` best scored archs (of `among` if given); ties broken by the arch string."""
        pool = self.scores if among is None else [t for t in among if t in self.scores]
        return sorted(pool, key=lambda text: (-self.scores[text], text))[:count]


def _generation_summary(generation, book, population):
    best = population[0]
    return {"generation": generation, "best_arch": best, "best_score": book.scores[best],
            "population_mean": sum(book.scores[t] for t in population) / len(population),
            "scored": len(book.scores)}


def evolve(space, book, rng_for, allowed, generations, population, parents, mutations, crossovers, probability):
    """SPOS evolution. `proposed` holds the archs of the generations so far; a rerun replays the same
    generations (scores come from the book), so a resumed search follows the same trajectory."""
    proposed = set()
    start = random_candidates(space, rng_for(0), population, allowed, proposed)
    if not start:
        raise HnasError("no candidate satisfies the limits")
    book.score_all(space, start, "generation 0")
    book.record(_generation_summary(0, book, book.best(population, proposed)))
    for generation in range(1, generations + 1):
        top = [space.parse(t) for t in book.best(parents, proposed)]
        children = offspring(space, top, rng_for(generation), mutations, crossovers, probability, allowed, proposed)
        book.score_all(space, children, f"generation {generation}")
        book.record(_generation_summary(generation, book, book.best(population, proposed)))


def _write_outputs(out, space, book, limits, top_k):
    texts = list(book.scores)
    entries = [(f"arch{i + 1}", t) for i, t in enumerate(texts)]
    write_arch_file(out / "scored.json", entries, {k: book.scores[t] for k, t in entries})
    top = book.best(top_k)
    write_arch_file(out / "top.json", [(f"top{i + 1}", t) for i, t in enumerate(top)],
                    {f"top{i + 1}": book.scores[t] for i, t in enumerate(top)})
    write_json(out / "history.json", book.history, indent=1)
    measured = [limits.measure(space.parse(t)) for t in texts]
    fronts = {}
    for cost in ("flops", "params"):
        front = pareto_front([(m[cost], book.scores[t]) for m, t in zip(measured, texts)])
        fronts[cost] = front
        write_json(out / f"pareto_{cost}.json", {f"arch{i + 1}": {"arch": texts[i], "acc": book.scores[texts[i]],
                                                                  "flops": measured[i]["flops"],
                                                                  "params": measured[i]["params"]}
                                                 for i in front}, indent=1)
    _plot_pareto(out / "pareto.png", texts, book.scores, measured, fronts)
    return top


def _plot_pareto(path, texts, scores, measured, fronts):
    fig, axes = subplots(1, 2, figsize=(10, 4))
    for ax, cost in zip(axes, ("flops", "params")):
        xs, ys = [m[cost] for m in measured], [scores[t] for t in texts]
        ax.scatter(xs, ys, s=6, alpha=0.4, label="scored")
        front = sorted(fronts[cost], key=lambda i: xs[i])
        ax.plot([xs[i] for i in front], [ys[i] for i in front], "r.-", label="Pareto front")
        ax.set(xlabel="FLOPs (MACs)" if cost == "flops" else "parameters", ylabel="supernet score")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path)


def search(config, checkpoint, out, method="evolution", generations=10, population=20, parents=5,
           mutations=10, crossovers=10, mutate_prob=0.1, budget=None, dims=(), base_arch=None, top_k=10,
           seed=0, fresh=False, min_flops=None, max_flops=None, min_params=None, max_params=None):
    from hnas.build import build_scorer
    from hnas.checkpoint import resolve_checkpoint
    if method not in METHODS:
        raise HnasError(f"unknown search method {method!r}; expected one of {', '.join(METHODS)}")
    space = get_space(config["space"])
    out = Path(out)
    check_writable(out)
    if fresh:
        (out / SEARCH_STATE).unlink(missing_ok=True)
    scorer, params = build_scorer(config, checkpoint)  # a multi-stage or few-shot run included
    meta = resolve_checkpoint(params[0])[1]
    # a checkpoint without hnas metadata: the recipe's classes, else the space's competition's (100 / 1000)
    num_classes = meta.get("num_classes") or config["data"]["num_classes"] or DEFAULT_CLASSES[space.name]
    limits = Limits(space, num_classes, meta.get("image_size") or config["data"]["image_size"],
                    config["model"], min_flops, max_flops, min_params, max_params)
    limits.check_reachable(random.Random(seed))
    base = space.parse(base_arch, key="--base_arch") if base_arch else space.largest()
    settings = {"method": method, "generations": generations, "population": population, "parents": parents,
                "mutations": mutations, "crossovers": crossovers, "mutate_prob": mutate_prob, "budget": budget,
                "dims": list(dims), "base_arch": space.format(base), "seed": seed, "limits": limits.bounds}
    fingerprint = {"weights": weights_fingerprint(params), "settings": scoring_settings(config), "search": settings}
    grid = grid_candidates(space, base, list(dims), limits) if method == "grid" else None
    book = ScoreBook(out, fingerprint, lambda arch: scorer.evaluate(arch)["score"])

    def rng_for(generation):
        return random.Random(f"search:{seed}:{generation}")

    if method == "evolution":
        evolve(space, book, rng_for, limits, generations, population, parents, mutations, crossovers, mutate_prob)
    else:
        count = budget or population * (generations + 1)
        archs = grid if method == "grid" else random_candidates(space, rng_for(0), count, limits, set())
        book.score_all(space, archs, method)
        book.record(_generation_summary(0, book, book.best(population)))
    book.save()
    top = _write_outputs(out, space, book, limits, top_k)
    print(f"{method} search: scored {len(book.scores)} archs within {limits.describe()}; best {top[0]} "
          f"(score {book.scores[top[0]]:.4f}); wrote {out}/top.json, scored.json, history.json, pareto.png")
    return book
