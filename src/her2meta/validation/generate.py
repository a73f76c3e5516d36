"""Data-generating model of the simulation check: K studies of IPD with known pooled effects.

Per replicate (one meta-analysis), for each study k = 1..K, in this order of draws:

1. size ``n_k`` ~ uniform integer in [n_min, n_max]; HR+ share ``s_k`` ~ U(hr_pos_share);
   pCR probability of HR- patients ``p0_k`` ~ U(pcr_hr_neg); Weibull shape ``a_k`` and
   baseline multiplier ``m_k`` uniform in their ranges;
2. study effects ``theta_k, beta_k, gamma_k`` = their means + tau x N(0, 1) (independent);
3. per patient: HR+ ~ Bernoulli(s_k); pCR ~ Bernoulli(expit(logit(p0_k) + theta_k x HR+));
4. EFS: cumulative hazard ``H(t) = m_k H0 (t / 60)^a_k exp(lp)`` with
   ``H0 = -log(efs60_no_pcr_hr_neg)`` and
   ``lp = beta_k HR+ + pCR (log 0.29 + gamma_k HR+)``, so that the hazard ratio of HR+ vs HR-
   without pCR is ``exp(beta_k)``, of pCR in HR- 0.29 and of pCR in HR+ ``0.29 exp(gamma_k)``
   (0.52 on average); hazards are proportional within a study (common shape);
5. censoring: accrual U(0, accrual_months), administrative censoring at the data cut-off
   (follow-up cutoff - accrual), and exponential loss to follow-up.

The generator is deliberately small (not :func:`her2meta.simulate.simulate_patients`): the
demo generator fixes pCR rates per arm x HR cell and uses different Weibull shapes in HR+ and
HR-, so its pooled HR+ vs HR- parameters have no single true value. This one has one by
construction (see :mod:`her2meta.validation.scenarios`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..simulate.deterministic import derive_seed
from .scenarios import Scenario

#: columns of the patient frame
PATIENT_COLUMNS = ("study_id", "hr_status", "pcr", "efs_months", "efs_event")


@dataclass
class Replicate:
    """One simulated meta-analysis: the patients and the study-specific true parameters."""

    scenario: str
    replicate: int
    seed: int
    patients: pd.DataFrame
    studies: pd.DataFrame


def replicate_seed(master_seed: int, scenario: str, replicate: int) -> int:
    """SHA-256 seed of one replicate: ``sha256(f"{master_seed}:{scenario}:replicate-{r}")``."""
    return derive_seed(int(master_seed), scenario, f"replicate-{int(replicate)}")


def replicate_rng(master_seed: int, scenario: str, replicate: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(replicate_seed(master_seed, scenario, replicate)))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_meta(scenario: Scenario, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patients (columns :data:`PATIENT_COLUMNS`) and per-study true parameters of one meta-analysis."""
    s = scenario
    K = s.k_studies
    n = rng.integers(s.n_min, s.n_max + 1, K)
    share = rng.uniform(*s.hr_pos_share, K)
    p0 = rng.uniform(*s.pcr_hr_neg, K)
    shape = rng.uniform(*s.weibull_shape, K)
    mult = rng.uniform(*s.baseline_multiplier, K)
    theta = s.mu_pcr_log_or + s.tau * rng.standard_normal(K)
    beta = s.mu_efs_log_hr + s.tau * rng.standard_normal(K)
    gamma = s.mu_interaction + s.tau * rng.standard_normal(K)
    h0 = -math.log(s.efs60_no_pcr_hr_neg)
    loss_rate = -math.log(1.0 - s.loss_by_60_months) / 60.0 if s.loss_by_60_months > 0 else 0.0

    frames = []
    for k in range(K):
        nk = int(n[k])
        hr_pos = rng.random(nk) < share[k]
        logit0 = math.log(p0[k] / (1.0 - p0[k]))
        pcr = rng.random(nk) < _expit(logit0 + theta[k] * hr_pos)
        lp = beta[k] * hr_pos + pcr * (s.pcr_log_hr_hr_neg + gamma[k] * hr_pos)
        e = rng.exponential(1.0, nk)
        t_event = 60.0 * (e / (mult[k] * h0 * np.exp(lp))) ** (1.0 / shape[k])
        admin = s.cutoff_months - rng.uniform(0.0, s.accrual_months, nk)
        lost = rng.exponential(1.0, nk) / loss_rate if loss_rate > 0 else np.full(nk, np.inf)
        censor = np.minimum(admin, lost)
        event = t_event <= censor
        frames.append(pd.DataFrame({
            "study_id": f"S{k + 1:02d}",
            "hr_status": np.where(hr_pos, "positive", "negative"),
            "pcr": pcr,
            "efs_months": np.where(event, t_event, censor),
            "efs_event": event.astype(int),
        }))
    patients = pd.concat(frames, ignore_index=True)
    studies = pd.DataFrame({
        "study_id": [f"S{k + 1:02d}" for k in range(K)], "n": n.astype(int), "hr_pos_share": share,
        "pcr_hr_neg": p0, "weibull_shape": shape, "baseline_multiplier": mult,
        "pcr_log_or": theta, "efs_log_hr": beta, "efs_pcr_interaction": gamma,
    })
    return patients, studies


def simulate_replicate(scenario: Scenario, master_seed: int, replicate: int) -> Replicate:
    """Replicate ``replicate`` of ``scenario``: depends only on (master seed, scenario name, replicate)."""
    seed = replicate_seed(master_seed, scenario.name, replicate)
    patients, studies = simulate_meta(scenario, np.random.Generator(np.random.PCG64(seed)))
    return Replicate(scenario.name, int(replicate), seed, patients, studies)
