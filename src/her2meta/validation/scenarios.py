"""Scenarios of the simulation check and the true values of their estimands.

A :class:`Scenario` holds every parameter of the data-generating model in
:mod:`her2meta.validation.generate`; :func:`truth` reads the true values of
the three estimands from the same object, so the generator and the truth
cannot drift apart.

Estimands (all on the log scale; HR+ is the exposed group, HR- the reference):

``pcr_log_or``
    log odds ratio of pCR, HR+ vs HR-. Study k has a true log OR
    ``theta_k ~ N(mu_pcr, tau^2)``; the pooled (mean) parameter is ``mu_pcr``.
``efs_log_hr``
    log hazard ratio of an EFS event, HR+ vs HR-, in patients **without pCR**
    (residual disease). Study k: ``beta_k ~ N(mu_efs, tau^2)``. Conditioning on
    no pCR makes it a proportional-hazards parameter with a known value; the
    unconditional HR+ vs HR- hazard ratio is a mixture over pCR status whose
    hazards are not proportional, so it has no single true value.
``efs_pcr_interaction``
    log HR of pCR (vs no pCR) in HR+ minus that in HR-:
    ``log(0.52) - log(0.29)`` by default, the pCR hazard ratios of the project's
    synthetic trial generator (:class:`her2meta.simulate.trials.EfsModel`,
    Broglio et al. 2016). Study k: ``gamma_k ~ N(mu_int, tau^2)``; the log HR of
    pCR in HR- is ``log(0.29)`` in every study.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..simulate.trials import EfsModel

_EFS = EfsModel()

#: The generator's hazard ratios of pCR on EFS, by HR group.
PCR_HR_HR_NEG = _EFS.pcr_hr_hr_neg  # 0.29
PCR_HR_HR_POS = _EFS.pcr_hr_hr_pos  # 0.52

ESTIMANDS = ("pcr_log_or", "efs_log_hr", "efs_pcr_interaction")

ESTIMAND_LABELS = {
    "pcr_log_or": "pCR log OR, HR+ vs HR-",
    "efs_log_hr": "EFS log HR, HR+ vs HR- (no pCR)",
    "efs_pcr_interaction": "EFS pCR x HR interaction (log HR of pCR, HR+ minus HR-)",
}


@dataclass(frozen=True)
class Scenario:
    """Parameters of one simulation scenario (one data-generating model)."""

    name: str
    #: between-study SD of every study-specific effect (log scale)
    tau: float = 0.0
    #: number of studies per meta-analysis
    k_studies: int = 10
    #: study sizes, uniform integers in [min, max]
    n_min: int = 100
    n_max: int = 500
    #: share of HR+ patients per study, uniform in this range
    hr_pos_share: tuple[float, float] = (0.50, 0.60)
    #: pCR probability of HR- patients per study, uniform in this range
    pcr_hr_neg: tuple[float, float] = (0.45, 0.65)
    #: true pooled log OR of pCR, HR+ vs HR- (OR 0.5: HR+ tumours respond less often)
    mu_pcr_log_or: float = math.log(0.5)
    #: true pooled log HR of EFS, HR+ vs HR-, without pCR
    mu_efs_log_hr: float = math.log(0.85)
    #: log HR of pCR on EFS in HR- (same in every study)
    pcr_log_hr_hr_neg: float = math.log(PCR_HR_HR_NEG)
    #: true pooled interaction: log HR of pCR in HR+ minus in HR-
    mu_interaction: float = math.log(PCR_HR_HR_POS) - math.log(PCR_HR_HR_NEG)
    #: EFS without pCR in HR- at 60 months (sets the baseline cumulative hazard; 0.675 as the generator)
    efs60_no_pcr_hr_neg: float = 0.675
    #: Weibull shape per study, uniform in this range (common to all patients of a study: hazards proportional)
    weibull_shape: tuple[float, float] = (0.9, 1.3)
    #: study baseline-hazard multiplier, uniform in this range
    baseline_multiplier: tuple[float, float] = (0.8, 1.25)
    #: accrual (uniform) and data cut-off, months from the first randomisation
    accrual_months: float = 60.0
    cutoff_months: float = 96.0
    #: share lost to follow-up by 60 months (exponential loss)
    loss_by_60_months: float = 0.05
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tau < 0:
            raise ValueError("tau must be >= 0")
        if self.k_studies < 2:
            raise ValueError("k_studies must be at least 2")
        if not 4 <= self.n_min <= self.n_max:
            raise ValueError("study sizes need 4 <= n_min <= n_max")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hr_pos_share"] = list(self.hr_pos_share)
        d["pcr_hr_neg"] = list(self.pcr_hr_neg)
        d["weibull_shape"] = list(self.weibull_shape)
        d["baseline_multiplier"] = list(self.baseline_multiplier)
        d["truth"] = truth(self)
        return d


def truth(scenario: Scenario) -> dict[str, float]:
    """True pooled value of each estimand (log scale): the means of the study-specific effects."""
    return {
        "pcr_log_or": scenario.mu_pcr_log_or,
        "efs_log_hr": scenario.mu_efs_log_hr,
        "efs_pcr_interaction": scenario.mu_interaction,
    }


def scenario_name(tau: float) -> str:
    return f"tau{tau:g}"


def default_scenarios(taus: tuple[float, ...] = (0.0, 0.2), **kwargs: Any) -> list[Scenario]:
    """One scenario per between-study SD (default: homogeneous and tau = 0.2)."""
    return [Scenario(name=scenario_name(t), tau=float(t), **kwargs) for t in taus]
