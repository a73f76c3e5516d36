"""The HTML report: one self-contained file (figures embedded), built only from aggregate
results (pooled JSON documents, QC counts, the study sheet and the configuration)."""

from __future__ import annotations

import base64
import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .effects import INTERACTION, LEFT_OUT_COLUMNS
from .figures import MEASURE_LABELS, METHOD_LABELS, count_text
from .provenance import package_versions
from .release import suppress_small_counts
from .synthetic import synthetic_studies

CITATIONS = {
    "FE": "inverse-variance fixed (equal) effect model",
    "REML": "restricted maximum-likelihood estimator of tau² (Viechtbauer 2005)",
    "DL": "DerSimonian-Laird estimator of tau² (DerSimonian & Laird 1986)",
}


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "NA"
    return f"{value:.{digits}f}"


def _p(value: Any) -> str:
    if value is None or not math.isfinite(value):
        return "NA"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _scale(document: dict[str, Any]):
    return math.exp if document["exponentiate"] else (lambda x: x)


def _model_rows(block: dict[str, Any], document: dict[str, Any], tf) -> list[dict[str, Any]]:
    models = []
    for method in document["pooling"]["methods"]:
        result = block["models"][method]
        if "error" in result:
            models.append({"method": METHOD_LABELS.get(method, method), "error": result["error"]})
            continue
        pi = "" if result.get("pi_lb") is None or method == "FE" else f"{_num(tf(result['pi_lb']))} to {_num(tf(result['pi_ub']))}"
        models.append({
            "method": METHOD_LABELS.get(method, method),
            "primary": method == document["primary"],
            "k": result["k"],
            "estimate": _num(tf(result["estimate"])),
            "ci": f"{_num(tf(result['ci_lb']))} to {_num(tf(result['ci_ub']))}",
            "pi": pi,
            "pval": _p(result["pval"]),
            "tau2": _num(result.get("tau2"), 4) if method != "FE" else "",
            "I2": _num(result.get("I2"), 1),
            "Q": f"{_num(result['Q'])} (df {result['Q_df']}, p {_p(result['Q_p'])})",
        })
    peto = block.get("peto")
    if peto:
        models.append({"method": "Peto (log-rank O-E / V), fixed effect", "primary": False, "k": peto["k"],
                       "estimate": _num(tf(peto["estimate"])), "ci": f"{_num(tf(peto['ci_lb']))} to {_num(tf(peto['ci_ub']))}",
                       "pi": "", "pval": _p(peto["pval"]), "tau2": "", "I2": "", "Q": ""})
    return models


def _study_rows(block: dict[str, Any], document: dict[str, Any], tf) -> list[dict[str, Any]]:
    binary = document["spec"]["type"] == "binary"
    rows = []
    for s in block["studies"]:
        def count(side):
            n, e = s[f"n_{side}"], s[f"events_{side}"]
            if n is None or e is None:
                return count_text(s, side, document)
            rate = f" ({100 * e / n:.1f}%)" if binary and n else ""
            return f"{e}/{n}{rate}"

        rows.append({
            "label": s["label"], "study_id": s["study_id"],
            "exposed": "" if block["name"] == INTERACTION else count("exposed"),
            "reference": "" if block["name"] == INTERACTION else count("reference"),
            "estimate": _num(tf(s["estimate"])) if s["estimable"] else "",
            "ci": f"{_num(tf(s['ci_lb']))} to {_num(tf(s['ci_ub']))}" if s["estimable"] else "",
            "weight": _num(s["weights"].get(document["primary"]), 1) if s["estimable"] else "",
            "excluded": _left_out(s, document),
            "ph": _p(s.get("ph_pval")) if s.get("ph_pval") is not None else "",
            "rmst": (f"{_num(s['rmst_diff'])} ({_num(s['rmst_se'])})" if s.get("rmst_diff") is not None else ""),
            "reason": s.get("reason") or "",
            "notes": s.get("notes") or "",
        })
    return rows


