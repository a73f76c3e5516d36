"""Weighted least squares with the traces the tau2 estimators need.

For a design ``X`` (k x p) and weights ``w`` the projection-type matrix used
throughout the meta-analysis literature is

    P = W - W X (X' W X)^{-1} X' W,          W = diag(w).

Forming P costs O(k^2) memory, so this module never does: every quantity the
estimators need (y'Py, y'PPy, tr P, tr PP, hat values) has an O(k p^2)
expression in terms of the p x p matrix S = (X' W X)^{-1}.
"""

from __future__ import annotations

import numpy as np

from .errors import PoolingError


class WeightedFit:
    """Weighted least-squares fit of ``y`` on ``X`` with weights ``w``.

    ``X=None`` means the intercept-only model and takes a scalar fast path.
    """

    __slots__ = ("y", "X", "w", "beta", "cov", "resid", "rss", "_xw2x")

    def __init__(self, y: np.ndarray, w: np.ndarray, X: np.ndarray | None = None):
        self.y, self.X, self.w = y, X, w
        self._xw2x = None
        if X is None:
            sw = w.sum()
            if not np.isfinite(sw) or sw <= 0:
                raise PoolingError("weights sum to zero or are not finite")
            mean = float(np.dot(w, y) / sw)
            self.beta = np.array([mean])
            self.cov = np.array([[1.0 / sw]])
            self.resid = y - mean
        else:
            xtwx = X.T @ (X * w[:, None])
            try:
                self.cov = _symmetric_inverse(xtwx)
            except np.linalg.LinAlgError:
                raise PoolingError("model matrix is not of full rank: moderators are "
                                   "collinear or constant") from None
            self.beta = self.cov @ (X.T @ (w * y))
            self.resid = y - X @ self.beta
        self.rss = float(np.dot(w, self.resid ** 2))

    @property
    def p(self) -> int:
        return 1 if self.X is None else self.X.shape[1]

    def _s_xw2x(self) -> np.ndarray:
        """S X' W^2 X, the p x p matrix behind tr P and tr PP."""
        if self._xw2x is None:
            w2 = self.w ** 2
            if self.X is None:
                self._xw2x = self.cov * w2.sum()
            else:
                self._xw2x = self.cov @ (self.X.T @ (self.X * w2[:, None]))
        return self._xw2x

    def trace_p(self) -> float:
        """tr P = sum(w) - tr(S X'W^2 X)."""
        if self.X is None:
            # P_ii = w_i (sum of the other weights) / sum(w): no cancellation
            w = self.w
            return float(np.sum(w * exclusive_sums(w)) / w.sum())
        return float(self.w.sum() - np.trace(self._s_xw2x()))

    def trace_pp(self) -> float:
        """tr PP = sum(w^2) - 2 tr(S X'W^3 X) + tr((S X'W^2 X)^2)."""
        if self.X is None:
            # sum_ij P_ij^2 with P_ii = w_i r_i / W and P_ij = -w_i w_j / W (i != j),
            # written with exclusive sums so that one dominant weight loses no precision
            w = self.w
            total = w.sum()
            w2 = w * w
            diag = np.sum((w * exclusive_sums(w)) ** 2)
            off = np.sum(w2 * exclusive_sums(w2))
            return float((diag + off) / (total * total))
        w3 = self.w ** 3
        if self.X is None:
            s_xw3x = self.cov * w3.sum()
        else:
            s_xw3x = self.cov @ (self.X.T @ (self.X * w3[:, None]))
        a = self._s_xw2x()
        return float((self.w ** 2).sum() - 2.0 * np.trace(s_xw3x) + np.sum(a * a.T))

    def quad_pp(self) -> float:
        """y' P P y = ||P y||^2, with P y = w * residual."""
        return float(np.sum((self.w * self.resid) ** 2))

    def quad_ppp(self) -> float:
        """y' P P P y = u' P u with u = P y (for Newton steps)."""
        u = self.w * self.resid
        wu = self.w * u
        if self.X is None:
            return float(np.dot(u, wu) - wu.sum() ** 2 * self.cov[0, 0])
        xwu = self.X.T @ wu
        return float(np.dot(u, wu) - xwu @ self.cov @ xwu)

    def _m(self, diag: np.ndarray) -> np.ndarray:
        """X' diag(diag) X (p x p)."""
        if self.X is None:
            return np.array([[diag.sum()]])
        return self.X.T @ (self.X * diag[:, None])

    def _b_diag(self) -> np.ndarray:
        """Diagonal of B = W X S X' W (so that P = W - B)."""
        return self.w * self.hat_values()

    def trace_pdpd(self, d: np.ndarray) -> float:
        """tr(P D P D) for a diagonal matrix D = diag(d)."""
        w = self.w
        sm = self.cov @ self._m(w * w * d)
        return float(np.sum(w * w * d * d) - 2.0 * np.sum(self._b_diag() * w * d * d)
                     + np.sum(sm * sm.T))

    def trace_ppd(self, d: np.ndarray) -> float:
        """tr(P P D) for a diagonal matrix D = diag(d)."""
        w = self.w
        s_m2 = self.cov @ self._m(w * w)
        s_m3 = self.cov @ self._m(w * w * d)
        return float(np.sum(w * w * d) - 2.0 * np.sum(self._b_diag() * w * d)
                     + np.sum(s_m2 * s_m3.T))

    def trace_pd(self, d: np.ndarray) -> float:
        """tr(P D) for a diagonal matrix D = diag(d)."""
        return float(np.sum(self.w * d) - np.sum(self._b_diag() * d))

    def hat_values(self) -> np.ndarray:
        """Diagonal of H = X S X' W (leverages)."""
        if self.X is None:
            return self.w * self.cov[0, 0]
        return self.w * np.einsum("ij,jk,ik->i", self.X, self.cov, self.X)


