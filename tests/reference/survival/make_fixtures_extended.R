# Reference values for her2meta.survival and her2meta.onestage, from R's survival package.
# Needs Debian's r-base-core, r-cran-survival (3.5-3) and r-cran-jsonlite; run from this folder:
#   Rscript make_fixtures_extended.R
# Reads the committed datasets made by make_datasets_extended.py (surv_ext.csv, surv_edge.csv,
# onestage_ipd.csv) and writes survival_extended_fixtures.json, which the tests read
# (R is not needed to run the tests).
#
# Every number is R's own output except the RMST block: survRM2 is not packaged for Debian, so
# its rmst1()/rmst2() computations (Uno et al., J Clin Oncol 2014;32:2380-5; Royston & Parmar,
# BMC Med Res Methodol 2013;13:152) are written out below on top of survival::survfit(), and
# checked against survival's own restricted mean (summary(survfit(...), rmean = tau)).
suppressMessages({library(survival); library(jsonlite)})

ext <- read.csv("surv_ext.csv")
edge <- read.csv("surv_edge.csv")
ipd <- read.csv("onestage_ipd.csv")

# Non-finite values are written as strings ("NA", "NaN", "Inf", "-Inf"); the tests decode them.
num <- function(x) unname(as.numeric(x))
tight <- coxph.control(eps = 1e-13, toler.chol = 1e-15, iter.max = 200)

# ---------------------------------------------------------------- Cox models
cox_case <- function(name, data, formula, ties = "efron", robust = FALSE, covariates) {
  environment(formula) <- environment()  # cox.zph re-evaluates the model frame there
  fit <- coxph(formula, data = data, ties = ties, robust = robust)
  fit_tight <- coxph(formula, data = data, ties = ties, robust = robust, control = tight)
  naive <- if (is.null(fit$naive.var)) fit$var else fit$naive.var
  list(name = name, dataset = deparse(substitute(data)), formula = deparse(formula), ties = ties,
       robust = robust || !is.null(fit$naive.var), covariates = I(covariates),
       coef = num(coef(fit)), se = num(sqrt(diag(fit$var))), naive_se = num(sqrt(diag(naive))),
       loglik = num(fit$loglik), n = fit$n, events = fit$nevent, iter = fit$iter,
       coef_tight = num(coef(fit_tight)), se_tight = num(sqrt(diag(fit_tight$var))),
       naive_se_tight = num(sqrt(diag(if (is.null(fit_tight$naive.var)) fit_tight$var else fit_tight$naive.var))),
       loglik_tight = num(fit_tight$loglik),
       zph = lapply(c(km = "km", rank = "rank", identity = "identity", log = "log"), function(tr) {
         z <- cox.zph(fit_tight, transform = tr)
         list(chisq = num(z$table[, "chisq"]), df = num(z$table[, "df"]), p = num(z$table[, "p"]),
              rows = rownames(z$table))
       }),
       zph_default_fit = {
         z <- cox.zph(fit, transform = "km")
         list(chisq = num(z$table[, "chisq"]), df = num(z$table[, "df"]), p = num(z$table[, "p"]))
       })
}

cox_cases <- list(
  cox_case("ext_group_efron", ext, Surv(time, event) ~ group, covariates = "group"),
  cox_case("ext_group_breslow", ext, Surv(time, event) ~ group, ties = "breslow", covariates = "group"),
  cox_case("ext_multi_efron", ext, Surv(time, event) ~ group + age + er, covariates = c("group", "age", "er")),
  cox_case("ext_multi_breslow", ext, Surv(time, event) ~ group + age + er, ties = "breslow",
           covariates = c("group", "age", "er")),
  cox_case("ext_strata_efron", ext, Surv(time, event) ~ group + age + er + strata(stratum),
           covariates = c("group", "age", "er")),
  cox_case("ext_robust_efron", ext, Surv(time, event) ~ group + age + er, robust = TRUE,
           covariates = c("group", "age", "er")),
  # survival 3.x: cluster() alone implies robust = TRUE, but an explicit robust = FALSE drops it
  cox_case("ext_cluster_efron", ext, Surv(time, event) ~ group + age + er + cluster(site), robust = TRUE,
           covariates = c("group", "age", "er")),
  cox_case("ext_strata_robust_efron", ext, Surv(time, event) ~ group + age + er + strata(stratum), robust = TRUE,
           covariates = c("group", "age", "er")),
  cox_case("ext_strata_cluster_efron", ext, Surv(time, event) ~ group + age + strata(stratum) + cluster(site),
           robust = TRUE, covariates = c("group", "age")),
  cox_case("ext_strata_cluster_breslow", ext, Surv(time, event) ~ group + age + strata(stratum) + cluster(site),
           ties = "breslow", robust = TRUE, covariates = c("group", "age")),
  cox_case("edge_group_x_efron", edge, Surv(time, event) ~ group + x, robust = TRUE, covariates = c("group", "x")),
  cox_case("edge_group_efron", edge, Surv(time, event) ~ group, covariates = "group")
)

