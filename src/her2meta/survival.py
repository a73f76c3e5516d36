"""Per-study time-to-event statistics, checked against R's survival package (3.5-3).

Public API (see docs/methods/survival_and_onestage.md for conventions and the R calls):

- :func:`cox_fit` -- Cox model, Efron/Breslow ties, strata, robust / cluster sandwich SE -> :class:`CoxResult`
- :func:`ph_test` -- proportional-hazards score test (survival 3.x ``cox.zph``)
- :func:`km` -- Kaplan-Meier summary with Greenwood SE and "log-log" / "log" intervals
- :func:`logrank` -- log-rank O - E, V, chi-square and the Peto one-step log HR
- :func:`rmst_difference` -- restricted mean survival time contrasts (survRM2::rmst2)
- :func:`landmark` -- patients and times for a landmark analysis

All inputs are numpy arrays or pandas Series (time in months, event 0/1, group 0/1 with
1 = exposed); inputs are never modified. Invalid input raises :class:`SurvivalError` (a
ValueError); situations without an estimate return ``estimable=False`` with a ``reason``.
"""

from __future__ import annotations

from .survstats._common import SurvivalError
from .survstats.cox import CoxResult, cox_fit
from .survstats.km import km
from .survstats.landmark import landmark
from .survstats.logrank import logrank
from .survstats.rmst import rmst_difference
from .survstats.zph import ph_test

__all__ = ["SurvivalError", "CoxResult", "cox_fit", "ph_test", "km", "logrank", "rmst_difference", "landmark"]
