"""Sensitivity analyses: does a pooled conclusion survive other choices?

Every function returns rows of one shape (a `Variant` per refit), so the robustness table of an
analysis is their concatenation. Variants computed from the per-study estimates:
- leave_one_out: the primary model refitted without each study (metafor leave1out);
- by_method: fixed effect, every tau2 estimator, Knapp-Hartung on/off, and the one-stage model;
- exclusions: without studies at high risk of bias, without aggregate-data studies, without
  small studies;
- cumulative: studies added in order of publication year.
Variants recomputed from the harmonized IPD:
- by_regimen: the comparison within each regimen class and backbone (an arm is a unit where the
  design allows), with the test for subgroup differences;
- by_pcr_definition: the three pCR definitions (outcome, or the compared groups, of pCR analyses);
- by_hr_cutoff: HR status re-derived at each ER/PR positivity cut-off (1% and 10%).

A variant "changes the conclusion" when its CI is on another side of the null than the primary
result's (significant <-> not significant, or the direction flips), or, for leave-one-out, when
the estimate moves by more than the configured shift on the analysis scale. The verdict counts
only variants that re-ask the same question another way (leave-one-out, method, exclusions, pCR
definition, HR cut-off, trim-and-fill): cumulative steps and single-regimen subsets lose
precision by design, so they are shown but do not count; a regimen effect is judged by its test
for subgroup differences instead.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .effects import ESTIMATE_COLUMNS, INTERACTION, OVERALL, canonical_values, estimate_analysis
from .pool import egger_test, influence, leave_one_out, rma, subgroup_analysis, trimfill

TAU2_METHODS = ["DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS"]
PCR_FIELDS = {"pcr_ypt0is_ypn0": "ypT0/is ypN0", "pcr_ypt0_ypn0": "ypT0 ypN0", "pcr_breast": "ypT0/is"}


@dataclass
class Variant:
    analysis: str
    kind: str
    variant: str
    subgroup: str = OVERALL
    k: int = 0
    n: int = 0
    estimate: float = math.nan
    ci_lb: float = math.nan
    ci_ub: float = math.nan
    pval: float = math.nan
    tau2: float = math.nan
    I2: float = math.nan
    changes_conclusion: bool = False
    in_verdict: bool = True
    note: str = ""


VARIANT_COLUMNS = list(Variant.__dataclass_fields__)


@dataclass
class Context:
    """What every sensitivity function needs to know about the analysis."""

    analysis: str
    spec: dict[str, Any]
    pooling: dict[str, Any]
    studies: dict[str, dict[str, Any]] = field(default_factory=dict)  # study sheet rows by id
    settings: dict[str, Any] = field(default_factory=dict)  # config["sensitivity"]

    @property
    def primary(self) -> str:
        return self.pooling["primary"]

    @property
    def null(self) -> float:
        return 0.0


def fit(rows: pd.DataFrame, ctx: Context, *, method: str | None = None, test: str | None = None) -> Any | None:
    rows = rows[rows["estimable"].astype(bool)]
    if len(rows) == 0:
        return None
    method = method or ctx.primary
    return rma(rows["estimate"].to_numpy(float), rows["se"].to_numpy(float) ** 2, method=method,
               test=(test or ctx.pooling["test"]) if method != "FE" else "z", level=ctx.pooling["level"],
               pi_dist=ctx.pooling["prediction_interval"], study=rows["study_id"].tolist(), tau2_ci=False)


def side(lb: float, ub: float, null: float = 0.0) -> int:
    """-1: CI entirely below the null; +1: entirely above; 0: contains it."""
    if not (math.isfinite(lb) and math.isfinite(ub)):
        return 0
    return -1 if ub < null else (1 if lb > null else 0)


def variant_from(res: Any, ctx: Context, *, kind: str, variant: str, subgroup: str, reference: Any | None,
                 n: int = 0, note: str = "") -> Variant:
    row = Variant(ctx.analysis, kind, variant, subgroup, n=n, note=note)
    if res is None:
        row.note = (note + "; " if note else "") + "no study could contribute"
        return row
    row.k, row.estimate, row.ci_lb, row.ci_ub, row.pval = res.k, res.estimate, res.ci_lb, res.ci_ub, res.pval
    row.tau2, row.I2 = getattr(res, "tau2", math.nan), getattr(res, "I2", math.nan)
    if reference is not None:
        row.changes_conclusion = side(row.ci_lb, row.ci_ub, ctx.null) != side(reference.ci_lb, reference.ci_ub, ctx.null)
    return row


def blocks(estimates: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    estimates = estimates.assign(subgroup=estimates["subgroup"].astype(str))
    order = list(dict.fromkeys(estimates["subgroup"]))
    return [(name, estimates[estimates["subgroup"] == name].sort_values("study_id")) for name in order]


# ------------------------------------------------------------------------------------------
# From the per-study estimates


def leave_one_out_variants(estimates: pd.DataFrame, ctx: Context) -> list[Variant]:
    shift = ctx.settings.get("loo_shift", 0.2)
    out = []
    for name, rows in blocks(estimates):
        primary = fit(rows, ctx)
        if primary is None or primary.k < 2:
            out.append(Variant(ctx.analysis, "leave_one_out", "not possible", name, note="fewer than 2 studies"))
            continue
        loo = leave_one_out(primary, tau2_ci=False)
        for study, refit, error in zip(loo.study, loo.refits, loo.errors):
            row = variant_from(refit, ctx, kind="leave_one_out", variant=f"without {study}", subgroup=name, reference=primary,
                               note=error or "")
            if refit is not None and abs(refit.estimate - primary.estimate) > shift:
                row.changes_conclusion = True
                row.note = (row.note + "; " if row.note else "") + f"estimate moves by {refit.estimate - primary.estimate:+.3f}"
            out.append(row)
    return out


def by_method_variants(estimates: pd.DataFrame, ctx: Context, onestage: dict[str, Any] | None = None) -> list[Variant]:
    out = []
    for name, rows in blocks(estimates):
        reference = fit(rows, ctx)
        out.append(variant_from(fit(rows, ctx, method="FE"), ctx, kind="by_method", variant="fixed effect (inverse variance)",
                                subgroup=name, reference=reference))
        for method in TAU2_METHODS:
            for test in ("z", "knha"):
                label = f"random effects {method}, {'Wald z' if test == 'z' else 'Knapp-Hartung'}"
                out.append(variant_from(fit(rows, ctx, method=method, test=test), ctx, kind="by_method", variant=label,
                                        subgroup=name, reference=reference))
        stage = _onestage_variant(onestage, name, ctx, reference)
        if stage is not None:
            out.append(stage)
    return out


def _onestage_variant(onestage: dict[str, Any] | None, block: str, ctx: Context, reference: Any) -> Variant | None:
    if not onestage:
        return None
    within = ctx.spec.get("within")
    term = {OVERALL: "group effect", INTERACTION: "interaction (group x level)"}.get(block)
    if within and block == str(within["levels"][1]):
        term = f"group effect in {within['field']} = {within['levels'][1]}"
    if term is None:
        return None
    model = onestage["models"][0]
    match = [t for t in model.get("terms", []) if t["term"] == term]
    if not match:
        return None
    t = match[0]
    row = Variant(ctx.analysis, "by_method", f"one-stage: {model['label']}", block, k=model["k"], n=model["n"],
                  estimate=t["coef"], ci_lb=t["ci_lb"], ci_ub=t["ci_ub"], pval=t["pval"])
    if reference is not None:
        row.changes_conclusion = side(row.ci_lb, row.ci_ub) != side(reference.ci_lb, reference.ci_ub)
    return row


def exclusion_variants(estimates: pd.DataFrame, ctx: Context) -> list[Variant]:
    small = ctx.settings.get("small_study_n", 100)
    rules: list[tuple[str, Callable[[dict[str, Any], pd.Series], bool]]] = [
        ("without studies at high risk of bias", lambda s, r: s.get("risk_of_bias") == "high"),
        ("without aggregate-data studies", lambda s, r: s.get("data_source") == "aggregate"),
        (f"without small studies (N < {small})", lambda s, r: r["n"] < small),
    ]
    out = []
    for name, rows in blocks(estimates):
        reference = fit(rows, ctx)
        for label, drop in rules:
            dropped = [r["study_id"] for _, r in rows.iterrows() if drop(ctx.studies.get(r["study_id"], {}), r)]
            kept = rows[~rows["study_id"].isin(dropped)]
            note = f"left out: {', '.join(dropped)}" if dropped else "no study meets the criterion (same as primary)"
            out.append(variant_from(fit(kept, ctx), ctx, kind="exclusions", variant=label, subgroup=name, reference=reference,
                                    note=note))
    return out


def cumulative_variants(estimates: pd.DataFrame, ctx: Context) -> list[Variant]:
    out = []
    for name, rows in blocks(estimates):
        usable = rows[rows["estimable"].astype(bool)].copy()
        usable["year"] = [ctx.studies.get(s, {}).get("year", 9999) for s in usable["study_id"]]
        usable = usable.sort_values(["year", "study_id"])
        reference = fit(rows, ctx)
        for j in range(1, len(usable) + 1):
            last = usable.iloc[j - 1]
            row = variant_from(fit(usable.iloc[:j], ctx), ctx, kind="cumulative", subgroup=name, reference=reference,
                               variant=f"up to {int(last['year']) if last['year'] != 9999 else 'undated'}: + {last['study_id']}")
            row.in_verdict = False
            out.append(row)
    return out


def influence_table(estimates: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """Case-deletion diagnostics per study (metafor influence()) for every block."""
    frames = []
    for name, rows in blocks(estimates):
        primary = fit(rows, ctx)
        if primary is None or primary.k < 3:
            continue
        inf = influence(primary)
        frames.append(pd.DataFrame({"analysis": ctx.analysis, "subgroup": name, "study_id": inf.study, "rstudent": inf.rstudent,
                                    "dffits": inf.dffits, "cook_d": inf.cook_d, "hat": inf.hat, "weight": inf.weight,
                                    "influential": inf.is_influential}))
    columns = ["analysis", "subgroup", "study_id", "rstudent", "dffits", "cook_d", "hat", "weight", "influential"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def small_study_variants(estimates: pd.DataFrame, ctx: Context) -> list[Variant]:
    """Egger's test and trim-and-fill where k reaches the configured minimum (default 10)."""
    min_k = ctx.settings.get("min_k_small_study_tests", 10)
    out = []
    for name, rows in blocks(estimates):
        primary = fit(rows, ctx)
        if primary is None or primary.k < min_k:
            out.append(Variant(ctx.analysis, "small_study", "not done", name, k=0 if primary is None else primary.k,
                               note=f"k < {min_k}: funnel asymmetry tests have too little power"))
            continue
        egger = egger_test(primary)
        out.append(Variant(ctx.analysis, "small_study", "Egger's regression test", name, k=egger.k, estimate=egger.limit_estimate,
                           ci_lb=egger.limit_ci_lb, ci_ub=egger.limit_ci_ub, pval=egger.pval, in_verdict=False,
                           note=f"test for funnel asymmetry p = {egger.pval:.3f}; estimate is the limit estimate"))
        filled = trimfill(primary)
        out.append(variant_from(filled.result, ctx, kind="small_study", variant=f"trim-and-fill ({filled.estimator})", subgroup=name,
                                reference=primary, note=f"{len(filled.filled_yi)} studies filled on the {filled.side} side"))
    return out


