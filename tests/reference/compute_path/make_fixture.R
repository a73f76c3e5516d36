# Reference values for the compute path benchmarked in bench/compute_path.py (and bench/compute_path.R):
# per-study pCR log OR (2x2, zero-cell convention), per-study EFS Cox log HR (Efron ties), REML
# pooling of both. Needs Debian's r-base-core, r-cran-survival, r-cran-metafor, r-cran-jsonlite;
# run from anywhere:
#     Rscript tests/reference/compute_path/make_fixture.R
# Writes, next to this file, ipd_small.csv (the data, generated here deterministically: seed and
# RNG kinds fixed) and compute_path_fixture.json (R's values). tests/test_compute_path_reference.py
# reads both; it never runs R.
#
# The data: 5 studies x 300 patients in the harmonized columns (study_id, hr_status,
# pcr_ypt0is_ypn0, efs_months, efs_event); ~2% hr_status unknown and ~3% pCR not assessed (left
# out, as the workflow does). Times are rounded up to whole months (study SMALL-5: to 6-month
# steps), so event times are heavily tied and Efron and Breslow estimates differ clearly.
# SMALL-4 has no pCR among HR-positive patients: a zero cell, 0.5 added to each of its cells
# (metafor's escalc defaults add = 1/2, to = "only0", the convention her2meta uses).
# Cox fits are given at coxph's default control and fully converged (eps 1e-13); pooling with
# rma(method = "REML") fully converged (threshold 1e-13), with the Q-profile tau2 interval.

suppressPackageStartupMessages({
  library(survival)
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
outdir <- if (length(script)) dirname(normalizePath(script)) else "."

set.seed(20261121, kind = "Mersenne-Twister", normal.kind = "Inversion", sample.kind = "Rejection")
n <- 300
studies <- list()
for (s in 1:5) {
  sid <- paste0("SMALL-", s)
  hr <- sample(c("positive", "negative", "unknown"), n, replace = TRUE, prob = c(0.55, 0.43, 0.02))
  pos <- hr == "positive"
  p_pcr <- ifelse(pos, 0.15 + 0.03 * s, 0.45 + 0.04 * s)
  if (s == 4) p_pcr[pos] <- 0  # zero cell: no pCR among HR-positive patients
  pcr <- rbinom(n, 1, p_pcr)
  pcr[runif(n) < 0.03] <- NA  # not assessed
  rate <- 0.012 * exp(log(0.7 + 0.15 * s) * pos) * ifelse(pcr %in% 1, 0.5, 1)  # per month
  event_time <- rexp(n, rate)
  censor <- runif(n, 12, 96)
  step <- if (s == 5) 6 else 1
  time <- ceiling(pmin(event_time, censor) / step) * step
  event <- as.integer(event_time <= censor)
  studies[[s]] <- data.frame(study_id = sid, hr_status = hr, pcr_ypt0is_ypn0 = pcr,
                             efs_months = time, efs_event = event)
}
ipd <- do.call(rbind, studies)
write.csv(ipd, file.path(outdir, "ipd_small.csv"), row.names = FALSE, na = "")

# -------------------------------------------------------------------------- per study ---
ids <- sort(unique(ipd$study_id))
pc <- ipd[ipd$hr_status %in% c("positive", "negative") & !is.na(ipd$pcr_ypt0is_ypn0), ]
sid <- factor(pc$study_id, levels = ids)
pos <- pc$hr_status == "positive"
yes <- pc$pcr_ypt0is_ypn0 == 1
count <- function(m) as.numeric(tapply(m, sid, sum))
ai <- count(yes & pos); bi <- count(!yes & pos); ci <- count(yes & !pos); di <- count(!yes & !pos)
es <- escalc(measure = "OR", ai = ai, bi = bi, ci = ci, di = di)  # add = 1/2, to = "only0", drop00 = TRUE
corrected <- ai == 0 | bi == 0 | ci == 0 | di == 0

sv <- ipd[ipd$hr_status %in% c("positive", "negative"), ]
sv$hr <- as.integer(sv$hr_status == "positive")
tight <- coxph.control(eps = 1e-13, toler.chol = 1e-15, iter.max = 100)
cox <- function(ties, control = coxph.control()) {
  m <- t(sapply(split(sv, sv$study_id), function(x) {
    f <- coxph(Surv(efs_months, efs_event) ~ hr, data = x, ties = ties, control = control)
    c(coef = unname(coef(f)), se = sqrt(vcov(f)[1, 1]))
  }))
  list(coef = unname(m[, "coef"]), se = unname(m[, "se"]))
}
efron <- cox("efron")
efron_tight <- cox("efron", tight)
breslow_tight <- cox("breslow", tight)

per_study_ties <- sapply(split(sv, sv$study_id), function(x) {
  t <- x$efs_months[x$efs_event == 1]
  sum(duplicated(t))
})

# ---------------------------------------------------------------------------- pooling ---
rma_tight <- list(threshold = 1e-13, maxiter = 10000)
pooled <- function(yi, vi) {
  p <- rma(yi = yi, vi = vi, method = "REML", control = rma_tight)
  ci <- confint(p, control = list(tol = 1e-13))$random
  list(k = p$k, estimate = as.numeric(p$b), se = p$se, ci_lb = p$ci.lb, ci_ub = p$ci.ub, tau2 = p$tau2,
       I2 = p$I2, QE = p$QE, tau2_ci_lb = ci["tau^2", "ci.lb"], tau2_ci_ub = ci["tau^2", "ci.ub"])
}

out <- list(
  generated_by = "tests/reference/compute_path/make_fixture.R",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  metafor_version = as.character(packageVersion("metafor")),
  data = list(file = "ipd_small.csv", rows = nrow(ipd), studies = length(ids),
              tied_event_times = unname(as.list(per_study_ties))),
  study_id = ids,
  pcr = list(counts = unname(cbind(ai, bi, ci, di)), corrected = corrected,
             yi = as.numeric(es$yi), vi = as.numeric(es$vi), se = sqrt(as.numeric(es$vi))),
  efs = list(efron = efron, efron_tight = efron_tight, breslow_tight = breslow_tight),
  pooled = list(pcr = pooled(as.numeric(es$yi), as.numeric(es$vi)),
                efs = pooled(efron_tight$coef, efron_tight$se^2))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(outdir, "compute_path_fixture.json"))
cat("wrote", file.path(outdir, "ipd_small.csv"), "and compute_path_fixture.json\n")
