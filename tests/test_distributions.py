"""her2meta.distributions equals scipy.stats, and job modules do not import the heavy libraries.

Every Snakemake job is a new process, so an import of scipy.stats (~0.4 s) or statsmodels.api
(~1 s) at module level is paid by every job; the lightweight functions must give scipy.stats'
numbers, including its handling of out-of-support arguments.
"""

import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from her2meta import distributions as dist

SRC = Path(__file__).resolve().parents[1] / "src"
RNG = np.random.default_rng(20261121)
X = np.concatenate([RNG.normal(0, 3, 300), [-1.0, 0.0, 1e-9, 50.0, np.inf, -np.inf, np.nan]])
P = np.concatenate([RNG.uniform(0, 1, 300), [1e-12, 0.5, 1 - 1e-12, 1.0, np.nan]])
DFS = [0.5, 1, 2, 3, 10, 200.5, 0, -1]


def close(a, b):
    return np.allclose(a, b, rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.parametrize("df", DFS)
def test_t_and_chi2_match_scipy_stats(df):
    with np.errstate(all="ignore"):
        assert close(dist.t_sf(X, df), stats.t.sf(X, df))
        assert close(dist.t_isf(P, df), stats.t.isf(P, df))
        assert close(dist.chi2_sf(X, df), stats.chi2.sf(X, df))
        assert close(dist.chi2_ppf(P, df), stats.chi2.ppf(P, df))


@pytest.mark.parametrize("dfn,dfd", [(1, 5), (3, 20), (2, 0), (0, 4)])
def test_f_matches_scipy_stats(dfn, dfd):
    with np.errstate(all="ignore"):
        assert close(dist.f_sf(X, dfn, dfd), stats.f.sf(X, dfn, dfd))


def test_normal_matches_scipy_stats():
    assert close(dist.norm_sf(X), stats.norm.sf(X))
    assert close(dist.norm_ppf(P), stats.norm.ppf(P))
    assert close(dist.norm_isf(P), stats.norm.isf(P))


def test_scalars_stay_scalars():
    for value in (dist.norm_sf(1.0), dist.t_sf(2.0, 3), dist.chi2_sf(3.0, 2), dist.f_sf(2.0, 1, 5)):
        assert np.ndim(value) == 0
        float(value)


# every module a rule script imports: the adapter and each stage (a new stage is covered too)
STAGES = sorted(m.name for m in pkgutil.iter_modules([str(SRC / "her2meta" / "stages")]))


def test_job_modules_do_not_import_scipy_stats_or_statsmodels():
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(SRC)!r})\n"
        "import her2meta.snakemake_adapter\n"
        + "".join(f"import her2meta.stages.{name}\n" for name in STAGES)
        + "heavy = sorted(m for m in ('scipy.stats', 'statsmodels', 'statsmodels.api', 'lifelines') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported at module level by a job module: {out}"