# ------------------------------------------------------------------------------------------
# From the harmonized IPD


def _estimates_for(data: dict[str, pd.DataFrame], ctx: Context, spec: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for study, frame in sorted(data.items()):
        rows += [e.as_row() for e in estimate_analysis(frame, study_id=study, analysis=ctx.analysis, spec=spec,
                                                        level=ctx.pooling["level"])]
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)  # the columns even with no IPD study


def _variants_from_spec(data, ctx, spec, *, kind, variant, reference_blocks) -> list[Variant]:
    estimates = _estimates_for(data, ctx, spec)
    out = []
    for name, rows in blocks(estimates):
        res = fit(rows, ctx)
        out.append(variant_from(res, ctx, kind=kind, variant=variant, subgroup=name, reference=reference_blocks.get(name),
                                n=int(rows.loc[rows["estimable"].astype(bool), "n"].sum())))
    return out


def _reference_blocks(data, ctx) -> dict[str, Any]:
    return {name: fit(rows, ctx) for name, rows in blocks(_estimates_for(data, ctx, ctx.spec))}


def by_pcr_definition_variants(data: dict[str, pd.DataFrame], ctx: Context) -> list[Variant]:
    spec = ctx.spec
    role = "outcome" if spec.get("outcome") in PCR_FIELDS else ("compare" if spec["compare"]["field"] in PCR_FIELDS else None)
    if role is None:
        return [Variant(ctx.analysis, "by_pcr_definition", "not applicable", note="the analysis does not use pCR")]
    reference = _reference_blocks(data, ctx)
    out = []
    for field_name, label in PCR_FIELDS.items():
        variant_spec = dict(spec)
        if role == "outcome":
            variant_spec["outcome"] = field_name
        else:
            variant_spec["compare"] = {**spec["compare"], "field": field_name}
        out += _variants_from_spec(data, ctx, variant_spec, kind="by_pcr_definition", variant=f"pCR {label}",
                                   reference_blocks=reference)
    return out