# ---------------------------------------------------------------- Kaplan-Meier
km_case <- function(name, time, event, times) {
  out <- list(name = name)
  for (ct in c("log", "log-log")) {
    f <- survfit(Surv(time, event) ~ 1, conf.type = ct)
    s <- summary(f, times = times, extend = TRUE)
    tab <- summary(f)$table
    out[[ct]] <- list(time = num(f$time), n_risk = num(f$n.risk), n_event = num(f$n.event),
                      n_censor = num(f$n.censor), surv = num(f$surv), std_err_log = num(f$std.err),
                      se = num(summary(f, censored = TRUE)$std.err), lower = num(f$lower), upper = num(f$upper),
                      median = num(tab["median"]), median_lower = num(tab["0.95LCL"]),
                      median_upper = num(tab["0.95UCL"]),
                      at = list(times = num(times), time = num(s$time), surv = num(s$surv), se = num(s$std.err),
                                lower = num(s$lower), upper = num(s$upper), n_risk = num(s$n.risk),
                                n_event = num(s$n.event), n_censor = num(s$n.censor)))
  }
  out
}
km_cases <- list(
  c(km_case("ext_all", ext$time, ext$event, c(0, 0.5, 3, 6, 12.5, 24, 36, 60, 84, 100)), list(dataset = "ext", subset = "all")),
  c(km_case("ext_group0", ext$time[ext$group == 0], ext$event[ext$group == 0], c(0, 12, 24, 36, 48, 60, 90)),
    list(dataset = "ext", subset = "group0")),
  c(km_case("ext_group1", ext$time[ext$group == 1], ext$event[ext$group == 1], c(0, 12, 24, 36, 48, 60, 90)),
    list(dataset = "ext", subset = "group1")),
  c(km_case("edge_all", edge$time, edge$event, c(0, 1, 2.5, 6, 7, 20, 24, 30)), list(dataset = "edge", subset = "all")),
  c(km_case("edge_group0", edge$time[edge$group == 0], edge$event[edge$group == 0], c(0, 1, 2.5, 6, 7, 19.9, 20, 30)),
    list(dataset = "edge", subset = "group0")),
  c(km_case("edge_group1", edge$time[edge$group == 1], edge$event[edge$group == 1], c(0, 1, 2.5, 6, 7, 20, 24, 30)),
    list(dataset = "edge", subset = "group1"))
)

# ---------------------------------------------------------------- log-rank (survdiff)
logrank_case <- function(name, data, formula) {
  sd <- survdiff(formula, data = data)
  v <- if (is.matrix(sd$var)) sd$var else matrix(sd$var)
  # rows of obs/exp are the group levels 0, 1 (summed over strata when stratified)
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  list(name = name, dataset = deparse(substitute(data)), formula = deparse(formula),
       obs = num(obs), exp = num(ex), var = num(v[2, 2]), chisq = num(sd$chisq),
       pval = num(pchisq(sd$chisq, df = 1, lower.tail = FALSE)), n = num(sd$n))
}
logrank_cases <- list(
  logrank_case("ext", ext, Surv(time, event) ~ group),
  logrank_case("ext_strata", ext, Surv(time, event) ~ group + strata(stratum)),
  logrank_case("edge", edge, Surv(time, event) ~ group)
)

