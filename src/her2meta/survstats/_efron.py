"""Cox partial likelihood with Efron or Breslow ties, strata, and the score residuals R uses.

The arithmetic follows R survival 3.5-3 (coxfit6.c for the likelihood, coxscore.c for the score
residuals, zph1.c for the proportional-hazards score test), written with numpy cumulative sums:

* Data are sorted by stratum, then time. Within a stratum, risk-set sums over {j: t_j >= t} are
  reverse cumulative sums read at the first row of each distinct time.
* Efron: at an event time with m tied deaths, the k-th (k = 0..m-1) of the m terms uses the risk
  set with a fraction k/m of the dying patients' risk removed:
      den_k = S0 - (k/m) D0,  mean_k = (S1 - (k/m) D1) / den_k,
      var_k = (S2 - (k/m) D2) / den_k - mean_k mean_k'.
  Breslow is the same with k/m replaced by 0.
* log L = sum_deaths eta - sum_k log den_k;  U = sum_deaths x - sum_k mean_k;
  I = sum_k var_k.

Covariates are centred (column means) and, per stratum, the linear predictor is shifted by its
maximum before exponentiating; neither changes any returned quantity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _revcumsum(a: np.ndarray) -> np.ndarray:
    return np.cumsum(a[::-1], axis=0)[::-1]


@dataclass
class _Stratum:
    rows: np.ndarray  # positions (in the original order) of this stratum's patients, sorted by time
    time: np.ndarray
    dead: np.ndarray  # 0/1
    x: np.ndarray  # n_s x p, centred
    xx: np.ndarray  # n_s x p x p
    gstart: np.ndarray  # first row (local) of every distinct time with >= 1 death
    m: np.ndarray  # deaths at each such time
    etime: np.ndarray  # the distinct event times
    dx: np.ndarray  # per event time: sum of x over the deaths (G x p)
    # Efron expansion: one entry per death, grouped by event time
    idx: np.ndarray  # event-time index of each term
    frac: np.ndarray  # k/m (Efron) or 0 (Breslow)
    tstart: np.ndarray  # first term of each event time (for np.add.reduceat)


class CoxData:
    """Sorted, centred data for repeated evaluations of the partial likelihood at different beta."""

    def __init__(self, time: np.ndarray, dead: np.ndarray, x: np.ndarray, strata: np.ndarray, ties: str):
        self.n, self.p = x.shape
        self.ties = ties
        self.center = x.mean(axis=0)
        xc = x - self.center
        self.strata: list[_Stratum] = []
        for s in np.unique(strata):
            rows = np.flatnonzero(strata == s)
            rows = rows[np.argsort(time[rows], kind="stable")]
            t, d, xs = time[rows], dead[rows], xc[rows]
            new = np.r_[True, t[1:] != t[:-1]]
            starts = np.flatnonzero(new)
            m_all = np.add.reduceat(d, starts) if len(t) else np.zeros(0)
            ev = m_all > 0
            gstart, m = starts[ev], m_all[ev].astype(np.int64)
            dx = (np.add.reduceat(xs * d[:, None], starts, axis=0)[ev] if len(t) else np.zeros((0, self.p)))
            idx = np.repeat(np.arange(len(m)), m)
            tstart = np.r_[0, np.cumsum(m)[:-1]].astype(np.int64) if len(m) else np.zeros(0, dtype=np.int64)
            if ties == "efron":
                frac = (np.arange(len(idx)) - np.repeat(tstart, m)) / np.repeat(m, m)
            else:
                frac = np.zeros(len(idx))
            self.strata.append(_Stratum(rows=rows, time=t, dead=d, x=xs, xx=xs[:, :, None] * xs[:, None, :],
                                        gstart=gstart, m=m, etime=t[gstart], dx=dx,
                                        idx=idx, frac=frac, tstart=tstart))

    # ------------------------------------------------------------------ core sums
    def _terms(self, st: _Stratum, beta: np.ndarray, second: bool = True):
        eta = st.x @ beta
        eta = eta - eta.max() if len(eta) else eta
        r = np.exp(eta)
        rd = r * st.dead
        s0 = _revcumsum(r)[st.gstart]
        s1 = _revcumsum(r[:, None] * st.x)[st.gstart]
        # rows between event groups hold no deaths, so reduceat over the group starts sums exactly the deaths
        d0 = np.add.reduceat(rd, st.gstart)
        d1 = np.add.reduceat(rd[:, None] * st.x, st.gstart, axis=0)
        f = st.frac
        den = s0[st.idx] - f * d0[st.idx]
        mean = (s1[st.idx] - f[:, None] * d1[st.idx]) / den[:, None]
        out = {"eta": eta, "r": r, "den": den, "mean": mean}
        if second:
            s2 = _revcumsum(r[:, None, None] * st.xx)[st.gstart]
            d2 = np.add.reduceat(rd[:, None, None] * st.xx, st.gstart, axis=0)
            out["var"] = (s2[st.idx] - f[:, None, None] * d2[st.idx]) / den[:, None, None] \
                - mean[:, :, None] * mean[:, None, :]
        return out

    def evaluate(self, beta: np.ndarray, second: bool = True):
        """log partial likelihood, score vector and information matrix at beta."""
        ll, u, info = 0.0, np.zeros(self.p), np.zeros((self.p, self.p))
        for st in self.strata:
            if len(st.idx) == 0:
                continue
            # far from the optimum (e.g. a diverging estimate) risk sets may underflow: the caller
            # sees a non-finite log-likelihood and halves the step
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                tm = self._terms(st, beta, second)
            with np.errstate(divide="ignore", invalid="ignore"):
                ll += float(np.sum(tm["eta"] * st.dead) - np.sum(np.log(tm["den"])))
            u += st.dx.sum(axis=0) - tm["mean"].sum(axis=0)
            if second:
                info += tm["var"].sum(axis=0)
        return ll, u, info

    def per_event_time(self, beta: np.ndarray):
        """Per distinct event time (all strata): time, stratum index, U_t = sum_deaths (x - mean_k), V_t."""
        times, strat, us, vs = [], [], [], []
        for k, st in enumerate(self.strata):
            if len(st.idx) == 0:
                continue
            tm = self._terms(st, beta, True)
            times.append(st.etime)
            strat.append(np.full(len(st.etime), k))
            us.append(st.dx - np.add.reduceat(tm["mean"], st.tstart, axis=0))
            vs.append(np.add.reduceat(tm["var"], st.tstart, axis=0))
        if not times:
            return np.zeros(0), np.zeros(0, dtype=int), np.zeros((0, self.p)), np.zeros((0, self.p, self.p))
        return np.concatenate(times), np.concatenate(strat), np.concatenate(us), np.concatenate(vs)

    def score_residuals(self, beta: np.ndarray) -> np.ndarray:
        """Score residuals (n x p, original row order), as R's residuals(fit, type = "score").

        For an event time with m deaths and Efron terms k = 0..m-1 (hazard increment h_k = 1/den_k):
        a patient still at risk who does not die there gets  -r_i sum_k h_k (x_i - mean_k);
        a patient dying there gets  sum_k (x_i - mean_k)/m - r_i sum_k h_k (1 - k/m) (x_i - mean_k).
        These are accumulated over event times with cumulative sums (coxscore.c does the same
        with loops).
        """
        out = np.zeros((self.n, self.p))
        for st in self.strata:
            if len(st.idx) == 0:
                continue
            tm = self._terms(st, beta, False)
            h = 1.0 / tm["den"]
            mean = tm["mean"]
            w = h * (1.0 - st.frac)
            hg = np.add.reduceat(h, st.tstart)
            mg = np.add.reduceat(mean * h[:, None], st.tstart, axis=0)
            hg1 = np.add.reduceat(w, st.tstart)
            mg1 = np.add.reduceat(mean * w[:, None], st.tstart, axis=0)
            mbar = np.add.reduceat(mean, st.tstart, axis=0) / st.m[:, None]
            ch = np.r_[0.0, np.cumsum(hg)]
            cm = np.vstack([np.zeros((1, self.p)), np.cumsum(mg, axis=0)])
            K = np.searchsorted(st.etime, st.time, side="right")  # event times <= own time
            r, x = tm["r"], st.x
            res = np.empty_like(x)
            cens = st.dead == 0
            res[cens] = -r[cens, None] * (x[cens] * ch[K[cens], None] - cm[K[cens]])
            dd = ~cens
            k = K[dd] - 1
            hh = ch[k] + hg1[k]
            mm = cm[k] + mg1[k]
            res[dd] = x[dd] - mbar[k] - r[dd, None] * (x[dd] * hh[:, None] - mm)
            out[st.rows] = res
        return out