def rederive_hr_status(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """HR status at another ER/PR positivity cut-off, from the percentages (category-only
    sources keep their own categories, as in the primary analysis)."""
    from .dictionary import hr_status, receptor_status_from_percent

    out = frame.copy()
    statuses = {}
    for receptor in ("er", "pr"):
        from_percent = receptor_status_from_percent(out[f"{receptor}_percent"], threshold=threshold)
        statuses[receptor] = from_percent.where(out[f"{receptor}_percent"].notna(), out[f"{receptor}_status"])
    out["hr_status"] = hr_status(statuses["er"].astype(object), statuses["pr"].astype(object)).astype(object)
    return out


def by_hr_cutoff_variants(data: dict[str, pd.DataFrame], ctx: Context) -> list[Variant]:
    uses_hr = ctx.spec["compare"]["field"] == "hr_status" or (ctx.spec.get("within") or {}).get("field") == "hr_status" \
        or "hr_status" in (ctx.spec.get("population") or {})
    if not uses_hr:
        return [Variant(ctx.analysis, "by_hr_cutoff", "not applicable", note="the analysis does not use HR status")]
    reference = _reference_blocks(data, ctx)
    out = []
    for cutoff in ctx.settings.get("hr_cutoffs", [1, 10]):
        redone = {study: rederive_hr_status(frame, cutoff) for study, frame in data.items()}
        out += _variants_from_spec(redone, ctx, ctx.spec, kind="by_hr_cutoff", variant=f"HR positive at >= {cutoff:g}%",
                                   reference_blocks=reference)
    return out


def by_regimen_variants(data: dict[str, pd.DataFrame], ctx: Context) -> list[Variant]:
    """The comparison within each regimen class and each backbone, and the test for subgroup
    differences between them. Where the compared groups are regimens, the exposed regimens are
    taken one at a time instead (e.g. trastuzumab + pertuzumab, or + a TKI, vs trastuzumab)."""
    reference = _reference_blocks(data, ctx)
    out: list[Variant] = []
    splits = [("regimen_class", "regimen class"), ("chemo_anthracycline", "anthracycline backbone")]
    for field_name, label in splits:
        if field_name == ctx.spec["compare"]["field"]:
            values = ctx.spec["compare"]["exposed"] if isinstance(ctx.spec["compare"]["exposed"], list) else [ctx.spec["compare"]["exposed"]]
            specs = [(f"{label}: {v} vs reference", {**ctx.spec, "compare": {**ctx.spec["compare"], "exposed": v}}) for v in values]
        else:
            levels = sorted({str(v) for frame in data.values() for v in canonical_values(frame[field_name]).dropna()})
            specs = [(f"{label}: {v}", {**ctx.spec, "population": {**(ctx.spec.get("population") or {}), field_name: [v]}})
                     for v in levels]
        per_level = []
        for variant_label, spec in specs:
            estimates = _estimates_for(data, ctx, spec)
            if len(estimates) == 0:
                continue
            estimates["level"] = variant_label
            per_level.append(estimates)
            for name, rows in blocks(estimates):
                row = variant_from(fit(rows, ctx), ctx, kind="by_regimen", variant=variant_label, subgroup=name,
                                   reference=reference.get(name), n=int(rows.loc[rows["estimable"].astype(bool), "n"].sum()))
                row.in_verdict = False
                out.append(row)
        out += _subgroup_tests(per_level, ctx, label)
    return out


def _subgroup_tests(per_level: list[pd.DataFrame], ctx: Context, label: str) -> list[Variant]:
    if len(per_level) < 2:
        return []
    combined = pd.concat(per_level, ignore_index=True)
    out = []
    for name, rows in blocks(combined):
        usable = rows[rows["estimable"].astype(bool)]
        if usable["level"].nunique() < 2:
            continue
        res = subgroup_analysis(usable["estimate"].to_numpy(float), usable["se"].to_numpy(float) ** 2, usable["level"].tolist(),
                                study=usable["study_id"].tolist(), method=ctx.primary,
                                test=ctx.pooling["test"] if ctx.primary != "FE" else "z", level=ctx.pooling["level"])
        out.append(Variant(ctx.analysis, "by_regimen", f"test for subgroup differences by {label}", name,
                           k=int(len(usable)), pval=res.Q_between_p, in_verdict=False,
                           note=f"Q between = {res.Q_between:.2f} (df {res.Q_between_df}), p = {res.Q_between_p:.3f}"))
    return out


def to_frame(variants: list[Variant]) -> pd.DataFrame:
    frame = pd.DataFrame([asdict(v) for v in variants], columns=VARIANT_COLUMNS)
    return frame.replace({np.inf: np.nan, -np.inf: np.nan})


# ------------------------------------------------------------------------------------------
# Robustness


def verdict(primary: pd.Series, variants: pd.DataFrame, alpha: float = 0.05) -> str:
    """One sentence: does the conclusion survive every variant that re-asks the question?"""
    counted = variants[variants["in_verdict"].astype(bool) & variants["estimate"].notna()]
    changed = counted[counted["changes_conclusion"].astype(bool)]
    significant = side(primary["ci_lb"], primary["ci_ub"]) != 0
    if len(changed) == 0:
        text = (f"robust: all {len(counted)} variants keep the CI on the same side of the null" if significant
                else f"robust: none of {len(counted)} variants finds a difference")
    else:
        kinds = ", ".join(sorted(changed["kind"].unique()))
        text = f"sensitive: {len(changed)} of {len(counted)} variants change the conclusion ({kinds})"
    tests = variants[variants["variant"].astype(str).str.startswith("test for subgroup differences") & (variants["pval"] < alpha)]
    for _, row in tests.iterrows():
        text += f"; the effect differs {row['variant'].removeprefix('test for subgroup differences ')} (p = {row['pval']:.3f})"
    return text