# ---------------------------------------------------------------- RMST (survRM2 formulas)
# rmst1(): area under the KM curve up to tau; variance = sum over the survfit times t_i <= tau of
#   d_i / (n_i (n_i - d_i)) * (integral_{t_i}^{tau} S(u) du)^2   (0 when n_i == d_i),
# i.e. the Greenwood plug-in of Uno et al. 2014 (survRM2::rmst1, survRM2 1.0-4).
rmst1 <- function(time, status, tau) {
  ft <- survfit(Surv(time, status) ~ 1)
  idx <- ft$time <= tau
  wk.time <- sort(c(ft$time[idx], tau))
  wk.surv <- ft$surv[idx]
  wk.n.risk <- ft$n.risk[idx]
  wk.n.event <- ft$n.event[idx]
  time.diff <- diff(c(0, wk.time))
  areas <- time.diff * c(1, wk.surv)
  rmst <- sum(areas)
  wk.var <- ifelse((wk.n.risk - wk.n.event) == 0, 0, wk.n.event / (wk.n.risk * (wk.n.risk - wk.n.event)))
  wk.var <- c(wk.var, 0)
  rmst.var <- sum(cumsum(rev(areas[-1]))^2 * rev(wk.var)[-1])
  # survival's own restricted mean and its se (print.survfit / summary.survfit, rmean = tau)
  tab <- summary(ft, rmean = tau)$table
  list(rmst = rmst, var = rmst.var, se = sqrt(rmst.var),
       survfit_rmean = num(tab["rmean"]), survfit_se = num(tab["se(rmean)"]))
}
rmst_case <- function(name, time, status, arm, tau, alpha = 0.05) {
  # survRM2::rmst2's check on tau (cases 1-4 of its documentation)
  t0 <- max(time[arm == 0]); s0 <- min(status[arm == 0][time[arm == 0] == t0])
  t1 <- max(time[arm == 1]); s1 <- min(status[arm == 1][time[arm == 1] == t1])
  shorter_ends_with_event <- if (t0 < t1) s0 == 1 else if (t1 < t0) s1 == 1 else (s0 == 1 || s1 == 1)
  tau_max <- if (shorter_ends_with_event) max(t0, t1) else min(t0, t1)
  if (tau > tau_max) return(list(name = name, tau = tau, tau_max = tau_max, estimable = FALSE))
  w1 <- rmst1(time[arm == 1], status[arm == 1], tau)
  w0 <- rmst1(time[arm == 0], status[arm == 0], tau)
  z <- qnorm(1 - alpha / 2)
  diff <- w1$rmst - w0$rmst; diff.se <- sqrt(w1$var + w0$var)
  lr <- log(w1$rmst) - log(w0$rmst); lr.se <- sqrt(w1$var / w1$rmst^2 + w0$var / w0$rmst^2)
  rmtl1 <- tau - w1$rmst; rmtl0 <- tau - w0$rmst
  ll <- log(rmtl1) - log(rmtl0); ll.se <- sqrt(w1$var / rmtl1^2 + w0$var / rmtl0^2)
  list(name = name, tau = tau, tau_max = tau_max, estimable = TRUE,
       rmst1 = w1$rmst, se1 = w1$se, rmst0 = w0$rmst, se0 = w0$se,
       survfit_rmean1 = w1$survfit_rmean, survfit_se1 = w1$survfit_se,
       survfit_rmean0 = w0$survfit_rmean, survfit_se0 = w0$survfit_se,
       diff = diff, diff_se = diff.se, diff_lower = diff - z * diff.se, diff_upper = diff + z * diff.se,
       diff_p = 2 * pnorm(-abs(diff) / diff.se),
       ratio = exp(lr), ratio_lower = exp(lr - z * lr.se), ratio_upper = exp(lr + z * lr.se),
       ratio_p = 2 * pnorm(-abs(lr) / lr.se),
       rmtl1 = rmtl1, rmtl0 = rmtl0,
       rmtl_ratio = exp(ll), rmtl_ratio_lower = exp(ll - z * ll.se), rmtl_ratio_upper = exp(ll + z * ll.se),
       rmtl_ratio_p = 2 * pnorm(-abs(ll) / ll.se))
}
rmst_cases <- list(
  c(rmst_case("ext_tau12", ext$time, ext$event, ext$group, 12), dataset = "ext"),
  c(rmst_case("ext_tau36", ext$time, ext$event, ext$group, 36), dataset = "ext"),
  c(rmst_case("ext_tau60", ext$time, ext$event, ext$group, 60), dataset = "ext"),
  c(rmst_case("ext_tau_max", ext$time, ext$event, ext$group,
              min(max(ext$time[ext$group == 0]), max(ext$time[ext$group == 1]))), dataset = "ext"),
  c(rmst_case("ext_tau_too_late", ext$time, ext$event, ext$group, 200), dataset = "ext"),
  c(rmst_case("edge_tau10", edge$time, edge$event, edge$group, 10), dataset = "edge"),
  c(rmst_case("edge_tau6", edge$time, edge$event, edge$group, 6), dataset = "edge"),
  # group 0's last patient dies at 20 (its KM reaches 0): survRM2 allows tau up to 24
  c(rmst_case("edge_tau22", edge$time, edge$event, edge$group, 22), dataset = "edge"),
  c(rmst_case("edge_tau24", edge$time, edge$event, edge$group, 24), dataset = "edge"),
  c(rmst_case("edge_tau25", edge$time, edge$event, edge$group, 25), dataset = "edge")
)

