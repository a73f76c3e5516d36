# The compute path as a plain R script: the reference point for bench/compute_path.py.
#
#     python bench/compute_path.py --generate-only     # writes bench/output/compute_path/ipd.csv
#     Rscript bench/compute_path.R [--csv FILE] [--out FILE] [--repeats 5]
#
# Needs only Debian's r-base-core, r-cran-survival, r-cran-metafor and r-cran-jsonlite.
# From the same CSV (study_id, hr_status, pcr_ypt0is_ypn0, efs_months, efs_event), in one R
# process, each repeat:
#   read    read.csv (base R; stringsAsFactors = FALSE)
#   pcr     per-study 2x2 counts (HR known, pCR assessed) by tapply, then
#           escalc(measure = "OR") over all studies: metafor's defaults add = 1/2, to = "only0",
#           drop00 = TRUE, i.e. 0.5 added to every cell of a study with a zero cell and to no
#           other study (the same convention as her2meta's escalc_2x2 / binary_effect); a study
#           with an empty HR group is not estimable
#   cox     per study, coxph(Surv(efs_months, efs_event) ~ hr, ties = "efron") with hr the
#           HR-positive indicator (coxph's default control: eps 1e-9, iter.max 20)
#   pool    rma(yi, vi, method = "REML") for both (default test "z"; no tau2 CI)
#   total   the four in sequence
# Medians over the repeats (elapsed and CPU, from proc.time(); gc() before each repeat, not
# inside the timed steps). Timed as their own rows, outside the total: rma + confint() (the
# Q-profile tau2 interval, which her2meta's workflow call adds) and the startup (a fresh Rscript
# loading survival and metafor). Not timed: fully converged refits (coxph eps 1e-13, rma
# threshold 1e-13, confint tol 1e-13), used only to check agreement with Python.
# Writes bench/output/compute_path/r.json: timings, machine, per-study estimates and SEs, pooled.

suppressPackageStartupMessages({
  library(survival)
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
opt <- function(name, default) {
  i <- match(paste0("--", name), args)
  if (is.na(i)) default else args[i + 1]
}
here <- local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grep("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else "bench"
})
outdir <- file.path(here, "output", "compute_path")
csv <- opt("csv", file.path(outdir, "ipd.csv"))
outfile <- opt("out", file.path(outdir, "r.json"))
repeats <- as.integer(opt("repeats", "5"))
if (!file.exists(csv)) stop("no ", csv, ": run `python bench/compute_path.py --generate-only` first")

load_before <- tryCatch(as.numeric(strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3]),
                        error = function(e) rep(NA_real_, 3))

# ------------------------------------------------------------------------- the compute path ---
read_ipd <- function(path) read.csv(path, stringsAsFactors = FALSE)

pcr_estimates <- function(d) {
  ids <- sort(unique(d$study_id))
  k <- d[d$hr_status %in% c("positive", "negative") & !is.na(d$pcr_ypt0is_ypn0), ]
  sid <- factor(k$study_id, levels = ids)
  pos <- k$hr_status == "positive"
  yes <- k$pcr_ypt0is_ypn0 == 1
  count <- function(m) { v <- tapply(m, sid, sum); v[is.na(v)] <- 0; as.numeric(v) }
  ai <- count(yes & pos); bi <- count(!yes & pos); ci <- count(yes & !pos); di <- count(!yes & !pos)
  es <- escalc(measure = "OR", ai = ai, bi = bi, ci = ci, di = di)  # add = 1/2, to = "only0", drop00 = TRUE
  yi <- as.numeric(es$yi); vi <- as.numeric(es$vi)
  empty <- (ai + bi == 0) | (ci + di == 0)
  yi[empty] <- NA; vi[empty] <- NA
  list(study_id = ids, yi = yi, se = sqrt(vi), counts = cbind(ai, bi, ci, di),
       corrected = !empty & (ai == 0 | bi == 0 | ci == 0 | di == 0) & !((ai == 0 & ci == 0) | (bi == 0 & di == 0)))
}

survival_data <- function(d) {
  s <- d[d$hr_status %in% c("positive", "negative") & !is.na(d$efs_months) & !is.na(d$efs_event), ]
  s$hr <- as.integer(s$hr_status == "positive")
  s
}

cox_estimates <- function(d, control = coxph.control()) {
  force(control)  # evaluated here, not inside the tryCatch below
  s <- survival_data(d)
  fits <- lapply(split(s, s$study_id), function(x) {
    f <- tryCatch(coxph(Surv(efs_months, efs_event) ~ hr, data = x, ties = "efron", control = control),
                  error = function(e) NULL, warning = function(w) NULL)  # no finite estimate: NA
    if (is.null(f)) c(NA_real_, NA_real_) else c(unname(coef(f)), sqrt(vcov(f)[1, 1]))
  })
  m <- do.call(rbind, fits)
  list(study_id = names(fits), yi = m[, 1], se = m[, 2])
}

pool <- function(e, control = list()) {
  ok <- is.finite(e$yi) & is.finite(e$se)
  rma(yi = e$yi[ok], vi = e$se[ok]^2, method = "REML", control = control)
}

