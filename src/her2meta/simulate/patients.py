"""Patient-level generation in the harmonised vocabulary.

:func:`simulate_patients` turns a :class:`~her2meta.simulate.trials.StudySpec`
and a random generator into one row per randomised patient, with the field
names of the harmonised data model (``shared/design/DATA_MODEL.md``) plus a
few truth columns (``hr_group``, ``pcr_latent_*``) that no sponsor file
contains. The writers then render this frame in each sponsor's shape.

All draws are vectorised and made in a fixed order, so the same spec and the
same generator state give the same frame.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from .trials import DAYS_PER_MONTH, StudySpec

#: Column order of the frame returned by :func:`simulate_patients`.
COLUMNS = (
    "study_id",
    "patient_id",
    "subject_number",
    "arm",
    "arm_label",
    "regimen",
    "anti_her2",
    "setting",
    "itt",
    "age_years",
    "menopausal_status",
    "ct_stage",
    "cn_stage",
    "grade",
    "hr_group",
    "er_percent",
    "pr_percent",
    "her2_ihc",
    "her2_ihc0_staining",
    "her2_ish_ratio",
    "her2_ish_copy_number",
    "surgery",
    "ypt",
    "ypn",
    "pcr_latent_primary",
    "pcr_latent_total",
    "pcr_ypt0is_ypn0",
    "pcr_ypt0_ypn0",
    "pcr_breast",
    "best_overall_response",
    "rand_date",
    "efs_days",
    "efs_event",
    "efs_event_desc",
    "efs_censor",
    "pfs_days",
    "pfs_event",
    "pfs_event_desc",
    "pfs_censor",
    "os_days",
    "os_event",
    "os_censor",
)


def _choice(rng: np.random.Generator, pairs, size: int) -> np.ndarray:
    values = [v for v, _ in pairs]
    probs = np.array([p for _, p in pairs], dtype=float)
    idx = rng.choice(len(values), size=size, p=probs / probs.sum())
    return np.array(values, dtype=object)[idx]


def _truncated_normal_int(rng: np.random.Generator, mean: float, sd: float, lo: int, hi: int, size: int) -> np.ndarray:
    out = rng.normal(mean, sd, size)
    bad = (out < lo) | (out > hi + 0.49)
    while bad.any():
        out[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (out < lo) | (out > hi + 0.49)
    return np.clip(np.rint(out), lo, hi).astype(int)


def _percent_high(rng: np.random.Generator, size: int) -> np.ndarray:
    """Receptor percentages >= 10%, as pathologists report them (multiples of 5)."""
    raw = 10.0 + 90.0 * rng.beta(4.0, 1.4, size)
    return np.clip(np.rint(raw / 5.0) * 5.0, 10.0, 100.0)


def _receptors(rng: np.random.Generator, hr_pos: np.ndarray, er_only: bool) -> tuple[np.ndarray, np.ndarray]:
    n = hr_pos.size
    u = rng.random(n)
    er_high = _percent_high(rng, n)
    er_low = rng.integers(1, 10, n).astype(float)
    pr_high = _percent_high(rng, n)
    pr_low = rng.integers(1, 10, n).astype(float)
    pr_u = rng.random(n)
    pr_low_u = rng.random(n)

    p_er_neg = 0.0 if er_only else 0.06  # HR+ through PgR alone
    p_er_low = 0.07
    er = np.zeros(n)
    pr = np.zeros(n)
    er_neg_prpos = hr_pos & (u < p_er_neg)
    er_lowmask = hr_pos & (u >= p_er_neg) & (u < p_er_neg + p_er_low)
    er_highmask = hr_pos & (u >= p_er_neg + p_er_low)
    er[er_lowmask] = er_low[er_lowmask]
    er[er_highmask] = er_high[er_highmask]
    pr_value = np.where(pr_low_u < 0.15, pr_low, pr_high)
    pr[er_neg_prpos] = pr_value[er_neg_prpos]
    pr_pos_given_low = er_lowmask & (pr_u < 0.30)
    pr_pos_given_high = er_highmask & (pr_u < 0.70)
    pr[pr_pos_given_low | pr_pos_given_high] = pr_value[pr_pos_given_low | pr_pos_given_high]
    return er, pr


def _her2(rng: np.random.Generator, spec: StudySpec, n: int):
    ihc = np.full(n, "3+", dtype=object)
    staining = np.full(n, None, dtype=object)
    ratio = np.full(n, np.nan)
    copies = np.full(n, np.nan)

    u_spec = rng.random(n)
    u_cat = rng.random(n)
    u_faint = rng.random(n)
    u_2plus = rng.random(n)
    u_ish3 = rng.random(n)
    u_g3 = rng.random(n)
    u_unknown = rng.random(n)
    r_pos2 = 2.0 + rng.gamma(2.0, 0.45, n)
    r_pos3 = 2.0 + rng.gamma(2.5, 1.4, n)
    r_g3 = rng.uniform(1.60, 1.99, n)
    cn_g3 = rng.uniform(6.0, 8.0, n)
    cep17 = rng.uniform(1.9, 2.8, n)
    r_neg = rng.uniform(1.0, 1.95, n)
    cn_neg = rng.uniform(1.8, 3.9, n)
    cn_pad = rng.uniform(0.1, 1.5, n)

    spectrum = np.zeros(n, dtype=bool)
    mm = spec.metastatic
    if mm is not None and mm.her2_spectrum_share > 0:
        spectrum = u_spec < mm.her2_spectrum_share
        cats = [c for c, _ in mm.her2_spectrum_split]
        cum = np.cumsum([p for _, p in mm.her2_spectrum_split])
        cum = cum / cum[-1]
        cat_idx = np.searchsorted(cum, u_cat, side="right")
        cat = np.array(cats, dtype=object)[np.minimum(cat_idx, len(cats) - 1)]
        ihc[spectrum] = cat[spectrum]
        zero = spectrum & (cat == "0")
        staining[zero] = np.where(u_faint[zero] < mm.ihc0_faint_share, "ultralow", "null")
        neg2 = spectrum & (cat == "2+")
        ratio[neg2] = np.round(r_neg[neg2], 2)
        copies[neg2] = np.round(cn_neg[neg2], 1)

    pos2 = ~spectrum & (u_2plus < spec.her2_2plus_share)
    ihc[pos2] = "2+"
    ratio[pos2] = np.round(np.minimum(r_pos2[pos2], 6.0), 2)
    copies[pos2] = np.round(np.maximum(ratio[pos2] * cep17[pos2], 4.0 + cn_pad[pos2]), 1)

    pos3 = ~spectrum & ~pos2
    with_ish = pos3 & (u_ish3 < 0.5)
    group3 = with_ish & (u_g3 < 0.04)  # IHC 3+ with ratio < 2 and >= 6 copies: positive on IHC
    typical = with_ish & ~group3
    ratio[typical] = np.round(np.minimum(r_pos3[typical], 15.0), 2)
    copies[typical] = np.round(np.maximum(ratio[typical] * cep17[typical], 4.0 + cn_pad[typical]), 1)
    ratio[group3] = np.round(r_g3[group3], 2)
    copies[group3] = np.round(cn_g3[group3], 1)

    # dirt: IHC 2+ without an ISH result (about `her2_2plus_ish_unknown` of all patients)
    share_2plus = max(float((ihc == "2+").mean()), 1e-9)
    p_unknown = min(1.0, spec.dirt.her2_2plus_ish_unknown / share_2plus)
    unknown = (ihc == "2+") & (u_unknown < p_unknown)
    ratio[unknown] = np.nan
    copies[unknown] = np.nan
    return ihc, staining, ratio, copies


def _pathology(rng: np.random.Generator, spec: StudySpec, pcr: np.ndarray):
    """ypT/ypN consistent with the primary-definition outcome ``pcr``."""
    pm = spec.pathology
    n = pcr.size
    u_dcis = rng.random(n)
    u_branch = rng.random(n)
    residual_t = _choice(rng, pm.residual_ypt, n)
    residual_n = _choice(rng, pm.residual_ypn, n)
    nodal_n = _choice(rng, pm.nodal_only_ypn, n)

    breast_pcr_t = np.where(u_dcis < pm.dcis_share_of_breast_pcr, "ypTis", "ypT0").astype(object)
    ypt = np.empty(n, dtype=object)
    ypn = np.empty(n, dtype=object)
    d = spec.primary_pcr_definition
    if d == "ypT0/is ypN0":
        ypt[pcr], ypn[pcr] = breast_pcr_t[pcr], "ypN0"
        nodal = ~pcr & (u_branch < pm.nodal_residual_share_of_nonpcr)
        ypt[nodal], ypn[nodal] = breast_pcr_t[nodal], nodal_n[nodal]
        inv = ~pcr & ~nodal
    elif d == "ypT0 ypN0":
        ypt[pcr], ypn[pcr] = "ypT0", "ypN0"
        dcis = ~pcr & (u_branch < pm.dcis_only_share_of_nonpcr_strict)
        ypt[dcis], ypn[dcis] = "ypTis", "ypN0"
        nodal = (
            ~pcr
            & (u_branch >= pm.dcis_only_share_of_nonpcr_strict)
            & (u_branch < pm.dcis_only_share_of_nonpcr_strict + pm.nodal_residual_share_of_nonpcr)
        )
        ypt[nodal], ypn[nodal] = breast_pcr_t[nodal], nodal_n[nodal]
        inv = ~pcr & ~dcis & ~nodal
    elif d == "ypT0/is":
        node_pos = pcr & (u_branch < pm.nodal_positive_share_of_breast_pcr)
        node_neg = pcr & ~node_pos
        ypt[pcr] = breast_pcr_t[pcr]
        ypn[node_neg] = "ypN0"
        ypn[node_pos] = nodal_n[node_pos]
        inv = ~pcr
    else:  # pragma: no cover - guarded by StudySpec
        raise ValueError(d)
    ypt[inv], ypn[inv] = residual_t[inv], residual_n[inv]
    return ypt, ypn


def pcr_flags(ypt, ypn):
    """(ypT0/is ypN0, ypT0 ypN0, ypT0/is) for arrays of ypT/ypN strings (None = no surgery)."""
    ypt = np.asarray(ypt, dtype=object)
    ypn = np.asarray(ypn, dtype=object)
    breast = np.isin(ypt, ["ypT0", "ypTis"])
    nodes = ypn == "ypN0"
    return breast & nodes, (ypt == "ypT0") & nodes, breast


def _allocate(
    rng: np.random.Generator, arm_idx: np.ndarray, hr_pos: np.ndarray, itt: np.ndarray, prob: np.ndarray, exact: bool
) -> np.ndarray:
    """Binary outcome per patient with per-patient probability ``prob``.

    ``exact``: in every arm x HR cell of the ITT population exactly
    round(n_cell * p) patients, chosen at random, have the outcome (so the
    demo reproduces the published rates); patients outside the ITT
    population, and all patients when not ``exact``, are Bernoulli draws.
    """
    u = rng.random(arm_idx.size)
    out = u < prob
    if exact:
        for a in range(int(arm_idx.max()) + 1 if arm_idx.size else 0):
            for h in (True, False):
                idx = np.flatnonzero((arm_idx == a) & (hr_pos == h) & itt)
                if idx.size == 0:
                    continue
                k = int(math.floor(idx.size * float(prob[idx[0]]) + 0.5))
                chosen = idx[rng.permutation(idx.size)[:k]]
                out[idx] = False
                out[chosen] = True
    return out


def _months_to_days(months: np.ndarray) -> np.ndarray:
    return np.maximum(1, np.ceil(months * DAYS_PER_MONTH - 1e-9)).astype(int)


def _censor(rng: np.random.Generator, spec: StudySpec, n: int):
    fu = spec.followup
    accrual = rng.uniform(0.0, fu.accrual_months, n)
    admin = fu.cutoff_months - accrual
    lost = np.zeros(n, dtype=bool)  # exactly round(n x p) patients, chosen at random, are lost
    lost[rng.permutation(n)[: int(math.floor(n * fu.loss_probability + 0.5))]] = True
    lost_at = rng.uniform(0.0, 1.0, n) * admin
    last = np.where(lost, lost_at, admin)
    code = np.where(lost, 1, 2)
    return accrual, last, code


def _background(rng: np.random.Generator, rate50: float, slope: float, age: np.ndarray) -> np.ndarray:
    rate_month = rate50 * np.exp(slope * (age - 50.0)) / 12.0
    return rng.exponential(1.0, age.size) / rate_month


def simulate_patients(spec: StudySpec, rng: np.random.Generator) -> pd.DataFrame:
    """One row per randomised patient of ``spec``, in the harmonised vocabulary.

    Columns: see :data:`COLUMNS`. Truth-only columns: ``hr_group`` (the
    generating HR group), ``pcr_latent_primary`` (the drawn primary-definition
    outcome, also for patients without surgery) and ``pcr_latent_total``
    (latent ypT0/is ypN0, which drives the EFS hazard).
    """
    arms = spec.arms
    n_itt = spec.n_itt
    n_extra = spec.dirt.n_not_itt
    n = n_itt + n_extra

    # --- design: arm sizes and HR+ counts are fixed; subject numbers are shuffled
    arm_idx = np.concatenate([np.full(a.n, i) for i, a in enumerate(arms)] + [np.zeros(0, dtype=int)]).astype(int)
    hr_pos = np.concatenate([np.r_[np.ones(a.n_hr_pos, bool), np.zeros(a.n - a.n_hr_pos, bool)] for a in arms])
    extra_arm = rng.integers(0, len(arms), n_extra)
    overall_share = sum(a.n_hr_pos for a in arms) / n_itt
    extra_hr = rng.random(n_extra) < overall_share
    arm_idx = np.r_[arm_idx, extra_arm].astype(int)
    hr_pos = np.r_[hr_pos, extra_hr].astype(bool)
    itt = np.r_[np.ones(n_itt, bool), np.zeros(n_extra, bool)]
    order = rng.permutation(n)
    arm_idx, hr_pos, itt = arm_idx[order], hr_pos[order], itt[order]

    # --- baseline
    age = _truncated_normal_int(rng, spec.age_mean, spec.age_sd, 25, 80, n)
    post = rng.random(n) < 1.0 / (1.0 + np.exp(-(age - 50.0) / 2.5))
    meno = np.where(post, "post", "pre").astype(object)
    neo = spec.setting == "neoadjuvant"
    ct = _choice(rng, spec.ct_probs, n)
    cn = _choice(rng, spec.cn_probs, n)
    grade = _choice(rng, spec.grade_probs, n).astype(float)
    er, pr = _receptors(rng, hr_pos, er_only=(spec.hr_basis == "ER"))
    ihc, staining, ratio, copies = _her2(rng, spec, n)

    # --- dirt masks (drawn for every study, applied where relevant)
    d = spec.dirt
    u_recept = rng.random(n)
    u_which = rng.random(n)
    u_grade = rng.random(n)
    u_meno = rng.random(n)
    u_surg = rng.random(n)
    miss_rec = u_recept < d.missing_er_pr
    er = np.where(miss_rec & (u_which < 0.6), np.nan, er)
    pr = np.where(miss_rec & (u_which >= 0.4), np.nan, pr)
    grade = np.where(u_grade < d.missing_grade, np.nan, grade)
    meno = np.where(u_meno < d.missing_menopause, None, meno).astype(object)
    if not neo:
        ct = np.full(n, None, dtype=object)
        cn = np.full(n, None, dtype=object)

    # --- response
    ypt = np.full(n, None, dtype=object)
    ypn = np.full(n, None, dtype=object)
    pcr_latent = np.zeros(n, dtype=bool)
    pcr_total = np.zeros(n, dtype=bool)
    surgery = np.zeros(n, dtype=bool)
    bor = np.full(n, None, dtype=object)
    if neo:
        p = np.array([arms[i].pcr_probability(bool(h)) for i, h in zip(arm_idx, hr_pos)])
        pcr_latent = _allocate(rng, arm_idx, hr_pos, itt, p, spec.exact_counts)
        lat_t, lat_n = _pathology(rng, spec, pcr_latent)
        pcr_total = pcr_flags(lat_t, lat_n)[0]
        # exactly max(1, round(n x p)) patients, chosen by the smallest draws, have no surgery
        n_no_surgery = max(1, int(math.floor(n * d.no_surgery + 0.5))) if d.no_surgery > 0 else 0
        surgery = np.ones(n, dtype=bool)
        surgery[np.argsort(u_surg, kind="stable")[:n_no_surgery]] = False
        ypt = np.where(surgery, lat_t, None).astype(object)
        ypn = np.where(surgery, lat_n, None).astype(object)
    else:
        mm = spec.metastatic
        orr = np.array([(arms[i].orr_hr_pos if h else arms[i].orr_hr_neg) for i, h in zip(arm_idx, hr_pos)])
        responder = _allocate(rng, arm_idx, hr_pos, itt, orr, spec.exact_counts)
        cr = rng.random(n) < mm.cr_share_of_responders
        nonresp = _choice(rng, mm.nonresponder_bor, n)
        bor = np.where(responder, np.where(cr, "CR", "PR"), nonresp).astype(object)

    # --- time to event (months)
    accrual, last, cens_code = _censor(rng, spec, n)
    efs_m = np.full(n, np.nan)
    pfs_m = np.full(n, np.nan)
    if neo:
        e = spec.efs
        scale = np.where(hr_pos, e.hr_pos_scale_months, e.hr_neg_scale_months)
        shape = np.where(hr_pos, e.hr_pos_shape, e.hr_neg_shape)
        mult = e.hazard_multiplier * np.array([arms[i].efs_direct_hr for i in arm_idx])
        mult = mult * np.where(pcr_total, np.where(hr_pos, e.pcr_hr_hr_pos, e.pcr_hr_hr_neg), 1.0)
        t_rec = scale * (rng.exponential(1.0, n) / mult) ** (1.0 / shape)
        rec_type = _choice(rng, e.recurrence_types, n)
        t_bg = _background(rng, e.background_rate_per_year_at_50, e.background_age_slope, age)
        post_med = np.where(rec_type == "DISTANT RECURRENCE", e.post_distant_median_months, e.post_other_median_months)
        t_post = rng.exponential(1.0, n) * post_med / math.log(2.0)
        first_is_death = t_bg < t_rec
        t_first = np.minimum(t_rec, t_bg)
        first_desc = np.where(first_is_death, "DEATH", rec_type).astype(object)
        t_death = np.where(first_is_death, t_bg, np.minimum(t_rec + t_post, t_bg))
    else:
        mm = spec.metastatic
        rate = np.array(
            [
                mm.progression_rate(
                    arms[i].orr_hr_pos if h else arms[i].orr_hr_neg,
                    arms[i].pfs_median_hr_pos if h else arms[i].pfs_median_hr_neg,
                )
                for i, h in zip(arm_idx, hr_pos)
            ]
        )
        t_exp = rng.exponential(1.0, n) / rate
        lo, hi = mm.pd_first_scan_days
        t_scan = rng.integers(lo, hi + 1, n) / DAYS_PER_MONTH
        t_prog = np.where(bor == "PD", t_scan, t_exp)
        t_bg = _background(rng, mm.background_rate_per_year_at_50, mm.background_age_slope, age)
        t_post = rng.exponential(1.0, n) * mm.post_progression_median_months / math.log(2.0)
        first_is_death = t_bg < t_prog
        t_first = np.minimum(t_prog, t_bg)
        first_desc = np.where(first_is_death, "DEATH", "DISEASE PROGRESSION").astype(object)
        t_death = np.where(first_is_death, t_bg, np.minimum(t_prog + t_post, t_bg))

    first_event = t_first <= last
    first_m = np.where(first_event, t_first, last)
    first_censor = np.where(first_event, 0, cens_code)
    death_event = t_death <= last
    os_m = np.where(death_event, t_death, last)
    os_censor = np.where(death_event, 0, cens_code)
    first_days = _months_to_days(first_m)
    os_days = np.maximum(_months_to_days(os_m), first_days)

    start = dt.date.fromisoformat(spec.start_date)
    rand_dates = [start + dt.timedelta(days=int(math.floor(a * DAYS_PER_MONTH))) for a in accrual]

    # --- assemble (sorted by subject number)
    f_total, f_strict, f_breast = pcr_flags(ypt, ypn)
    pcr_cols = {}
    for name, flag in (("pcr_ypt0is_ypn0", f_total), ("pcr_ypt0_ypn0", f_strict), ("pcr_breast", f_breast)):
        col = pd.array(flag, dtype="boolean")
        col[~surgery] = pd.NA
        pcr_cols[name] = col

    nan_int = pd.array([None] * n, dtype="Int64")
    frame = {
        "study_id": spec.study_id,
        "patient_id": [f"{spec.subject_prefix}-SIM-{k:04d}" for k in range(1, n + 1)],
        "subject_number": np.arange(1, n + 1),
        "arm": [arms[i].code for i in arm_idx],
        "arm_label": [arms[i].label for i in arm_idx],
        "regimen": [arms[i].regimen for i in arm_idx],
        "anti_her2": [arms[i].anti_her2 for i in arm_idx],
        "setting": spec.setting,
        "itt": itt,
        "age_years": age,
        "menopausal_status": meno,
        "ct_stage": ct,
        "cn_stage": cn,
        "grade": pd.array([None if math.isnan(g) else int(g) for g in grade], dtype="Int64"),
        "hr_group": np.where(hr_pos, "positive", "negative"),
        "er_percent": er,
        "pr_percent": pr,
        "her2_ihc": ihc,
        "her2_ihc0_staining": staining,
        "her2_ish_ratio": ratio,
        "her2_ish_copy_number": copies,
        "surgery": surgery if neo else np.zeros(n, bool),
        "ypt": ypt,
        "ypn": ypn,
        "pcr_latent_primary": pd.array(pcr_latent, dtype="boolean") if neo else pd.array([None] * n, dtype="boolean"),
        "pcr_latent_total": pd.array(pcr_total, dtype="boolean") if neo else pd.array([None] * n, dtype="boolean"),
        **(pcr_cols if neo else {k: pd.array([None] * n, dtype="boolean") for k in pcr_cols}),
        "best_overall_response": bor,
        "rand_date": rand_dates,
        "efs_days": pd.array(first_days, dtype="Int64") if neo else nan_int,
        "efs_event": pd.array(first_event.astype(int), dtype="Int64") if neo else nan_int,
        "efs_event_desc": np.where(first_event, first_desc, None) if neo else np.full(n, None, dtype=object),
        "efs_censor": pd.array(first_censor, dtype="Int64") if neo else nan_int,
        "pfs_days": nan_int if neo else pd.array(first_days, dtype="Int64"),
        "pfs_event": nan_int if neo else pd.array(first_event.astype(int), dtype="Int64"),
        "pfs_event_desc": np.full(n, None, dtype=object) if neo else np.where(first_event, first_desc, None),
        "pfs_censor": nan_int if neo else pd.array(first_censor, dtype="Int64"),
        "os_days": pd.array(os_days, dtype="Int64"),
        "os_event": pd.array(death_event.astype(int), dtype="Int64"),
        "os_censor": pd.array(os_censor, dtype="Int64"),
    }
    df = pd.DataFrame(frame)
    df["efs_months"] = df["efs_days"].astype("Float64") / DAYS_PER_MONTH
    df["pfs_months"] = df["pfs_days"].astype("Float64") / DAYS_PER_MONTH
    df["os_months"] = df["os_days"].astype("Float64") / DAYS_PER_MONTH
    return df[list(COLUMNS) + ["efs_months", "pfs_months", "os_months"]]