def _left_out(study: dict[str, Any], document: dict[str, Any]) -> str | int:
    """Patients of a study left out of the analysis; a part suppressed for release hides the sum."""
    parts = [study.get(column) for column in LEFT_OUT_COLUMNS]
    if any(part is None for part in parts):
        return f"suppressed (<{document.get('min_cell_count', 5)} in a part)"
    return sum(parts)


def _headline(block: dict[str, Any], document: dict[str, Any], tf) -> dict[str, Any]:
    primary = block["models"].get(document["primary"], {})
    ok = "estimate" in primary
    return {
        "estimate": _num(tf(primary["estimate"])) if ok else "NA",
        "ci": f"{_num(tf(primary['ci_lb']))} to {_num(tf(primary['ci_ub']))}" if ok else "",
        "pi": f"{_num(tf(primary['pi_lb']))} to {_num(tf(primary['pi_ub']))}" if ok and primary.get("pi_lb") is not None else "",
        "I2": _num(primary.get("I2"), 1), "tau2": _num(primary.get("tau2"), 4), "k": primary.get("k", 0),
        "n": block.get("n_total", sum(s["n"] or 0 for s in block["studies"] if s["estimable"])),
        "method": METHOD_LABELS.get(document["primary"], document["primary"]),
    }


KIND_LABELS = {"primary": "Primary", "leave_one_out": "Leave one out", "by_method": "By method", "exclusions": "Excluding studies",
               "cumulative": "Cumulative by year", "small_study": "Small-study effects", "by_regimen": "By regimen",
               "by_pcr_definition": "By pCR definition", "by_hr_cutoff": "By HR cut-off"}


def robustness_rows(table: list[dict[str, Any]], block: str, tf) -> list[dict[str, Any]]:
    rows = []
    for r in table:
        if str(r["subgroup"]) != block:
            continue
        has_ci = r.get("estimate") is not None and not (isinstance(r["estimate"], float) and math.isnan(r["estimate"]))
        rows.append({
            "kind": KIND_LABELS.get(r["kind"], r["kind"]),
            "variant": r["variant"],
            "k": r.get("k") or "",
            "estimate": _num(tf(r["estimate"])) if has_ci else "",
            "ci": f"{_num(tf(r['ci_lb']))} to {_num(tf(r['ci_ub']))}" if has_ci and r.get("ci_lb") is not None else "",
            "flag": "changes the conclusion" if r.get("changes_conclusion") in (True, "True", "true") else "",
            "counted": r.get("in_verdict") not in (False, "False", "false"),
            "note": r.get("note") if isinstance(r.get("note"), str) else "",
        })
    return rows


