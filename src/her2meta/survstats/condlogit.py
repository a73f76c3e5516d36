"""Exact conditional logistic likelihood (R ``clogit(method = "exact")``), with analytic
gradient and Hessian, for strata of any size.

In a stratum with n patients of whom m are cases, the conditional likelihood is
    L = exp(sum_cases x'b) / B,   B = sum over all size-m subsets S of exp(sum_S x'b).
B is built by the recursion of Gail, Lubin & Rubinstein (1981) over patients k = 1..n:
    B_k(j) = B_{k-1}(j) + exp(x_k'b) B_{k-1}(j-1),
held on the log scale (no overflow) together with the subset-weighted first and second
moments of sum_S x, updated as convex combinations, so that
    d log B / db = E[sum_S x],   d2 log B / db2 = E[(sum_S x)(sum_S x)'] - E[..]E[..]'.
When m > n/2 the roles of cases and controls are swapped (with x -> -x), which leaves the
likelihood unchanged and halves the work. statsmodels' ConditionalLogit computes the same
likelihood, but by unscaled Python recursion (depth = stratum size, overflow for large trials).
"""

from __future__ import annotations

import numpy as np


class _Stratum:
    def __init__(self, x: np.ndarray, y: np.ndarray):
        m = int(y.sum())
        n = len(y)
        if m > n - m:
            x, y, m = -x, 1 - y, n - m
        self.x, self.m, self.n = x, m, n
        self.xx = x[:, :, None] * x[:, None, :]
        self.sum_cases = x[y == 1].sum(axis=0)


def prepare(x: np.ndarray, y: np.ndarray, strata: np.ndarray) -> list[_Stratum]:
    """Informative strata only (at least one case and one control)."""
    out = []
    for s in np.unique(strata):
        idx = strata == s
        m = int(y[idx].sum())
        if 0 < m < idx.sum():
            out.append(_Stratum(x[idx], y[idx]))
    return out


def _stratum_terms(st: _Stratum, beta: np.ndarray):
    p, m, n = len(beta), st.m, st.n
    eta = st.x @ beta
    lb = np.full(m + 1, -np.inf)
    lb[0] = 0.0
    g = np.zeros((m + 1, p))
    h = np.zeros((m + 1, p, p))
    for k in range(n):
        lo = max(1, m - (n - 1 - k))  # subsets that can still reach size m
        hi = min(k + 1, m)
        if lo > hi:
            continue
        j = slice(lo, hi + 1)
        jm = slice(lo - 1, hi)
        b = eta[k] + lb[jm]
        new = np.logaddexp(lb[j], b)
        w = np.exp(b - new)[:, None]
        xk = st.x[k]
        gj1 = g[jm]
        g_new = (1 - w) * g[j] + w * (gj1 + xk)
        cross = xk[None, :, None] * gj1[:, None, :]
        h_new = (1 - w[:, :, None]) * h[j] + w[:, :, None] * (h[jm] + cross + cross.transpose(0, 2, 1) + st.xx[k])
        lb[j], g[j], h[j] = new, g_new, h_new
    ll = float(st.sum_cases @ beta - lb[m])
    grad = st.sum_cases - g[m]
    info = h[m] - np.outer(g[m], g[m])
    return ll, grad, info


def evaluate(strata: list[_Stratum], beta: np.ndarray):
    ll, u, info = 0.0, np.zeros(len(beta)), np.zeros((len(beta), len(beta)))
    for st in strata:
        a, b, c = _stratum_terms(st, beta)
        ll, u, info = ll + a, u + b, info + c
    return ll, u, info


def fit(x: np.ndarray, y: np.ndarray, strata: np.ndarray, max_iter: int = 50):
    """Newton-Raphson from beta = 0 with step halving. Returns (beta, var, loglik, loglik0,
    converged, iterations, informative_strata_count)."""
    sts = prepare(x, y, strata)
    p = x.shape[1]
    beta = np.zeros(p)
    ll, u, info = evaluate(sts, beta)
    ll0 = ll
    converged, it, flat_runs = False, 0, 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, u)
        except np.linalg.LinAlgError:
            return beta, None, ll, ll0, False, it, len(sts)
        if np.max(np.abs(step)) <= 1e-10 * max(1.0, np.max(np.abs(beta))):
            converged = True
            break
        new = beta + step
        ll_new, u_new, info_new = evaluate(sts, new)
        halvings = 0
        while not (ll_new >= ll - 1e-10 * max(1.0, abs(ll))) and halvings < 30:
            step = step / 2
            new = beta + step
            ll_new, u_new, info_new = evaluate(sts, new)
            halvings += 1
        flat_runs = flat_runs + 1 if abs(ll_new - ll) <= 1e-13 * max(1.0, abs(ll)) else 0
        beta, ll, u, info = new, ll_new, u_new, info_new
        if flat_runs >= 3:
            break
    try:
        var = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        var = None
    return beta, var, ll, ll0, converged, it, len(sts)
