# Reference values for her2meta's Cox estimates, from R's survival package.
# Needs Debian's r-base-core, r-cran-survival and r-cran-jsonlite; run from this folder:
#   Rscript make_fixtures.R
# Writes cox_fixtures.json, which the tests read (R is not needed to run the tests).
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("two_groups.csv")
fit_efron <- coxph(Surv(time, event) ~ x, data = d, ties = "efron")
fit_breslow <- coxph(Surv(time, event) ~ x, data = d, ties = "breslow")
out <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  efron = list(coef = unname(coef(fit_efron)), se = unname(sqrt(diag(vcov(fit_efron))))),
  breslow = list(coef = unname(coef(fit_breslow)), se = unname(sqrt(diag(vcov(fit_breslow)))))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "cox_fixtures.json")