def analysis_section(document: dict[str, Any], forest_svg: Path, km_svg: Path | None = None,
                     km_by_study_svg: Path | None = None, onestage: dict[str, Any] | None = None,
                     robustness: dict[str, Any] | None = None) -> dict[str, Any]:
    from .figures import subgroup_title

    tf = _scale(document)
    measure = MEASURE_LABELS[document["measure"]]
    blocks = []
    for block in document["subgroups"]:
        title = subgroup_title(document, block["name"])
        rates = {side: f"{100 * r['proportion']:.1f}% ({100 * r['ci_lb']:.1f} to {100 * r['ci_ub']:.1f}; k = {r['k']})"
                 for side, r in (block.get("group_rates") or {}).items()}
        rmst = block.get("rmst")
        verdict = (robustness or {}).get("verdicts", {}).get(block["name"], "")
        blocks.append({
            "not_estimable": block.get("not_estimable_reason", ""),
            "verdict": verdict,
            "robustness": robustness_rows((robustness or {}).get("table", []), block["name"], tf) if robustness else [],
            "name": block["name"],
            "title": title,
            "measure": f"Ratio of {measure.lower()}s" if block["name"] == INTERACTION else measure,
            "models": _model_rows(block, document, tf),
            "studies": _study_rows(block, document, tf),
            "headline": _headline(block, document, tf),
            "rates": rates,
            "rmst": (f"{_num(rmst['estimate'])} months ({_num(rmst['ci_lb'])} to {_num(rmst['ci_ub'])}; k = {rmst['k']})"
                     if rmst else ""),
        })
    naive = document.get("naive_comparison")
    min_k = (robustness or {}).get("min_k", 10)
    key_k = blocks[-1]["headline"]["k"] if blocks else 0
    influential = sorted({str(r["study_id"]) + (f" ({r['subgroup']})" if str(r["subgroup"]) != "all" else "")
                          for r in (robustness or {}).get("influence", []) if r.get("influential") in (True, "True", "true")})
    def group_label(side: str) -> str:
        value = document["spec"]["compare"][side]
        return " or ".join(str(v) for v in value) if isinstance(value, list) else str(value)

    return {
        "not_estimable": document.get("not_estimable", ""),
        "exposed_label": group_label("exposed"),
        "reference_label": group_label("reference"),
        "funnel": _data_uri(robustness["funnel"]) if robustness and robustness.get("funnel") and key_k >= min_k else "",
        "funnel_note": (f"Funnel plot, Egger's test and trim-and-fill not shown: k = {key_k} < {min_k}."
                        if robustness and key_k < min_k else ""),
        "influential": influential,
        "name": document["analysis"],
        "title": document["spec"].get("title", document["analysis"]),
        "description": document["spec"].get("description", ""),
        "measure": measure,
        "spec": document["spec"],
        "blocks": blocks,
        "naive": (f"Q = {_num(naive['Q_between'])} (df {naive['Q_between_df']}), p = {_p(naive['Q_between_p'])}" if naive else ""),
        "forest": _data_uri(forest_svg),
        "km": _data_uri(km_svg) if km_svg else "",
        "km_by_study": _data_uri(km_by_study_svg) if km_by_study_svg else "",
        "onestage": _onestage_rows(onestage, tf) if onestage else None,
    }


def _onestage_rows(result: dict[str, Any], tf) -> dict[str, Any]:
    models = []
    for model in result["models"]:
        terms = [{"term": t["term"], "estimate": _num(tf(t["coef"])), "ci": f"{_num(tf(t['ci_lb']))} to {_num(tf(t['ci_ub']))}",
                  "pval": _p(t["pval"])} for t in model.get("terms", [])]
        models.append({"label": model["label"], "n": model["n"], "k": model["k"], "terms": terms, "error": model.get("error", "")})
    return {"models": models, "note": result["note"]}


def _data_uri(svg: Path) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(Path(svg).read_bytes()).decode()


def study_rows(studies: list[dict[str, Any]], qcs: dict[str, dict[str, Any]], min_count: int = 5) -> list[dict[str, Any]]:
    rows = []
    for study in studies:
        qc = qcs.get(study["study_id"])
        row = {"study_id": study["study_id"], "label": study["label"], "design": study["design"], "setting": study["setting"],
               "source": study["data_source"], "year": study.get("year", ""), "reference": study.get("published_reference", ""),
               "include": study["include"], "exclusion_reason": study.get("exclusion_reason", "")}
        if qc:
            row["failed"] = (qc.get("failed") or {}).get("summary", "")
            ext = qc["extraction"]["subjects"]
            hr = qc["counts"]["hr_status"]
            row.update(
                rows_in=ext.get("rows_in"),
                excluded="; ".join(f"{e['count']} {e['reason']}" for e in ext.get("excluded", []) if e["count"]) or "none",
                n=qc["rows_out"],
                hr_pos=hr.get("positive", 0), hr_neg=hr.get("negative", 0), hr_unknown=hr.get("unknown", 0),
                hr_source=", ".join(f"{k}: {v}" for k, v in qc["counts"]["hr_status_source"].items()),
                pcr_source=", ".join(qc["counts"]["pcr_source"]),
                regimens="; ".join(f"{k} {v}" for k, v in qc["counts"]["regimen_class"].items()),
                warnings=qc["warnings"],
            )
        rows.append(row)
    return _suppress_study_counts(rows, min_count)


