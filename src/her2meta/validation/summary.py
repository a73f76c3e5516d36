"""Performance measures over replicates (Morris, White & Crowther 2019) and their rendering.

Per scenario x estimand x method, over the replicates where the method gave an estimate
(``n_available``):

- bias = mean(estimate) - true value, Monte Carlo SE = empirical SE / sqrt(n_available);
- empirical SE = SD of the estimates; mean model SE = mean of the reported SEs;
- coverage = share of 95% intervals containing the true value, Monte Carlo SE
  sqrt(p (1 - p) / n_available);
- ``n_unavailable`` = replicates without an estimate (counted, not imputed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .estimate import METHOD_LABELS, METHOD_ORDER
from .scenarios import ESTIMAND_LABELS, ESTIMANDS

#: the coverage window the issue asks the pooled log OR under REML + Knapp-Hartung to land in
KH_TARGET = (0.93, 0.97)


def summarise(rows: pd.DataFrame, truths: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One row per scenario x estimand x method; ``rows`` has one row per replicate x estimand x method."""
    out = []
    for (scenario, estimand, method), g in rows.groupby(["scenario", "estimand", "method"], sort=False):
        true = truths[scenario][estimand]
        ok = g.loc[g["available"].astype(bool)]
        n_ok = len(ok)
        est = ok["estimate"].to_numpy(float)
        se = ok["se"].to_numpy(float)
        covered = (ok["ci_lb"].to_numpy(float) <= true) & (true <= ok["ci_ub"].to_numpy(float))
        emp_se = float(np.std(est, ddof=1)) if n_ok > 1 else math.nan
        cov = float(covered.mean()) if n_ok else math.nan
        out.append({
            "scenario": scenario, "estimand": estimand, "method": method,
            "method_label": METHOD_LABELS.get(method, method),
            "stage": "one-stage" if method.startswith("1S_") else "two-stage",
            "true": true, "n_replicates": len(g), "n_available": n_ok, "n_unavailable": len(g) - n_ok,
            "mean_estimate": float(est.mean()) if n_ok else math.nan,
            "bias": float(est.mean() - true) if n_ok else math.nan,
            "bias_mcse": emp_se / math.sqrt(n_ok) if n_ok > 1 else math.nan,
            "empirical_se": emp_se,
            "mean_model_se": float(se.mean()) if n_ok else math.nan,
            "coverage": cov,
            "coverage_mcse": math.sqrt(cov * (1 - cov) / n_ok) if n_ok else math.nan,
            "mean_ci_width": float((ok["ci_ub"] - ok["ci_lb"]).mean()) if n_ok else math.nan,
            "mean_k": float(g["k"].mean()),
            "mean_tau2": float(ok["tau2"].mean()) if n_ok and ok["tau2"].notna().any() else math.nan,
            "share_tau2_zero": float((ok["tau2"] <= 1e-10).mean()) if n_ok and ok["tau2"].notna().any() else math.nan,
        })
    table = pd.DataFrame(out)
    if table.empty:
        return table
    table["_e"] = table["estimand"].map({e: i for i, e in enumerate(ESTIMANDS)})
    table["_m"] = table["method"].map({m: i for i, m in enumerate(METHOD_ORDER)})
    scen_order = {s: i for i, s in enumerate(dict.fromkeys(rows["scenario"]))}
    table["_s"] = table["scenario"].map(scen_order)
    return table.sort_values(["_s", "_e", "_m"]).drop(columns=["_s", "_e", "_m"]).reset_index(drop=True)


