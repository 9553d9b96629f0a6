"""Candidate archs for search (pure Python). Archs are handled as genes (the space's fixed-length
list of independent choices), so mutation and crossover always give valid archs of either space.
Every generator only returns archs that satisfy `allowed` (the FLOPs/params limits) and are not in
`seen`, in the space's canonical form (one string per network), so nothing outside the limits is
ever scored and no network is scored twice."""
import itertools

from hnas.errors import HnasError

MAX_TRIES_PER_CANDIDATE = 200


def _collect(make, count, allowed, seen, space):
    found = []
    for _ in range(count * MAX_TRIES_PER_CANDIDATE):
        if len(found) == count:
            break
        arch = space.canonical(make())
        text = space.format(arch)
        if text not in seen and allowed(arch):
            seen.add(text)
            found.append(arch)
    return found


def random_candidates(space, rng, count, allowed, seen):
    return _collect(lambda: space.sample(rng), count, allowed, seen, space)


def mutate(space, arch, rng, probability):
    """Each gene is redrawn from its choices with `probability` (at least one gene changes)."""
    genes, choices = list(space.to_genes(arch)), space.gene_choices()
    positions = [i for i in range(len(genes)) if rng.random() < probability] or [rng.randrange(len(genes))]
    for i in positions:
        genes[i] = rng.choice(choices[i])
    return space.from_genes(genes)


def crossover(space, first, second, rng):
    """Each gene from either parent with equal chance."""
    return space.from_genes([rng.choice(pair) for pair in zip(space.to_genes(first), space.to_genes(second))])


def offspring(space, parents, rng, mutations, crossovers, probability, allowed, seen):
    """SPOS: `mutations` mutants and `crossovers` children of the given top-k parents."""
    children = _collect(lambda: mutate(space, rng.choice(parents), rng, probability), mutations, allowed, seen, space)
    if len(parents) > 1:
        children += _collect(lambda: crossover(space, *rng.sample(parents, 2), rng), crossovers, allowed, seen, space)
    return children


def grid_candidates(space, base, dims, allowed):
    """Every combination of the named genes' choices, the other genes as in `base`."""
    names, choices = space.gene_names(), space.gene_choices()
    unknown = [d for d in dims if d not in names]
    if unknown or not dims:
        raise HnasError(f"grid search: unknown dimensions {unknown or dims}; the {space.name} space has "
                        f"{', '.join(names)}")
    positions = [names.index(d) for d in dims]
    base_genes, archs, seen = list(space.to_genes(base)), [], set()
    for values in itertools.product(*[choices[p] for p in positions]):
        genes = list(base_genes)
        for p, v in zip(positions, values):
            genes[p] = v
        arch = space.canonical(space.from_genes(genes))
        text = space.format(arch)
        if text not in seen and allowed(arch):
            seen.add(text)
            archs.append(arch)
    return archs


def pareto_front(points):
    """Indices of the points (cost, score) that no other point beats: cost <= and score >= with
    one strict; lower cost first."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front