def _suppress_study_counts(rows: list[dict[str, Any]], min_count: int) -> list[dict[str, Any]]:
    """Counts of people below the minimum cell count are shown as "<min" (Safe Outputs)."""
    columns = ["rows_in", "n", "hr_pos", "hr_neg", "hr_unknown"]
    suppressed, _ = suppress_small_counts(rows, columns, min_count, totals={"n": ["hr_pos", "hr_neg", "hr_unknown"]},
                                          placeholder=f"<{min_count}")
    for row in suppressed:
        if isinstance(row.get("excluded"), str):
            # the count leading each "N reason" part (study_rows joins them with "; "), whatever its digits
            row["excluded"] = re.sub(r"(?:^|(?<=; ))(\d+)(?= )",
                                     lambda m: f"<{min_count}" if 0 < int(m.group(1)) < min_count else m.group(1),
                                     row["excluded"])
    return suppressed


def methods_paragraph(config: dict[str, Any], versions: dict[str, str]) -> str:
    pooling = config["pooling"]
    models = ", ".join(CITATIONS.get(m, m) for m in pooling["methods"])
    test = ("Wald-type z tests and confidence intervals" if pooling["test"] == "z"
            else "the Knapp-Hartung (Hartung-Knapp-Sidik-Jonkman) method with a t distribution on k-1 degrees of freedom")
    pi = {"norm": "a normal distribution", "t": "a t distribution on k-2 degrees of freedom",
          "auto": "a normal distribution" if pooling["test"] == "z" else "a t distribution on k-1 degrees of freedom"}[pooling["prediction_interval"]]
    h = config["harmonization"]
    parts = [
        "Individual participant data of each study were mapped onto one harmonized data model with a declarative, per-study mapping.",
        f"Hormone-receptor (HR) status was positive when ER or PR stained at least {h['hr_threshold_percent']:g}% of tumour nuclei "
        "(ASCO/CAP 2020); where a sponsor reported only categories, these were taken as given and flagged.",
        "HER2 status followed the ASCO/CAP 2018 and 2023 IHC and dual-probe ISH rules.",
        "pCR was derived from ypT and ypN as ypT0/is ypN0 (primary), ypT0 ypN0 and ypT0/is"
        + (", counting isolated tumour cells in nodes as pCR." if h["itc_is_pcr"] else "; isolated tumour cells in nodes (ypN0(i+)) did not count as pCR."),
        "Within each study (two-stage approach), binary outcomes were compared with the 2x2 table (odds ratio, risk ratio or "
        "risk difference), adding 0.5 to every cell only in studies with a zero cell, and time-to-event outcomes with a Cox "
        "proportional-hazards model (Efron's method for ties), with the log-rank observed-minus-expected statistic and its "
        "variance (Peto), the restricted mean survival time difference where a horizon was set, and a test of proportional "
        "hazards (scaled Schoenfeld residuals).",
        "Where an analysis compared groups within levels of a second factor (e.g. HR status), the within-study interaction "
        "(difference of the two log effects) was pooled across studies (Fisher et al. 2017), and the naive across-trial "
        "comparison of the level-specific pooled effects is shown for contrast.",
        "One-stage models fitted all patients at once with study as a stratum: logistic regression with study-specific "
        "intercepts and conditional logistic regression for binary outcomes, and a Cox model with a baseline hazard per "
        "study (model-based and robust standard errors) for time-to-event outcomes.",
        f"Study estimates were pooled on the log scale with the {models}; the headline model is {METHOD_LABELS.get(pooling['primary'], pooling['primary'])}, "
        f"with {test}, {pooling['level']:g}% confidence intervals and prediction intervals based on {pi}.",
        "Heterogeneity is described by tau², I² and Cochran's Q.",
        f"Software: her2meta {versions.get('her2meta')}, Python {versions.get('python')}, Snakemake {versions.get('snakemake')}, "
        f"pandas {versions.get('pandas')}, SciPy {versions.get('scipy')}, lifelines {versions.get('lifelines')}, "
        f"statsmodels {versions.get('statsmodels')}, matplotlib {versions.get('matplotlib')}, pyreadstat {versions.get('pyreadstat')}.",
    ]
    return " ".join(parts)