# ------------------------------------------------------------------------------------ timing ---
elapsed <- function(t) unname(t[["elapsed"]])
cpu <- function(t) unname(t[["user.self"]] + t[["sys.self"]])
steps <- c("read", "pcr", "cox", "pool", "total")
wall <- setNames(lapply(steps, function(s) numeric(0)), steps)
cpus <- wall
for (r in seq_len(repeats)) {
  invisible(gc())
  t0 <- proc.time()
  t <- system.time(d <- read_ipd(csv), gcFirst = FALSE)
  wall$read <- c(wall$read, elapsed(t)); cpus$read <- c(cpus$read, cpu(t))
  t <- system.time(pcr <- pcr_estimates(d), gcFirst = FALSE)
  wall$pcr <- c(wall$pcr, elapsed(t)); cpus$pcr <- c(cpus$pcr, cpu(t))
  t <- system.time(efs <- cox_estimates(d), gcFirst = FALSE)
  wall$cox <- c(wall$cox, elapsed(t)); cpus$cox <- c(cpus$cox, cpu(t))
  t <- system.time({p_pcr <- pool(pcr); p_efs <- pool(efs)}, gcFirst = FALSE)
  wall$pool <- c(wall$pool, elapsed(t)); cpus$pool <- c(cpus$pool, cpu(t))
  t <- proc.time() - t0; wall$total <- c(wall$total, elapsed(t)); cpus$total <- c(cpus$total, cpu(t))
}
summ <- function(w, c) list(median = median(w), min = min(w), max = max(w), runs = w, cpu_median = median(c))
timings <- setNames(lapply(steps, function(s) summ(wall[[s]], cpus[[s]])), steps)

# the Q-profile tau2 interval (what her2meta's workflow call adds to the pooling)
w <- numeric(0); cc <- numeric(0)
for (r in seq_len(repeats)) {
  t <- system.time({confint(pool(pcr)); confint(pool(efs))}, gcFirst = FALSE)
  w <- c(w, elapsed(t)); cc <- c(cc, cpu(t))
}
extras <- list(pool_with_tau2_ci = summ(w, cc))

# startup: a fresh Rscript loading the packages the compute path uses
startup_code <- "suppressPackageStartupMessages({library(survival); library(metafor)})"
rscript <- file.path(R.home("bin"), "Rscript")
w <- numeric(0); cc <- numeric(0)
for (r in seq_len(repeats)) {
  t <- system.time(system2(rscript, c("-e", shQuote(startup_code))), gcFirst = FALSE)
  w <- c(w, elapsed(t)); cc <- c(cc, unname(t[["user.child"]] + t[["sys.child"]]))
}
extras$startup <- summ(w, cc)
extras$startup$code <- startup_code
load_after <- tryCatch(as.numeric(strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3]),
                       error = function(e) rep(NA_real_, 3))

# ---------------------------------------------------- fully converged refits (not timed) ---
efs_tight <- cox_estimates(d, coxph.control(eps = 1e-13, toler.chol = 1e-15, iter.max = 100))
tight <- list(threshold = 1e-13, maxiter = 10000)

pooled <- function(p, tau2_ci = FALSE) {
  out <- list(k = p$k, estimate = as.numeric(p$b), se = p$se, ci_lb = p$ci.lb, ci_ub = p$ci.ub,
              tau2 = p$tau2, I2 = p$I2, QE = p$QE)
  if (tau2_ci) {
    ci <- confint(p, control = list(tol = 1e-13))$random
    out$tau2_ci_lb <- ci["tau^2", "ci.lb"]; out$tau2_ci_ub <- ci["tau^2", "ci.ub"]
  }
  out
}
num <- function(x) { x <- unname(as.numeric(x)); ifelse(is.finite(x), x, NA) }
est <- function(e) list(study_id = e$study_id, yi = num(e$yi), se = num(e$se))
pcr_out <- est(pcr)
pcr_out$counts <- unname(pcr$counts)
pcr_out$corrected <- unname(pcr$corrected)

out <- list(
  side = "r",
  date = format(Sys.time(), "%Y-%m-%dT%H:%M:%S%z"),
  machine = list(
    nproc = parallel::detectCores(),
    loadavg_before = load_before, loadavg_after = load_after,
    r = R.version.string, platform = R.version$platform,
    blas = tryCatch(extSoftVersion()[["BLAS"]], error = function(e) NA),
    packages = list(survival = as.character(packageVersion("survival")),
                    metafor = as.character(packageVersion("metafor")),
                    jsonlite = as.character(packageVersion("jsonlite")))),
  data = list(csv = normalizePath(csv), rows = nrow(d), studies = length(unique(d$study_id))),
  repeats = repeats,
  timings = timings,
  extras = extras,
  conventions = list(
    pcr = "escalc(measure = 'OR') defaults: add 1/2 to every cell of a study with a zero cell (to = 'only0'), drop00 = TRUE",
    cox = "coxph(Surv(efs_months, efs_event) ~ hr, ties = 'efron'), default control (eps 1e-9)",
    pool = "rma(method = 'REML'), default control (threshold 1e-5), test z"),
  results = list(
    pcr = pcr_out,
    efs = est(efs),
    efs_tight = est(efs_tight),
    pooled = list(pcr = pooled(p_pcr), efs = pooled(p_efs)),
    pooled_tight = list(pcr = pooled(pool(pcr, tight), TRUE), efs = pooled(pool(efs_tight, tight), TRUE)))
)
dir.create(dirname(outfile), recursive = TRUE, showWarnings = FALSE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), outfile)
cat(sprintf("load before %s, after %s; medians of %d:\n", paste(load_before, collapse = " "),
            paste(load_after, collapse = " "), repeats))
for (s in steps) cat(sprintf("  %-28s %8.3f s\n", s, timings[[s]]$median))
for (s in c("pool_with_tau2_ci", "startup")) cat(sprintf("  %-28s %8.3f s\n", s, extras[[s]]$median))
cat("wrote", outfile, "\n")