def kh_check(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Coverage of the pooled log OR under REML + Knapp-Hartung vs the 93-97% window, per scenario."""
    sel = table.loc[(table["estimand"] == "pcr_log_or") & (table["method"] == "REML_KH")]
    return [{"scenario": r.scenario, "coverage": r.coverage, "coverage_mcse": r.coverage_mcse,
             "within_93_97": bool(KH_TARGET[0] <= r.coverage <= KH_TARGET[1])} for r in sel.itertuples()]


def _f(x: float, digits: int = 3) -> str:
    return "NA" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def markdown_table(table: pd.DataFrame, scenario: str) -> str:
    lines = [
        "| estimand | method | true | mean est. | bias (MCSE) | emp. SE | mean model SE | coverage % (MCSE) | mean k | n NA |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table.loc[table["scenario"] == scenario].itertuples():
        cov = "NA" if not math.isfinite(r.coverage) else f"{100 * r.coverage:.1f} ({100 * r.coverage_mcse:.1f})"
        lines.append(
            f"| {ESTIMAND_LABELS.get(r.estimand, r.estimand)} | {r.method_label} | {_f(r.true)} | {_f(r.mean_estimate)} "
            f"| {_f(r.bias)} ({_f(r.bias_mcse)}) | {_f(r.empirical_se)} | {_f(r.mean_model_se)} | {cov} "
            f"| {r.mean_k:.1f} | {r.n_unavailable} |")
    return "\n".join(lines)


def render_markdown(result: dict[str, Any], table: pd.DataFrame) -> str:
    meta = result["meta"]
    lines = [
        "# Simulation check: bias and coverage of the two-stage and one-stage estimates",
        "",
        f"- command: `{meta['command']}`",
        f"- master seed: {meta['master_seed']} (replicate r of scenario s uses "
        "`PCG64(sha256(f\"{master_seed}:{s}:replicate-{r}\"))`)",
        f"- replicates per scenario: {meta['replicates']}; workers: {meta['workers']}; "
        f"wall time: {meta['wall_seconds']:.0f} s; CPU time of the analyses: {meta.get('cpu_seconds_total', 0):.0f} s "
        f"on {meta.get('cpu_count')} cores; load average (1/5/15 min) at start {meta.get('load_average_start')}, "
        f"at end {meta.get('load_average_end')}",
        f"- package version: {meta.get('version', '?')}; git commit: {meta.get('git_commit', '?')}",
        "",
        "CPU seconds per replicate by part (process time in the worker, mean over replicates):",
        "",
        "| part | mean s | share |",
        "|---|---:|---:|",
    ]
    timing = meta["mean_seconds_per_replicate"]
    total = sum(timing.values()) or 1.0
    for part, sec in timing.items():
        lines.append(f"| {part} | {sec:.3f} | {100 * sec / total:.0f}% |")
    for sc in result["scenarios"]:
        lines += ["", f"## Scenario `{sc['name']}` (tau = {sc['tau']:g}, K = {sc['k_studies']}, "
                  f"n = {sc['n_min']}-{sc['n_max']} per study)", "", markdown_table(table, sc["name"])]
    lines += ["", "Between-study variance of the two-stage models: mean estimated tau^2 (share of replicates "
              "with tau^2 = 0):", "", "| scenario | true tau^2 | estimand | DL | REML |", "|---|---:|---|---:|---:|"]
    for sc in result["scenarios"]:
        for estimand in ESTIMANDS:
            cells = []
            for method in ("DL", "REML"):
                r = table.loc[(table["scenario"] == sc["name"]) & (table["estimand"] == estimand)
                              & (table["method"] == method)]
                cells.append("NA" if r.empty else f"{r['mean_tau2'].iloc[0]:.4f} ({100 * r['share_tau2_zero'].iloc[0]:.0f}%)")
            if any(c != "NA" for c in cells):
                lines.append(f"| {sc['name']} | {sc['tau'] ** 2:.4f} | {ESTIMAND_LABELS[estimand]} | {cells[0]} | {cells[1]} |")
    lines += ["", "REML + Knapp-Hartung coverage of the pooled pCR log OR (target 93-97%):", ""]
    for c in result["kh_check"]:
        lines.append(f"- {c['scenario']}: {100 * c['coverage']:.1f}% (MCSE {100 * c['coverage_mcse']:.1f}) -> "
                     f"{'within' if c['within_93_97'] else 'OUTSIDE'} 93-97%")
    return "\n".join(lines) + "\n"