def exclusive_sums(values: np.ndarray) -> np.ndarray:
    """For each i, the sum of all non-negative values except values[i].

    total - values[i] loses precision only for the largest value (every other
    exclusive sum contains the largest value, so it is at least half the
    total); that one entry is summed directly.
    """
    total = values.sum()
    out = total - values
    if values.size > 1:
        top = int(np.argmax(values))
        out[top] = values[:top].sum() + values[top + 1:].sum()
    return out


def _symmetric_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix via Cholesky."""
    if not np.all(np.isfinite(a)):
        raise np.linalg.LinAlgError("non-finite")
    scale = np.sqrt(np.diag(a))
    if np.any(scale <= 0):
        raise np.linalg.LinAlgError("singular")
    scaled = a / np.outer(scale, scale)
    eig_min = np.linalg.eigvalsh(scaled)[0] if a.shape[0] > 1 else 1.0
    if eig_min <= 1e-10:
        raise np.linalg.LinAlgError("singular")
    chol = np.linalg.cholesky(scaled)
    inv_chol = np.linalg.inv(chol)
    return (inv_chol.T @ inv_chol) / np.outer(scale, scale)


def design_with_intercept(mods: np.ndarray | None, k: int) -> np.ndarray | None:
    """Design matrix [1, mods]; None for the intercept-only model."""
    if mods is None or mods.shape[1] == 0:
        return None
    return np.column_stack([np.ones(k), mods])


def n_coef(X: np.ndarray | None) -> int:
    return 1 if X is None else X.shape[1]


def qe_at(tau2: float, yi: np.ndarray, vi: np.ndarray, X: np.ndarray | None) -> float:
    """Generalised Q statistic sum w (y - X b)^2 with w = 1/(vi + tau2)."""
    if X is None:                      # hot path of the Q-profile root finding
        w = 1.0 / (vi + tau2)
        resid = yi - np.dot(w, yi) / w.sum()
        return float(np.dot(w, resid * resid))
    return WeightedFit(yi, 1.0 / (vi + tau2), X).rss
