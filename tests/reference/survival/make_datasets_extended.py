"""Synthetic datasets behind make_fixtures_extended.R (deterministic; numpy only).

Run from the repository root (or anywhere):  python tests/reference/survival/make_datasets_extended.py
Writes, next to this file:

- surv_ext.csv     320 patients, one trial: time (whole months, so many ties, including
                   censorings tied with events), event, group (1 = exposed), age, er (0/1),
                   stratum (3 levels) and site (16 clusters).
- surv_edge.csv    28 patients built by hand-ish for the corner cases: censoring before the
                   first event, 4-5 deaths tied at one time, a group whose last patient dies
                   (S(t) reaches 0), a censoring tied with an event at the largest time.
- onestage_ipd.csv 4 studies (190/160/130/100 patients): study_id, treat, hr (HR-positive),
                   treat_x_hr, age, pcr (binary outcome), time, event.

The files are committed; the R script reads them, so regenerate both together.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def surv_ext(seed: int = 20240611, n: int = 320) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    age = np.round(rng.normal(52, 10, n), 1)
    er = rng.binomial(1, 0.55, n)
    stratum = rng.integers(1, 4, n)
    site = rng.integers(1, 17, n)
    base = np.array([0.012, 0.018, 0.026])[stratum - 1]
    # a cluster (site) frailty so that the cluster-robust SE differs from the per-patient one
    frailty = np.exp(rng.normal(0, 0.35, 16))[site - 1]
    rate = base * frailty * np.exp(0.45 * group + 0.025 * (age - 52) - 0.35 * er)
    t_event = rng.exponential(1 / rate)
    t_cens = rng.uniform(6, 84, n)
    t = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    time = np.ceil(t)  # whole months: ties among events and between events and censorings
    return pd.DataFrame({"id": np.arange(1, n + 1), "time": time.astype(int), "event": event, "group": group,
                         "age": age, "er": er, "stratum": stratum, "site": site})


def surv_edge() -> pd.DataFrame:
    rows = [
        # group 0: censoring before the first event, 4 deaths tied at 6, last patient dies at 20
        (1, 0, 0), (2, 0, 0), (3, 1, 0), (6, 1, 0), (6, 1, 0), (6, 1, 0), (6, 1, 0), (6, 0, 0),
        (9, 1, 0), (11, 0, 0), (12, 1, 0), (15, 1, 0), (20, 1, 0),
        # group 1: five deaths tied at 6 (across both groups 9), censoring tied with events at 24
        (2, 1, 1), (4, 0, 1), (6, 1, 1), (6, 1, 1), (6, 1, 1), (6, 1, 1), (6, 1, 1), (8, 0, 1),
        (10, 1, 1), (13, 0, 1), (16, 1, 1), (18, 0, 1), (24, 1, 1), (24, 0, 1), (24, 0, 1),
    ]
    df = pd.DataFrame(rows, columns=["time", "event", "group"])
    rng = np.random.default_rng(7)
    df["x"] = np.round(rng.normal(0, 1, len(df)), 2)
    return df


def onestage_ipd(seed: int = 515) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    sizes = {"TRIAL-A": 190, "TRIAL-B": 160, "TRIAL-C": 130, "TRIAL-D": 100}
    intercepts = {"TRIAL-A": -0.2, "TRIAL-B": 0.3, "TRIAL-C": -0.6, "TRIAL-D": 0.1}
    base_rate = {"TRIAL-A": 0.010, "TRIAL-B": 0.016, "TRIAL-C": 0.022, "TRIAL-D": 0.013}
    for study, n in sizes.items():
        treat = rng.integers(0, 2, n)
        hr = rng.binomial(1, 0.5, n)
        age = np.round(rng.normal(50, 9, n), 1)
        lin = intercepts[study] + 0.7 * treat - 1.0 * hr - 0.3 * treat * hr + 0.01 * (age - 50)
        pcr = rng.binomial(1, 1 / (1 + np.exp(-lin)))
        rate = base_rate[study] * np.exp(-0.4 * treat + 0.2 * hr - 0.8 * pcr + 0.015 * (age - 50))
        t_event = rng.exponential(1 / rate)
        t_cens = rng.uniform(12, 96, n)
        event = (t_event <= t_cens).astype(int)
        time = np.ceil(np.minimum(t_event, t_cens))
        frames.append(pd.DataFrame({"study_id": study, "treat": treat, "hr": hr, "treat_x_hr": treat * hr,
                                    "age": age, "pcr": pcr, "time": time.astype(int), "event": event}))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    surv_ext().to_csv(HERE / "surv_ext.csv", index=False)
    surv_edge().to_csv(HERE / "surv_edge.csv", index=False)
    onestage_ipd().to_csv(HERE / "onestage_ipd.csv", index=False)


if __name__ == "__main__":
    main()