# ---------------------------------------------------------------- one-stage models
covs <- c("treat", "hr", "treat_x_hr", "age")
wald <- function(est, se) list(coef = num(est), se = num(se), ci_lb = num(est - qnorm(0.975) * se),
                               ci_ub = num(est + qnorm(0.975) * se), pval = num(2 * pnorm(-abs(est / se))))
g <- glm(pcr ~ factor(study_id) + treat + hr + treat_x_hr + age, family = binomial, data = ipd)
g_tight <- glm(pcr ~ factor(study_id) + treat + hr + treat_x_hr + age, family = binomial, data = ipd,
               control = glm.control(epsilon = 1e-14, maxit = 100))
gs <- summary(g)$coefficients[covs, ]
gts <- summary(g_tight)$coefficients[covs, ]
cl <- clogit(pcr ~ treat + hr + treat_x_hr + age + strata(study_id), data = ipd)  # method = "exact"
cl_tight <- clogit(pcr ~ treat + hr + treat_x_hr + age + strata(study_id), data = ipd, control = tight)
cl_approx <- clogit(pcr ~ treat + hr + treat_x_hr + age + strata(study_id), data = ipd, method = "approximate")
sc <- coxph(Surv(time, event) ~ treat + hr + treat_x_hr + age + strata(study_id), data = ipd)
sc_tight <- coxph(Surv(time, event) ~ treat + hr + treat_x_hr + age + strata(study_id), data = ipd, control = tight)
scr <- coxph(Surv(time, event) ~ treat + hr + treat_x_hr + age + strata(study_id), data = ipd, robust = TRUE)
scr_tight <- coxph(Surv(time, event) ~ treat + hr + treat_x_hr + age + strata(study_id), data = ipd, robust = TRUE,
                   control = tight)
# a fifth study in which no patient has the outcome (TRIAL-D's rows again, pcr = 0): glm's
# intercept for it diverges, clogit ignores the stratum; her2meta leaves the study out
ipd_zero <- rbind(ipd, transform(subset(ipd, study_id == "TRIAL-D"), study_id = "TRIAL-E", pcr = 0L))
g_zero <- suppressWarnings(glm(pcr ~ factor(study_id) + treat + hr + treat_x_hr + age, family = binomial,
                               data = ipd_zero))
gzs <- summary(g_zero)$coefficients[covs, ]
cl_zero <- clogit(pcr ~ treat + hr + treat_x_hr + age + strata(study_id), data = ipd_zero)
onestage <- list(
  covariates = covs,
  glm_zero_study = c(wald(gzs[, 1], gzs[, 2]), list(converged = g_zero$converged,
                                                    intercept_E = unname(coef(g_zero)["factor(study_id)TRIAL-E"]))),
  clogit_zero_study = wald(coef(cl_zero), sqrt(diag(cl_zero$var))),
  glm = c(wald(gs[, 1], gs[, 2]), list(deviance = g$deviance, iter = g$iter, n = nrow(ipd))),
  glm_tight = c(wald(gts[, 1], gts[, 2]), list(deviance = g_tight$deviance)),
  clogit = c(wald(coef(cl), sqrt(diag(cl$var))), list(loglik = num(cl$loglik), method = cl$method)),
  clogit_tight = c(wald(coef(cl_tight), sqrt(diag(cl_tight$var))), list(loglik = num(cl_tight$loglik))),
  clogit_approximate = wald(coef(cl_approx), sqrt(diag(cl_approx$var))),
  cox = c(wald(coef(sc), sqrt(diag(sc$var))), list(loglik = num(sc$loglik), n = sc$n, events = sc$nevent)),
  cox_tight = wald(coef(sc_tight), sqrt(diag(sc_tight$var))),
  cox_robust = c(wald(coef(scr), sqrt(diag(scr$var))), list(naive_se = num(sqrt(diag(scr$naive.var))))),
  cox_robust_tight = c(wald(coef(scr_tight), sqrt(diag(scr_tight$var))),
                       list(naive_se = num(sqrt(diag(scr_tight$naive.var)))))
)

out <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  note = "generated by make_fixtures_extended.R from surv_ext.csv, surv_edge.csv, onestage_ipd.csv",
  cox = cox_cases, km = km_cases, logrank = logrank_cases, rmst = rmst_cases, onestage = onestage
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string"),
           "survival_extended_fixtures.json")
