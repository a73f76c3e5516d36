"""her2meta.survival against R survival 3.5-3 (fixture: tests/reference/survival/make_fixtures_extended.R).

Tolerance: 1e-6 relative for every quantity (absolute floor 1e-12 for reference values that are
exactly 0, e.g. the SE at S(t) = 1). Cox estimates are compared with both R's default fit and a
fully converged one (coxph.control(eps = 1e-13)); they agree with either to better than 1e-8.
R's NA/NaN/Inf are written as strings in the JSON and decoded here; where R gives NA we expect
NaN, except the one documented difference: the "log-log" interval at S(t) = 1, which R leaves NA
and her2meta sets to its limit (1, 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2meta.survival import cox_fit, km, logrank, ph_test, rmst_difference

HERE = Path(__file__).parent / "reference" / "survival"
REF = json.loads((HERE / "survival_extended_fixtures.json").read_text())
DATA = {"ext": pd.read_csv(HERE / "surv_ext.csv"), "edge": pd.read_csv(HERE / "surv_edge.csv")}
RTOL, ATOL = 1e-6, 1e-12
SPECIAL = {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}


def _scalar(v) -> float:
    if isinstance(v, str):
        return SPECIAL[v]
    return np.nan if v is None else float(v)


def decode(v) -> np.ndarray:
    """A fixture value (number, list, or R's NA/NaN/Inf written as strings) as a float array."""
    return np.array([_scalar(x) for x in v] if isinstance(v, list) else [_scalar(v)], dtype=float)


def close(actual, expected, name, rtol=RTOL, atol=ATOL):
    a = np.atleast_1d(np.asarray(actual, dtype=float))
    e = np.atleast_1d(np.asarray(expected, dtype=float)) if isinstance(expected, np.ndarray) else decode(expected)
    assert a.shape == e.shape, f"{name}: shape {a.shape} vs R {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=name)


def test_fixture_is_from_the_expected_r():
    assert REF["survival_version"] == "3.5.3"


# ----------------------------------------------------------------------------- Cox
def cox_args(case):
    d = DATA[case["dataset"]]
    kw = {"ties": case["ties"]}
    if "strata(" in case["formula"]:
        kw["strata"] = d["stratum"]
    if "cluster(" in case["formula"]:
        kw["cluster"] = d["site"]
    elif case["robust"]:
        kw["robust"] = True
    return d, kw


@pytest.mark.parametrize("case", REF["cox"], ids=lambda c: c["name"])
def test_cox_fit_matches_coxph(case):
    d, kw = cox_args(case)
    fit = cox_fit(d["time"], d["event"], d[case["covariates"]], **kw)
    assert fit.estimable and fit.converged and fit.reason is None
    assert list(fit.coef.index) == case["covariates"]
    for suffix in ("", "_tight"):
        close(fit.coef, case["coef" + suffix], f"coef{suffix}")
        close(fit.se, case["se" + suffix], f"se{suffix}")
        close(fit.naive_se, case["naive_se" + suffix], f"naive_se{suffix}")
        close([fit.loglik_null, fit.loglik], case["loglik" + suffix], f"loglik{suffix}")
    assert fit.n == case["n"] and fit.events == case["events"]
    assert fit.robust == case["robust"]
    np.testing.assert_allclose(np.sqrt(np.diag(fit.var)), fit.se, rtol=1e-14)


@pytest.mark.parametrize("case", REF["cox"], ids=lambda c: c["name"])
@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
def test_ph_test_matches_cox_zph(case, transform):
    d, kw = cox_args(case)
    kw.pop("cluster", None)
    kw.pop("robust", None)
    z = ph_test(d["time"], d["event"], d[case["covariates"]], transform=transform, **kw)
    ref = case["zph"][transform]
    assert z["estimable"] and ref["rows"] == case["covariates"] + ["GLOBAL"]
    rows = [z["covariates"][c] for c in case["covariates"]] + [z["global"]]
    close([r["chisq"] for r in rows], ref["chisq"], "chisq")
    close([r["df"] for r in rows], ref["df"], "df")
    close([r["p"] for r in rows], ref["p"], "p")


@pytest.mark.parametrize("case", REF["cox"], ids=lambda c: c["name"])
def test_ph_test_matches_cox_zph_on_rs_default_fit(case):
    d, kw = cox_args(case)
    kw.pop("cluster", None)
    kw.pop("robust", None)
    z = ph_test(d["time"], d["event"], d[case["covariates"]], **kw)
    rows = [z["covariates"][c] for c in case["covariates"]] + [z["global"]]
    close([r["chisq"] for r in rows], case["zph_default_fit"]["chisq"], "chisq")


def test_original_two_group_fixture_still_matches():
    d = pd.read_csv(HERE / "two_groups.csv")
    ref = json.loads((HERE / "cox_fixtures.json").read_text())
    for ties in ("efron", "breslow"):
        fit = cox_fit(d["time"], d["event"], d[["x"]], ties=ties)
        close(fit.coef, ref[ties]["coef"], f"{ties} coef")
        close(fit.se, ref[ties]["se"], f"{ties} se")


# ----------------------------------------------------------------------------- Kaplan-Meier
def km_data(case):
    d = DATA[case["dataset"]]
    if case["subset"] != "all":
        d = d[d["group"] == int(case["subset"][-1])]
    return d


def expected_ci(ref_values, surv, conf_type):
    """R's interval with the documented difference: log-log at S = 1 is (1, 1) here, NA in R."""
    e = decode(ref_values).copy()
    if conf_type == "log-log":
        e[np.asarray(surv, dtype=float) == 1.0] = 1.0
    return e


KM_CASES = [(c, ct) for c in REF["km"] for ct in ("log", "log-log")]


@pytest.mark.parametrize("case,conf_type", KM_CASES, ids=lambda v: v["name"] if isinstance(v, dict) else v)
def test_km_matches_survfit(case, conf_type):
    d = km_data(case)
    ref = case[conf_type]
    out = km(d["time"], d["event"], conf_type=conf_type)
    assert out["estimable"] and out["conf_type"] == conf_type
    close(out["timeline"], ref["time"], "time")
    close(out["survival"], ref["surv"], "surv")
    close(out["se_log"], ref["std_err_log"], "std.err (log scale)")
    close(out["se"], ref["se"], "std.err of S")
    close(out["n_risk"], ref["n_risk"], "n.risk")
    close(out["n_event"], ref["n_event"], "n.event")
    close(out["n_censor"], ref["n_censor"], "n.censor")
    close(out["ci_lower"], expected_ci(ref["lower"], out["survival"], conf_type), "lower")
    close(out["ci_upper"], expected_ci(ref["upper"], out["survival"], conf_type), "upper")
    close(out["median"], ref["median"], "median")
    close(out["median_ci_lower"], ref["median_lower"], "median LCL")
    close(out["median_ci_upper"], ref["median_upper"], "median UCL")


@pytest.mark.parametrize("case,conf_type", KM_CASES, ids=lambda v: v["name"] if isinstance(v, dict) else v)
def test_km_at_times_matches_summary_survfit(case, conf_type):
    d = km_data(case)
    ref = case[conf_type]["at"]
    out = km(d["time"], d["event"], conf_type=conf_type, times=ref["times"])
    close(out["timeline"], ref["time"], "time")
    close(out["survival"], ref["surv"], "surv")
    close(out["se"], ref["se"], "std.err")
    close(out["n_risk"], ref["n_risk"], "n.risk")
    close(out["n_event"], ref["n_event"], "n.event")
    close(out["n_censor"], ref["n_censor"], "n.censor")
    close(out["ci_lower"], expected_ci(ref["lower"], out["survival"], conf_type), "lower")
    close(out["ci_upper"], expected_ci(ref["upper"], out["survival"], conf_type), "upper")


def test_km_log_log_is_lifelines_default_interval():
    from lifelines import KaplanMeierFitter

    d = DATA["ext"]
    out = km(d["time"], d["event"])
    ci = KaplanMeierFitter().fit(d["time"], d["event"]).confidence_interval_survival_function_
    np.testing.assert_allclose(out["ci_lower"], ci.iloc[:, 0].reindex(out["timeline"]).to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(out["ci_upper"], ci.iloc[:, 1].reindex(out["timeline"]).to_numpy(), rtol=1e-10)


# ----------------------------------------------------------------------------- log-rank
@pytest.mark.parametrize("case", REF["logrank"], ids=lambda c: c["name"])
def test_logrank_matches_survdiff(case):
    d = DATA[case["dataset"]]
    kw = {"strata": d["stratum"]} if "strata(" in case["formula"] else {}
    out = logrank(d["time"], d["event"], d["group"], **kw)
    obs, exp = decode(case["obs"]), decode(case["exp"])
    assert out["estimable"]
    close(out["observed"], obs[1], "O exposed")
    close(out["expected"], exp[1], "E exposed")
    close(out["observed_reference"], obs[0], "O reference")
    close(out["expected_reference"], exp[0], "E reference")
    close(out["o_minus_e"], obs[1] - exp[1], "O - E")
    close(out["variance"], case["var"], "V")
    close(out["chisq"], case["chisq"], "chisq")
    close(out["pval"], case["pval"], "p")
    close(out["log_hr_peto"], (obs[1] - exp[1]) / decode(case["var"]), "Peto log HR")
    close(out["se_peto"], 1 / np.sqrt(decode(case["var"])), "Peto SE")


# ----------------------------------------------------------------------------- RMST
RMST_FIELDS = [("rmst_exposed", "rmst1"), ("se_exposed", "se1"), ("rmst_reference", "rmst0"), ("se_reference", "se0"),
               ("difference", "diff"), ("difference_se", "diff_se"), ("difference_ci_lower", "diff_lower"),
               ("difference_ci_upper", "diff_upper"), ("difference_pval", "diff_p"), ("ratio", "ratio"),
               ("ratio_ci_lower", "ratio_lower"), ("ratio_ci_upper", "ratio_upper"), ("ratio_pval", "ratio_p"),
               ("rmtl_exposed", "rmtl1"), ("rmtl_reference", "rmtl0"), ("rmtl_ratio", "rmtl_ratio"),
               ("rmtl_ratio_ci_lower", "rmtl_ratio_lower"), ("rmtl_ratio_ci_upper", "rmtl_ratio_upper"),
               ("rmtl_ratio_pval", "rmtl_ratio_p"), ("tau_max", "tau_max")]


@pytest.mark.parametrize("case", REF["rmst"], ids=lambda c: c["name"])
def test_rmst_matches_survrm2_formula(case):
    d = DATA[case["dataset"]]
    out = rmst_difference(d["time"], d["event"], d["group"], tau=case["tau"])
    close(out["tau_max"], case["tau_max"], "tau_max")
    assert out["estimable"] == case["estimable"]
    if not case["estimable"]:
        assert "tau" in out["reason"] and np.isnan(out["difference"])
        return
    for ours, theirs in RMST_FIELDS:
        close(out[ours], case[theirs], ours)


@pytest.mark.parametrize("case", [c for c in REF["rmst"] if c["estimable"]], ids=lambda c: c["name"])
def test_rmst_matches_survfit_rmean(case):
    """survival's print(survfit, rmean = tau) gives the same RMST and SE (same formula in 3.5-3)."""
    d = DATA[case["dataset"]]
    out = rmst_difference(d["time"], d["event"], d["group"], tau=case["tau"])
    close(out["rmst_exposed"], case["survfit_rmean1"], "rmean 1")
    close(out["se_exposed"], case["survfit_se1"], "se(rmean) 1")
    close(out["rmst_reference"], case["survfit_rmean0"], "rmean 0")
    close(out["se_reference"], case["survfit_se0"], "se(rmean) 0")