REFERENCES = [
    "DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials 1986;7:177-88.",
    "Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the random-effects model. J Educ Behav Stat 2005;30:261-93.",
    "Knapp G, Hartung J. Improved tests for a random effects meta-regression with a single covariate. Stat Med 2003;22:2693-710.",
    "Higgins JPT, Thompson SG, Spiegelhalter DJ. A re-evaluation of random-effects meta-analysis. J R Stat Soc A 2009;172:137-59.",
    "Fisher DJ, Carpenter JR, Morris TP, et al. Meta-analytical methods to identify who benefits most from treatments: daft, deluded, or deft approach? BMJ 2017;356:j573.",
    "Efron B. The efficiency of Cox's likelihood function for censored data. J Am Stat Assoc 1977;72:557-65.",
    "Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics based on weighted residuals. Biometrika 1994;81:515-26.",
    "Uno H, Claggett B, Tian L, et al. Moving beyond the hazard ratio in quantifying the between-group difference in survival analysis. J Clin Oncol 2014;32:2380-5.",
    "Egger M, Davey Smith G, Schneider M, Minder C. Bias in meta-analysis detected by a simple, graphical test. BMJ 1997;315:629-34.",
    "Duval S, Tweedie R. Trim and fill. Biometrics 2000;56:455-63.",
    "Stewart LA, Clarke M, Rovers M, et al. Preferred reporting items for a systematic review and meta-analysis of individual participant data: the PRISMA-IPD statement. JAMA 2015;313:1657-65.",
    "Cortazar P, Zhang L, Untch M, et al. Pathological complete response and long-term clinical benefit in breast cancer: the CTNeoBC pooled analysis. Lancet 2014;384:164-72.",
    "Allison KH, Hammond MEH, Dowsett M, et al. Estrogen and progesterone receptor testing in breast cancer: ASCO/CAP guideline update. J Clin Oncol 2020;38:1346-66.",
    "Wolff AC, Hammond MEH, Allison KH, et al. HER2 testing in breast cancer: ASCO/CAP clinical practice guideline focused update. J Clin Oncol 2018;36:2105-22.",
    "Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3):1-48.",
]


def limitations(sections: list[dict[str, Any]], documents: list[dict[str, Any]], studies: list[dict[str, Any]],
                config: dict[str, Any]) -> list[str]:
    """One line for each flag the results raise, for the discussion's limitations paragraph."""
    lines = []
    min_k = config.get("sensitivity", {}).get("min_k_small_study_tests", 10)
    for section, document in zip(sections, documents):
        if section["not_estimable"]:
            lines.append(f"{section['title']}: not estimable: {section['not_estimable']}.")
            continue
        for block, raw in zip(section["blocks"], document["subgroups"]):
            where = section["title"] + (f" ({block['title']})" if block["title"] else "")
            if block["not_estimable"]:
                lines.append(f"{where}: not estimable: {block['not_estimable']}.")
                continue
            k = block["headline"]["k"] or 0
            if k == 1:
                lines.append(f"{where}: a single study; the pooled estimate is that study's own, and heterogeneity cannot be estimated.")
            elif 0 < k < 3:
                lines.append(f"{where}: only {k} studies; heterogeneity cannot be estimated reliably.")
            I2 = raw["models"].get(document["primary"], {}).get("I2")
            if I2 is not None and I2 > 50:
                lines.append(f"{where}: substantial heterogeneity (I² = {I2:.0f}%); the pooled estimate is an average of different effects.")
            if block.get("verdict", "").startswith("sensitive"):
                lines.append(f"{where}: {block['verdict']}.")
            ph = [s["label"] for s in raw["studies"] if s.get("ph_pval") is not None and s["ph_pval"] < 0.05]
            if ph:
                lines.append(f"{where}: proportional hazards doubtful in {', '.join(ph)} (Schoenfeld test p < 0.05); see the RMST difference.")
            not_estimable = [s for s in raw["studies"] if not s["estimable"] and not s.get("reason", "").startswith("not applicable")]
            if not_estimable and block["name"] != "interaction":
                count = f"{len(not_estimable)} {'study' if len(not_estimable) == 1 else 'studies'}"
                lines.append(f"{where}: {count} could not contribute ("
                             + "; ".join(f"{s['label']}: {s['reason']}" for s in not_estimable[:4]) + ").")
        if section["blocks"] and 0 < (section["blocks"][0]["headline"]["k"] or 0) < min_k and section["name"] in config.get("sensitivity", {}).get("analyses", []):
            lines.append(f"{section['title']}: fewer than {min_k} studies, so small-study effects (funnel asymmetry) could not be assessed.")
    for row in studies:
        for warning in row.get("warnings", []) or []:
            lines.append(f"{row['label']}: {warning}.")
        if not row["include"]:
            lines.append(f"{row['label']} not included: {row['exclusion_reason']}.")
    return lines


