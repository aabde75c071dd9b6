"""Parameter estimation: u from random pairs, m and the prior by EM on pattern counts.

The candidate pairs are aggregated in SQL to one row per comparison-vector
pattern (the gammas of every field) with its count; EM then iterates in
numpy on that small table, so an iteration costs microseconds whatever the
number of pairs.

The model is the Fellegi–Sunter model over *all* ``n_left × n_right`` pairs
(as Splink's): u comes from random pairs, the prior λ is the share of
matches among all pairs, and pairs outside the blocks are taken as
non-matches (posterior 0).  Because λ is global, the many non-matching pairs
a blocking rule admits (they agree on the blocked field) are explained by u
and do not pull m towards agreement, so one EM on the union of the blocks
serves instead of one training session per rule.

With ``em.u_from: em`` the candidate pairs are instead treated as the whole
population (recordlinkage's ECM): u and a within-candidates prior are
estimated with m.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matching.linkage.comparisons import Comparison

M_FLOOR = 1e-6


@dataclass
class FieldParams:
    """m and u of one field, indexed by gamma (0 = different … n-1 = strongest)."""

    m: np.ndarray
    u: np.ndarray
    m_fixed: bool = False
    u_fixed: bool = False

    @property
    def weights(self) -> np.ndarray:
        """Partial match weight per gamma: log2(m/u)."""
        return np.log2(self.m / self.u)


@dataclass
class EMResult:
    params: list[FieldParams]
    prior: float
    iterations: int
    converged: bool
    history: list[float] = field(default_factory=list)  # λ per iteration


def initial_m(n_levels: int) -> np.ndarray:
    """Starting m: 0.9 on the strongest level, the rest halving downwards."""
    if n_levels == 1:
        return np.ones(1)
    rest = 0.5 ** np.arange(n_levels - 2, -1, -1, dtype=float)  # gamma 0 … n-2
    m = np.append(0.1 * rest / rest.sum(), 0.9)
    return m


def u_from_counts(counts: np.ndarray, floor: float) -> np.ndarray:
    """u per gamma from pair counts; no level below ``floor`` (a probability)."""
    c = counts.astype(float)
    u = c / c.sum() if c.sum() > 0 else np.full(len(c), 1.0 / len(c))
    u = np.maximum(u, floor)
    return u / u.sum()


def _log_ratio(G: np.ndarray, params: list[FieldParams]) -> np.ndarray:
    lr = np.zeros(G.shape[0])
    for k, p in enumerate(params):
        g = G[:, k]
        ok = g >= 0
        w = np.log(p.m) - np.log(p.u)
        lr[ok] += w[g[ok]]
    return lr


def _expit(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def run_em(
    G: np.ndarray,
    counts: np.ndarray,
    vetoed: np.ndarray,
    params: list[FieldParams],
    n_total: float,
    prior: float,
    *,
    fix_prior: bool = False,
    within_candidates: bool = False,
    max_iterations: int = 200,
    tolerance: float = 1e-7,
) -> EMResult:
    """EM on pattern counts.

    ``G`` is (patterns × fields) of gammas (-1 = null), ``counts`` the pairs per
    pattern, ``vetoed`` patterns are non-matches by rule.  ``params`` holds the
    starting m and the u (updated in place unless fixed).  ``n_total`` is the
    number of pairs the prior refers to (all pairs, or the candidates when
    ``within_candidates``).
    """
    counts = counts.astype(float)
    lam = prior
    history: list[float] = []
    converged = False
    it = 0
    for it in range(1, max_iterations + 1):  # noqa: B007 - it is reported
        logit = np.log(lam) - np.log1p(-lam) + _log_ratio(G, params)
        post = _expit(logit)
        post[vetoed] = 0.0
        wm = counts * post
        wu = counts * (1.0 - post)
        delta = 0.0
        for k, p in enumerate(params):
            g = G[:, k]
            ok = g >= 0
            n = len(p.m)
            if not p.m_fixed:
                s = np.bincount(g[ok], weights=wm[ok], minlength=n)
                if s.sum() > 0:
                    new = np.maximum(s / s.sum(), M_FLOOR)
                    new /= new.sum()
                    delta = max(delta, float(np.abs(new - p.m).max()))
                    p.m = new
            if within_candidates and not p.u_fixed:
                s = np.bincount(g[ok], weights=wu[ok], minlength=n)
                if s.sum() > 0:
                    new = np.maximum(s / s.sum(), M_FLOOR)
                    new /= new.sum()
                    delta = max(delta, float(np.abs(new - p.u).max()))
                    p.u = new
        if not fix_prior:
            new_lam = float(min(max(wm.sum() / n_total, 1e-15), 1 - 1e-9))
            delta = max(delta, abs(new_lam - lam) / lam)
            lam = new_lam
        history.append(lam)
        if delta < tolerance:
            converged = True
            break
    return EMResult(params=params, prior=lam, iterations=it, converged=converged, history=history)


def correct_u_for_matches(
    u_counts: list[np.ndarray], floors: list[float], params: list[FieldParams], prior: float
) -> None:
    """Remove the expected true matches (λ·N·m) from the pair counts and recompute u, in
    place: random pairs contain a few matches, which would otherwise make strong agreement
    look commoner among non-matches than it is."""
    for c, floor, p in zip(u_counts, floors, params, strict=True):
        if p.u_fixed:
            continue
        n = c.sum()
        adj = np.maximum(c - prior * n * p.m, 0.0)
        p.u = u_from_counts(adj, floor)


def fixed_or_initial(comparisons: list[Comparison], m_spec, u_spec, u_counts, u_floors) -> list[FieldParams]:
    """FieldParams from spec-fixed values (given strongest first) or initial estimates."""
    out = []
    for c, m, u, uc, fl in zip(comparisons, m_spec, u_spec, u_counts, u_floors, strict=True):
        n = c.n_levels
        mm = np.array(m[::-1], dtype=float) if m is not None else initial_m(n)
        uu = np.array(u[::-1], dtype=float) if u is not None else u_from_counts(uc, fl)
        out.append(FieldParams(m=mm / mm.sum(), u=uu / uu.sum(), m_fixed=m is not None, u_fixed=u is not None))
    return out