def synthetic_banner(studies: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(banner, limitations line) naming the synthetic studies, or None when every study is real.

    The banner follows the data (each package's SYNTHETIC marker), never a configuration key."""
    synthetic = synthetic_studies(studies)
    if not synthetic:
        return None
    included = [s for s in studies if s.get("include")]
    if len(synthetic) == len(included):
        return ("Synthetic demonstration data. Every study in this report was generated by the her2meta simulator "
                "(calibrated to published figures); no result here describes real patients.",
                "All studies are synthetic demonstration data: the numbers illustrate the method, not the clinical question.")
    names = ", ".join(synthetic)
    one = len(synthetic) == 1
    word, verb, them = ("Study", "is", "it") if one else ("Studies", "are", "them")
    return (f"Synthetic demonstration data: {word.lower()} {names} {verb} synthetic ({len(synthetic)} of {len(included)} "
            f"included studies; generated by the her2meta simulator, {'its package carries' if one else 'their packages carry'} "
            f"the SYNTHETIC marker). A result that pools {them} does not describe real patients.",
            f"{word} {names} {verb} synthetic demonstration data: pooled results that include {them} do not describe real "
            "patients.")


def render(*, config: dict[str, Any], studies: list[dict[str, Any]], qcs: dict[str, dict[str, Any]],
           documents: list[dict[str, Any]], forest_svgs: list[Path], km_svgs: dict[str, Path] | None = None,
           km_by_study_svgs: dict[str, Path] | None = None, onestage: dict[str, dict[str, Any]] | None = None,
           robustness: dict[str, dict[str, Any]] | None = None, extra: dict[str, Any] | None = None) -> str:
    """extra: more render-context keys (the partials' `integrity`, `baseline`, `prisma_flow`)."""
    env = Environment(loader=PackageLoader("her2meta", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    versions = package_versions()
    sections = [analysis_section(doc, svg, (km_svgs or {}).get(doc["analysis"]), (km_by_study_svgs or {}).get(doc["analysis"]),
                                 (onestage or {}).get(doc["analysis"]), (robustness or {}).get(doc["analysis"]))
                for doc, svg in zip(documents, forest_svgs)]
    rows = study_rows(studies, qcs, config.get("release", {}).get("min_cell_count", 5))
    included = [r for r in rows if r["include"]]
    flow = {
        "in_sheet": len(rows),
        "included": len(included),
        "excluded": [r for r in rows if not r["include"]],
        "failed": [r for r in rows if r.get("failed")],
        "ipd": sum(1 for r in included if r["source"] == "ipd"),
        "rows_in": sum(r["rows_in"] for r in included if isinstance(r.get("rows_in"), int)),
        "patients": sum(r["n"] for r in included if isinstance(r.get("n"), int)),
    }
    css = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    flags = limitations(sections, documents, rows, config)
    banner = synthetic_banner(studies)
    if banner:
        flags.insert(0, banner[1])
    return env.get_template("report.html").render(
        title=config.get("report", {}).get("title", "IPD meta-analysis"),
        demo=banner[0] if banner else None,
        sections=sections,
        studies=rows,
        flow=flow,
        methods=methods_paragraph(config, versions),
        limitations=flags,
        references=REFERENCES,
        versions=versions,
        css=css,
        **(extra or {}),
    )
