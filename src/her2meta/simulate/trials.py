"""Specifications of the synthetic demo studies.

One :class:`StudySpec` per study: design, setting, the sponsor shape the files
are written in, the arms (N, HR+ count, pCR probability by HR group under the
study's primary pCR definition), the outcome models and the calibration
sources. Every study is SYNTHETIC: the names echo the published trial whose
figures they are calibrated to (``SIM-`` prefix), the patients are invented.

Figures come from the project's domain fact sheet (``shared/domain/FACTS.md``),
section and URL recorded per figure in :class:`Source`. Anything not backed by
a FACTS row is listed in the study's ``assumptions``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

#: pCR definitions understood by the generator (see FACTS C.1).
PCR_DEFINITIONS = ("ypT0/is ypN0", "ypT0 ypN0", "ypT0/is")

#: Sponsor shapes (see writers.py).
SHAPES = ("adam", "sdtm", "kristine_xlsx", "buzdar_csv", "noah_csv", "neoatp_csv")

DAYS_PER_MONTH = 30.4375

# URLs of FACTS rows used below (kept in one place so README and truth.json agree).
URL_JONCOL2013_T3 = "https://www.hindawi.com/journals/jo/2013/854121/tab3"
URL_PMC7102417_T1 = "https://pmc.ncbi.nlm.nih.gov/articles/PMC7102417/table/tab1"
URL_JONCOL2019_T1 = "https://www.hindawi.com/journals/jo/2019/3406972/tab1"
URL_NEOSPHERE_PAX = "https://paxsignals.com/index.php/pertuzumab/"
URL_TRYPHAENA = (
    "https://koreauniv.pure.elsevier.com/en/publications/"
    "pertuzumab-plus-trastuzumab-in-combination-with-standard-neoadjuv"
)
URL_GEPARSEPTO = (
    "https://discovery.researcher.life/article/abstract-p42106-dual-her2blockade-with-pertuzumab-and-"
    "trastuzumab-in-her2positive-early-breast-cancer-a-subanalysis-of-data-from-the-randomized-phase-iii-"
    "geparsepto-trial/585e1d01450533479ed7cd6ae959d0a3"
)
URL_KRISTINE = "https://pubmed.ncbi.nlm.nih.gov/31157583/"
URL_NOAH_PCR = "https://cco.amegroups.org/article/view/43946/html"
URL_NOAH_EFS = "https://medluna.com/article/24657003"
URL_NEOATP = (
    "https://aacrjournals.org/clincancerres/article/28/17/3677/708085/"
    "Neoadjuvant-Trastuzumab-and-Pyrotinib-for-Locally"
)
URL_BROGLIO = "https://www.mdedge.com/obgyn/clinical-edge/summary/breast-cancer/pathologic-complete-response-her2-positive-bc"
URL_ISPY2 = "https://pmc.ncbi.nlm.nih.gov/articles/PMC7378873/table/coi200035t1"
URL_CTNEOBC = "https://europepmc.org/article/MED/24529560"
URL_B41 = "https://link.springer.com/10.1007/s10549-019-05398-3"


# --------------------------------------------------------------------------- parts
@dataclass(frozen=True)
class Source:
    """Where one calibration figure comes from (a FACTS.md row)."""

    figure: str
    value: str
    trial: str
    table: str
    facts_row: str
    url: str
    status: str = "read in source"


@dataclass(frozen=True)
class ArmSpec:
    """One arm. ``code`` is the short arm code (ARMCD), ``label`` the full text."""

    code: str
    label: str
    regimen: str
    anti_her2: str
    n: int
    n_hr_pos: int
    pcr_hr_pos: float | None = None
    pcr_hr_neg: float | None = None
    #: hazard ratio of the arm on EFS beyond its pCR (1.0 = effect mediated by pCR only)
    efs_direct_hr: float = 1.0
    orr_hr_pos: float | None = None
    orr_hr_neg: float | None = None
    pfs_median_hr_pos: float | None = None
    pfs_median_hr_neg: float | None = None

    @property
    def hr_pos_share(self) -> float:
        return self.n_hr_pos / self.n

    def pcr_probability(self, hr_positive: bool) -> float:
        p = self.pcr_hr_pos if hr_positive else self.pcr_hr_neg
        if p is None:
            raise ValueError(f"arm {self.code} has no pCR probability")
        return p

    @property
    def expected_pcr(self) -> float | None:
        if self.pcr_hr_pos is None or self.pcr_hr_neg is None:
            return None
        return (self.n_hr_pos * self.pcr_hr_pos + (self.n - self.n_hr_pos) * self.pcr_hr_neg) / self.n

    @property
    def expected_orr(self) -> float | None:
        if self.orr_hr_pos is None or self.orr_hr_neg is None:
            return None
        return (self.n_hr_pos * self.orr_hr_pos + (self.n - self.n_hr_pos) * self.orr_hr_neg) / self.n


@dataclass(frozen=True)
class EfsModel:
    """Recurrence (EFS) and death model of the neoadjuvant studies.

    Time to recurrence without pCR is Weibull, S(t) = exp(-m (t/scale)^shape),
    by HR group; a pCR (ypT0/is ypN0, the patient's latent state whatever the
    study's primary definition) multiplies the hazard by ``pcr_hr_*``
    (Broglio 2016). ``hazard_multiplier`` (m) scales a study's baseline.
    """

    hr_neg_shape: float = 1.0
    hr_neg_scale_months: float = 152.7  # S(60) = 0.675 without pCR
    hr_pos_shape: float = 1.3
    hr_pos_scale_months: float = 132.6  # S(60) ~ 0.70, fewer early and more late recurrences
    pcr_hr_hr_neg: float = 0.29
    pcr_hr_hr_pos: float = 0.52
    hazard_multiplier: float = 1.0
    recurrence_types: tuple[tuple[str, float], ...] = (
        ("DISTANT RECURRENCE", 0.70),
        ("LOCAL RECURRENCE", 0.12),
        ("REGIONAL RECURRENCE", 0.08),
        ("CONTRALATERAL INVASIVE BREAST CANCER", 0.06),
        ("SECOND PRIMARY MALIGNANCY", 0.04),
    )
    post_distant_median_months: float = 36.0
    post_other_median_months: float = 96.0
    background_rate_per_year_at_50: float = 0.0025
    background_age_slope: float = 0.09  # log-rate per year of age

    def scale_shape(self, hr_positive: bool) -> tuple[float, float]:
        if hr_positive:
            return self.hr_pos_scale_months, self.hr_pos_shape
        return self.hr_neg_scale_months, self.hr_neg_shape

    def pcr_hr(self, hr_positive: bool) -> float:
        return self.pcr_hr_hr_pos if hr_positive else self.pcr_hr_hr_neg

    def survival(self, months: float, hr_positive: bool, pcr: bool, extra_hr: float = 1.0) -> float:
        """Recurrence-free probability at ``months`` (no background deaths)."""
        scale, shape = self.scale_shape(hr_positive)
        m = self.hazard_multiplier * extra_hr * (self.pcr_hr(hr_positive) if pcr else 1.0)
        return math.exp(-m * (months / scale) ** shape)


@dataclass(frozen=True)
class MetastaticModel:
    """Response and progression model of the metastatic study."""

    cr_share_of_responders: float = 0.07
    nonresponder_bor: tuple[tuple[str, float], ...] = (("SD", 0.55), ("PD", 0.35), ("NE", 0.10))
    pd_first_scan_days: tuple[int, int] = (35, 70)
    post_progression_median_months: float = 30.0
    background_rate_per_year_at_50: float = 0.0025
    background_age_slope: float = 0.09
    #: share of patients centrally re-tested as HER2 IHC 0 / 1+ / 2+ ISH-negative
    her2_spectrum_share: float = 0.10
    her2_spectrum_split: tuple[tuple[str, float], ...] = (("0", 0.30), ("1+", 0.40), ("2+", 0.30))
    ihc0_faint_share: float = 0.5

    def pd_share(self, orr: float) -> float:
        return (1.0 - orr) * dict(self.nonresponder_bor)["PD"]

    def progression_rate(self, orr: float, median_months: float) -> float:
        """Monthly hazard of the non-PD patients so that the cell's PFS median is ``median_months``."""
        return math.log(2.0 * (1.0 - self.pd_share(orr))) / median_months


@dataclass(frozen=True)
class FollowUp:
    """Staggered accrual, common data cut-off, random loss to follow-up."""

    accrual_months: float = 60.0
    cutoff_months: float = 96.0  # from first randomisation: follow-up 36-96 months
    loss_probability: float = 0.05  # share lost to follow-up (exact count round(n * p))


@dataclass(frozen=True)
class Dirt:
    """Defects written into the sponsor files on purpose (what harmonisation must count)."""

    missing_er_pr: float = 0.02
    her2_2plus_ish_unknown: float = 0.01  # share of ALL patients: IHC 2+ without ISH result
    missing_grade: float = 0.03
    missing_menopause: float = 0.01
    no_surgery: float = 0.02  # exact count max(1, round(n * p)) in neoadjuvant studies
    n_not_itt: int = 0  # extra randomised patients outside the ITT population (ADaM ITTFL = "N")


@dataclass(frozen=True)
class PathologyModel:
    """How ypT/ypN are drawn given the primary pCR outcome (keeps the three definitions coherent)."""

    dcis_share_of_breast_pcr: float = 0.20
    nodal_residual_share_of_nonpcr: float = 0.12  # non-pCR (breast+node definitions): ypT0/is with ypN+
    dcis_only_share_of_nonpcr_strict: float = 0.12  # non-pCR under ypT0 ypN0: ypTis ypN0
    nodal_positive_share_of_breast_pcr: float = 0.15  # breast pCR (ypT0/is) with ypN+
    residual_ypt: tuple[tuple[str, float], ...] = (
        ("ypT1mi", 0.05),
        ("ypT1a", 0.10),
        ("ypT1b", 0.15),
        ("ypT1c", 0.25),
        ("ypT2", 0.32),
        ("ypT3", 0.10),
        ("ypT4b", 0.03),
    )
    residual_ypn: tuple[tuple[str, float], ...] = (
        ("ypN0", 0.50),
        ("ypN0(i+)", 0.05),
        ("ypN1mi", 0.05),
        ("ypN1", 0.27),
        ("ypN2", 0.10),
        ("ypN3", 0.03),
    )
    nodal_only_ypn: tuple[tuple[str, float], ...] = (
        ("ypN1mi", 0.15),
        ("ypN1", 0.65),
        ("ypN2", 0.17),
        ("ypN3", 0.03),
    )


DEFAULT_CT = (("T1", 0.08), ("T2", 0.50), ("T3", 0.22), ("T4", 0.12), ("T4d", 0.08))
DEFAULT_CN = (("N0", 0.30), ("N1", 0.45), ("N2", 0.18), ("N3", 0.07))
DEFAULT_GRADE = ((2, 0.42), (3, 0.58))


@dataclass(frozen=True)
class StudySpec:
    study_id: str
    label: str
    calibrated_to: str
    design: str  # rct | single_arm
    setting: str  # neoadjuvant | metastatic
    shape: str
    subject_prefix: str
    start_date: str  # ISO date of the first (synthetic) randomisation
    arms: tuple[ArmSpec, ...]
    primary_pcr_definition: str | None = None
    hr_basis: str = "ER or PR"  # what the generating HR group means; "ER" for NOAH
    efs: EfsModel = field(default_factory=EfsModel)
    metastatic: MetastaticModel | None = None
    pathology: PathologyModel = field(default_factory=PathologyModel)
    followup: FollowUp = field(default_factory=FollowUp)
    dirt: Dirt = field(default_factory=Dirt)
    ct_probs: tuple[tuple[str, float], ...] = DEFAULT_CT
    cn_probs: tuple[tuple[str, float], ...] = DEFAULT_CN
    grade_probs: tuple[tuple[int, float], ...] = DEFAULT_GRADE
    her2_2plus_share: float = 0.15
    #: pCR / response counts per arm x HR cell fixed at round(n * p) (else Bernoulli draws)
    exact_counts: bool = True
    age_mean: float = 50.0
    age_sd: float = 10.5
    sources: tuple[Source, ...] = ()
    assumptions: tuple[str, ...] = ()
    dirt_notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"{self.study_id}: unknown shape {self.shape!r}")
        if self.setting == "neoadjuvant":
            if self.primary_pcr_definition not in PCR_DEFINITIONS:
                raise ValueError(f"{self.study_id}: unknown pCR definition {self.primary_pcr_definition!r}")
            for arm in self.arms:
                for p in (arm.pcr_hr_pos, arm.pcr_hr_neg):
                    if p is None or not 0.0 <= p <= 1.0:
                        raise ValueError(f"{self.study_id}/{arm.code}: pCR probability missing or out of range")
        elif self.setting == "metastatic":
            if self.metastatic is None:
                raise ValueError(f"{self.study_id}: metastatic study needs a MetastaticModel")
        else:
            raise ValueError(f"{self.study_id}: unknown setting {self.setting!r}")
        for arm in self.arms:
            if not 0 <= arm.n_hr_pos <= arm.n:
                raise ValueError(f"{self.study_id}/{arm.code}: HR+ count out of range")

    @property
    def short_id(self) -> str:
        return self.study_id.removeprefix("SIM-")

    @property
    def n_itt(self) -> int:
        return sum(a.n for a in self.arms)

    def arm(self, code: str) -> ArmSpec:
        for a in self.arms:
            if a.code == code:
                return a
        raise KeyError(code)


# ------------------------------------------------------------------------ helpers
def hr_count(n: int, share: float) -> int:
    """HR+ patients in an arm of ``n`` with the published share (half rounded up)."""
    return int(math.floor(n * share + 0.5))


def split_overall_rate(
    overall: float, n: int, n_hr_pos: int, rel_pos: float = 0.75, rel_neg: float = 1.2
) -> tuple[float, float]:
    """Split a published arm-level rate into HR+ and HR- rates.

    HR+ gets ``rel_pos`` times and HR- ``rel_neg`` times the overall rate, then
    both are rescaled by one common factor so that the N-weighted mean equals
    ``overall`` exactly (used where the HR split was not published).
    """
    share = n_hr_pos / n
    k = 1.0 / (share * rel_pos + (1.0 - share) * rel_neg)
    pos, neg = overall * rel_pos * k, overall * rel_neg * k
    if not (0.0 < pos < 1.0 and 0.0 < neg < 1.0):
        raise ValueError("split gives a rate outside (0, 1)")
    return round(pos, 4), round(neg, 4)


def background_survival(months: float, rate_per_year: float) -> float:
    return math.exp(-rate_per_year * months / 12.0)


def expected_efs(spec: StudySpec, arm: ArmSpec, months: float = 60.0) -> float:
    """Approximate EFS at ``months`` (no censoring; background deaths at age 50 only)."""
    efs = spec.efs
    total = 0.0
    for hr_pos, n_grp in ((True, arm.n_hr_pos), (False, arm.n - arm.n_hr_pos)):
        p_primary = arm.pcr_probability(hr_pos)
        p_total = total_pcr_probability(spec, p_primary)
        s = p_total * efs.survival(months, hr_pos, True, arm.efs_direct_hr) + (1 - p_total) * efs.survival(
            months, hr_pos, False, arm.efs_direct_hr
        )
        total += n_grp * s
    return total / arm.n * background_survival(months, efs.background_rate_per_year_at_50)


def total_pcr_probability(spec: StudySpec, p_primary: float) -> float:
    """P(ypT0/is ypN0) implied by the primary-definition probability and the pathology model."""
    pm = spec.pathology
    d = spec.primary_pcr_definition
    if d == "ypT0/is ypN0":
        return p_primary
    if d == "ypT0 ypN0":
        return p_primary + (1 - p_primary) * pm.dcis_only_share_of_nonpcr_strict
    if d == "ypT0/is":
        return p_primary * (1 - pm.nodal_positive_share_of_breast_pcr)
    raise ValueError(d)


def pfs_median_of_mixture(spec: StudySpec, arm: ArmSpec) -> float:
    """Median PFS (months) of an arm, HR groups mixed, background deaths ignored."""
    mm = spec.metastatic
    assert mm is not None
    cells = []
    for hr_pos, n_grp in ((True, arm.n_hr_pos), (False, arm.n - arm.n_hr_pos)):
        orr = arm.orr_hr_pos if hr_pos else arm.orr_hr_neg
        med = arm.pfs_median_hr_pos if hr_pos else arm.pfs_median_hr_neg
        cells.append((n_grp / arm.n, 1 - mm.pd_share(orr), mm.progression_rate(orr, med)))

    def surv(t: float) -> float:
        return sum(w * q * math.exp(-lam * t) for w, q, lam in cells)

    lo, hi = 3.0, 120.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if surv(mid) > 0.5:
            lo = mid
        else:
            hi = mid
    return round((lo + hi) / 2, 2)


def _bisect(f, lo: float, hi: float, iters: int = 100) -> float:
    flo = f(lo)
    for _ in range(iters):
        mid = (lo + hi) / 2
        fm = f(mid)
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return (lo + hi) / 2


# ------------------------------------------------------------------- the studies
def _broglio_sources() -> tuple[Source, ...]:
    return (
        Source(
            "EFS hazard ratio pCR vs no pCR, HER2+ HR-",
            "0.29",
            "Broglio et al., JAMA Oncol 2016 (36 studies, 5,768 HER2+ patients)",
            "summary page",
            "B.2",
            URL_BROGLIO,
            "secondary (summary page)",
        ),
        Source(
            "EFS hazard ratio pCR vs no pCR, HER2+ HR+",
            "0.52",
            "Broglio et al., JAMA Oncol 2016",
            "summary page",
            "B.2",
            URL_BROGLIO,
            "secondary (summary page)",
        ),
    )


NEO_SURVIVAL_ASSUMPTIONS = (
    "EFS without pCR: HR- exponential with 5-year EFS 67.5%; HR+ Weibull shape 1.3 with 5-year EFS about 70% "
    "(fewer early, more late recurrences). Not calibrated to this trial's published survival.",
    "pCR (latent ypT0/is ypN0) multiplies the recurrence hazard by 0.29 (HR-) or 0.52 (HR+) (Broglio 2016); "
    "arms differ in EFS only through their pCR rates.",
    "OS: death follows a distant recurrence after a median of 36 months (96 months after other EFS events), "
    "plus age-dependent background mortality (0.25%/year at age 50, +9%/year of age); a background death "
    "before recurrence is an EFS event (DEATH).",
    "Follow-up: uniform accrual over 60 months, data cut-off 96 months after the first randomisation "
    "(36-96 months of follow-up); round(5% of N) patients, chosen at random, lost to follow-up at a uniform time.",
)


def _neosphere() -> StudySpec:
    src = URL_JONCOL2013_T3
    arms = (
        ArmSpec("TH", "Docetaxel + Trastuzumab", "docetaxel+trastuzumab", "trastuzumab", 107, hr_count(107, 0.47), 0.200, 0.368),
        ArmSpec(
            "THP",
            "Docetaxel + Trastuzumab + Pertuzumab",
            "docetaxel+trastuzumab+pertuzumab",
            "trastuzumab+pertuzumab",
            107,
            50,
            0.260,
            0.632,
        ),
        ArmSpec("HP", "Trastuzumab + Pertuzumab", "trastuzumab+pertuzumab", "trastuzumab+pertuzumab", 107, hr_count(107, 0.47), 0.059, 0.273),
        ArmSpec("TP", "Docetaxel + Pertuzumab", "docetaxel+pertuzumab", "pertuzumab", 96, hr_count(96, 0.47), 0.174, 0.300),
    )
    return StudySpec(
        study_id="SIM-NEOSPHERE",
        label="Synthetic trial calibrated to NeoSphere (4 arms, pertuzumab/trastuzumab +/- docetaxel)",
        calibrated_to="NeoSphere",
        design="rct",
        setting="neoadjuvant",
        shape="adam",
        subject_prefix="NEOSPHERE",
        start_date="2007-12-03",
        arms=arms,
        primary_pcr_definition="ypT0/is",
        ct_probs=(("T1", 0.05), ("T2", 0.50), ("T3", 0.25), ("T4", 0.13), ("T4d", 0.07)),
        dirt=Dirt(n_not_itt=4),
        dirt_notes=("4 randomised patients outside the ITT population (ITTFL = \"N\") on top of the 417 ITT patients.",),
        sources=(
            Source("arm sizes 107/107/107/96 (417 eligible)", "107, 107, 107, 96", "NeoSphere", "text", "A.1", URL_NEOSPHERE_PAX),
            Source("primary pCR definition", "ypT0/is (breast)", "NeoSphere", "text", "A.1", URL_NEOSPHERE_PAX),
            Source("HR+ share", "47% (50/107, T+P+docetaxel arm; applied to all arms)", "NeoSphere", "Table 1", "A.3", URL_PMC7102417_T1),
            Source("pCR HR+/HR- TH", "20.0% / 36.8%", "NeoSphere", "J Oncol 2013 Table 3", "A.2", src),
            Source("pCR HR+/HR- THP", "26.0% / 63.2%", "NeoSphere", "J Oncol 2013 Table 3", "A.2", src),
            Source("pCR HR+/HR- HP", "5.9% / 27.3%", "NeoSphere", "J Oncol 2013 Table 3", "A.2", src),
            Source("pCR HR+/HR- TP", "17.4% / 30.0%", "NeoSphere", "J Oncol 2013 Table 3", "A.2", src),
        )
        + _broglio_sources(),
        assumptions=(
            "HR+ share 47% was published for the THP arm only; used for every arm.",
            "The J Oncol 2013 subgroup rates are taken as breast pCR (ypT0/is), NeoSphere's primary definition.",
        ),
    )


def _tryphaena() -> StudySpec:
    rows = (
        ("FEC+HP->DHP", "FEC + Trastuzumab + Pertuzumab -> Docetaxel + Trastuzumab + Pertuzumab",
         "fluorouracil+epirubicin+cyclophosphamide+docetaxel+trastuzumab+pertuzumab", 73, 0.616),
        ("FEC->DHP", "FEC -> Docetaxel + Trastuzumab + Pertuzumab",
         "fluorouracil+epirubicin+cyclophosphamide+docetaxel+trastuzumab+pertuzumab", 75, 0.573),
        ("TCHP", "Docetaxel + Carboplatin + Trastuzumab + Pertuzumab",
         "docetaxel+carboplatin+trastuzumab+pertuzumab", 77, 0.662),
    )
    arms = []
    for code, label, regimen, n, overall in rows:
        k = hr_count(n, 0.50)
        pos, neg = split_overall_rate(overall, n, k)
        arms.append(ArmSpec(code, label, regimen, "trastuzumab+pertuzumab", n, k, pos, neg))
    return StudySpec(
        study_id="SIM-TRYPHAENA",
        label="Synthetic trial calibrated to TRYPHAENA (3 arms, all trastuzumab + pertuzumab)",
        calibrated_to="TRYPHAENA",
        design="rct",
        setting="neoadjuvant",
        shape="adam",
        subject_prefix="TRYPHAENA",
        start_date="2009-11-02",
        arms=tuple(arms),
        primary_pcr_definition="ypT0/is",
        sources=(
            Source("pCR ypT0/is per arm", "61.6% / 57.3% / 66.2%; 225 randomised", "TRYPHAENA", "abstract", "A.1", URL_TRYPHAENA),
        )
        + _broglio_sources(),
        assumptions=(
            "Arm sizes 73/75/77 (sum 225 as published in A.1) follow the project brief, not a FACTS row.",
            "HR+ share 50% is an assumption (not in FACTS).",
            "HR split not published: HR+ rate = 0.75 x and HR- rate = 1.2 x the arm's overall ypT0/is rate, both "
            "rescaled by one factor so that the arm total equals the published rate.",
        ),
    )


def _cherlob() -> StudySpec:
    backbone = "paclitaxel+fluorouracil+epirubicin+cyclophosphamide"
    arms = (
        ArmSpec("T", "Paclitaxel -> FEC + Trastuzumab", backbone + "+trastuzumab", "trastuzumab", 36, 21, 0.250, 0.266),
        ArmSpec("L", "Paclitaxel -> FEC + Lapatinib", backbone + "+lapatinib", "lapatinib", 39, hr_count(39, 0.60), 0.227, 0.357),
        ArmSpec("L+T", "Paclitaxel -> FEC + Lapatinib + Trastuzumab", backbone + "+lapatinib+trastuzumab",
                "lapatinib+trastuzumab", 46, 28, 0.357, 0.562),
    )
    return StudySpec(
        study_id="SIM-CHERLOB",
        label="Synthetic trial calibrated to CHER-LOB (trastuzumab, lapatinib or both with paclitaxel -> FEC)",
        calibrated_to="CHER-LOB",
        design="rct",
        setting="neoadjuvant",
        shape="adam",
        subject_prefix="CHERLOB",
        start_date="2006-05-02",
        arms=arms,
        primary_pcr_definition="ypT0/is ypN0",
        sources=(
            Source("arm N and HR+ (T, L+T)", "T 36 (21 HR+, 58%); L+T 46 (28 HR+, 61%)", "CHER-LOB", "Table 1", "A.3", URL_PMC7102417_T1),
            Source("arm N (L)", "39", "CHER-LOB", "Table 1", "A.3", URL_JONCOL2019_T1),
            Source("pCR HR+/HR- T", "25.0% / 26.6%", "CHER-LOB", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
            Source("pCR HR+/HR- L", "22.7% / 35.7%", "CHER-LOB", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
            Source("pCR HR+/HR- L+T", "35.7% / 56.2%", "CHER-LOB", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
        )
        + _broglio_sources(),
        assumptions=("HR+ share of the L arm (not published) set to 60%.",),
    )


def _neoaltto() -> StudySpec:
    arms = (
        ArmSpec("T", "Paclitaxel + Trastuzumab", "paclitaxel+trastuzumab", "trastuzumab", 149, 75, 0.227, 0.365),
        ArmSpec("L", "Paclitaxel + Lapatinib", "paclitaxel+lapatinib", "lapatinib", 154, hr_count(154, 0.52), 0.161, 0.337),
        ArmSpec("L+T", "Paclitaxel + Lapatinib + Trastuzumab", "paclitaxel+lapatinib+trastuzumab", "lapatinib+trastuzumab",
                152, 77, 0.416, 0.613),
    )
    return StudySpec(
        study_id="SIM-NEOALTTO",
        label="Synthetic trial calibrated to NeoALTTO (paclitaxel + trastuzumab, lapatinib or both)",
        calibrated_to="NeoALTTO",
        design="rct",
        setting="neoadjuvant",
        shape="sdtm",
        subject_prefix="NEOALTTO",
        start_date="2008-01-07",
        arms=arms,
        primary_pcr_definition="ypT0/is ypN0",
        sources=(
            Source("arm N and HR+ (T, L+T)", "T 149 (75 HR+); L+T 152 (77 HR+)", "NeoALTTO", "Table 1", "A.3", URL_PMC7102417_T1),
            Source("arm N and HR+ share (L)", "154, 52%", "NeoALTTO", "Table 1", "A.3", URL_JONCOL2019_T1),
            Source("pCR HR+/HR- T", "22.7% / 36.5%", "NeoALTTO", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
            Source("pCR HR+/HR- L", "16.1% / 33.7%", "NeoALTTO", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
            Source("pCR HR+/HR- L+T", "41.6% / 61.3%", "NeoALTTO", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
        )
        + _broglio_sources(),
        assumptions=(
            "The subgroup rates are taken as ypT0/is ypN0 (the table does not state the definition per row).",
        ),
    )


def _nsabp_b41() -> StudySpec:
    backbone = "doxorubicin+cyclophosphamide+paclitaxel"
    arms = (
        ArmSpec("T", "AC -> Paclitaxel + Trastuzumab", backbone + "+trastuzumab", "trastuzumab", 177, hr_count(177, 0.65), 0.467, 0.655),
        ArmSpec("L", "AC -> Paclitaxel + Lapatinib", backbone + "+lapatinib", "lapatinib", 171, hr_count(171, 0.65), 0.480, 0.606),
        ArmSpec("T+L", "AC -> Paclitaxel + Trastuzumab + Lapatinib", backbone + "+trastuzumab+lapatinib",
                "trastuzumab+lapatinib", 181, hr_count(181, 0.65), 0.556, 0.730),
    )
    return StudySpec(
        study_id="SIM-NSABPB41",
        label="Synthetic trial calibrated to NSABP B-41 (AC -> paclitaxel + trastuzumab, lapatinib or both)",
        calibrated_to="NSABP B-41",
        design="rct",
        setting="neoadjuvant",
        shape="sdtm",
        subject_prefix="NSABPB41",
        start_date="2007-07-02",
        arms=arms,
        primary_pcr_definition="ypT0/is ypN0",
        sources=(
            Source("pCR HR+/HR- T", "46.7% / 65.5%", "NSABP B-41", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
            Source("pCR HR+/HR- L", "48.0% / 60.6%", "NSABP B-41", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
            Source("pCR HR+/HR- T+L", "55.6% / 73.0%", "NSABP B-41", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
            Source("primary pCR definition", "ypT0/is ypN0 (total pCR)", "NSABP B-41", "abstract", "A.1", URL_B41),
        )
        + _broglio_sources(),
        assumptions=(
            "Arm sizes 177/171/181 (529 randomised) and HR+ share 65% are assumptions (not in FACTS).",
            "The subgroup rates' pCR definition is not stated in the source table; taken as ypT0/is ypN0.",
        ),
    )


def _geparsepto() -> StudySpec:
    k = hr_count(198, 0.73)
    tail = "+trastuzumab+pertuzumab+epirubicin+cyclophosphamide"
    arms = (
        ArmSpec("PTX-PH", "Paclitaxel + Trastuzumab + Pertuzumab -> EC", "paclitaxel" + tail, "trastuzumab+pertuzumab", 198, k, 0.494, 0.667),
        ArmSpec("NPTX-PH", "nab-Paclitaxel + Trastuzumab + Pertuzumab -> EC", "nab-paclitaxel" + tail,
                "trastuzumab+pertuzumab", 198, k, 0.564, 0.746),
    )
    return StudySpec(
        study_id="SIM-GEPARSEPTO",
        label="Synthetic HER2+ subset calibrated to GeparSepto (nab-paclitaxel vs paclitaxel, with HP -> EC)",
        calibrated_to="GeparSepto (HER2+ subset)",
        design="rct",
        setting="neoadjuvant",
        shape="sdtm",
        subject_prefix="GEPARSEPTO",
        start_date="2012-07-02",
        arms=arms,
        primary_pcr_definition="ypT0 ypN0",
        sources=(
            Source("HER2+ subset size and HR- share", "n=396; 27.0% HR-", "GeparSepto", "abstract P4-21-06", "A.2", URL_GEPARSEPTO),
            Source("pCR ypT0 ypN0 HR+/HR- paclitaxel", "49.4% / 66.7%", "GeparSepto", "abstract", "A.2", URL_GEPARSEPTO),
            Source("pCR ypT0 ypN0 HR+/HR- nab-paclitaxel", "56.4% / 74.6%", "GeparSepto", "abstract", "A.2", URL_GEPARSEPTO),
        )
        + _broglio_sources(),
        assumptions=("The 396 HER2+ patients are split 198/198 between the arms.",),
    )


def _kristine() -> StudySpec:
    arms = []
    for code, label, regimen, anti, n, overall in (
        ("TCHP", "Docetaxel + Carboplatin + Trastuzumab + Pertuzumab", "docetaxel+carboplatin+trastuzumab+pertuzumab",
         "trastuzumab+pertuzumab", 221, 0.557),
        ("T-DM1+P", "Trastuzumab emtansine + Pertuzumab", "trastuzumab emtansine+pertuzumab",
         "trastuzumab emtansine+pertuzumab", 223, 0.444),
    ):
        k = hr_count(n, 0.60)
        pos, neg = split_overall_rate(overall, n, k)
        arms.append(ArmSpec(code, label, regimen, anti, n, k, pos, neg))
    return StudySpec(
        study_id="SIM-KRISTINE",
        label="Synthetic trial calibrated to KRISTINE (TCHP vs T-DM1 + pertuzumab)",
        calibrated_to="KRISTINE",
        design="rct",
        setting="neoadjuvant",
        shape="kristine_xlsx",
        subject_prefix="KRISTINE",
        start_date="2014-06-02",
        arms=tuple(arms),
        primary_pcr_definition="ypT0/is ypN0",
        sources=(
            Source("arm N and overall pCR", "TCHP 221, 55.7%; T-DM1+P 223, 44.4%", "KRISTINE", "abstract", "A.5", URL_KRISTINE),
        )
        + _broglio_sources(),
        assumptions=(
            "HR+ share 60% is an assumption (HR subgroups not retrieved).",
            "HR split: HR+ 0.75 x and HR- 1.2 x the overall rate, rescaled so that the arm total matches.",
            "The pCR definition was not captured in FACTS (A.1); ypT0/is ypN0 assumed.",
            "The published EFS HR 2.61 (T-DM1+P vs TCHP, FACTS B.3) is NOT reproduced: arm effects act through pCR only.",
        ),
    )


def _buzdar() -> StudySpec:
    backbone = "paclitaxel+fluorouracil+epirubicin+cyclophosphamide"
    arms = (
        ArmSpec("C", "Paclitaxel -> FEC", backbone, "none", 19, hr_count(19, 0.58), 0.272, 0.250),
        ArmSpec("CT", "Paclitaxel -> FEC + Trastuzumab", backbone + "+trastuzumab", "trastuzumab", 23, hr_count(23, 0.56), 0.615, 0.700),
    )
    return StudySpec(
        study_id="SIM-BUZDAR",
        label="Synthetic trial calibrated to the Buzdar / MD Anderson trial (chemotherapy +/- trastuzumab)",
        calibrated_to="Buzdar / MD Anderson",
        design="rct",
        setting="neoadjuvant",
        shape="buzdar_csv",
        subject_prefix="BUZDAR",
        start_date="2001-06-04",
        arms=arms,
        primary_pcr_definition="ypT0/is ypN0",
        sources=(
            Source("arm N and HR+ share", "CT 23 (56%), C 19 (58%)", "Buzdar", "Table 1", "A.3", URL_JONCOL2019_T1),
            Source("pCR HR+/HR- chemo", "27.2% / 25.0%", "Buzdar", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
            Source("pCR HR+/HR- chemo + trastuzumab", "61.5% / 70.0%", "Buzdar", "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3),
        )
        + _broglio_sources(),
        assumptions=(
            "The pCR definition was not captured in FACTS (A.1); ypT0/is ypN0 assumed.",
            "The generating HR group uses the 1% threshold; the file reports ER/PR categories with a 10% cut-off, "
            "so HR+ patients with ER and PR below 10% appear as Neg/Neg.",
        ),
        dirt_notes=("ER_STAT/PR_STAT computed with a >=10% cut-off; no percentages are given.",),
    )


def _noah_unfitted() -> StudySpec:
    backbone = "doxorubicin+paclitaxel+cyclophosphamide+methotrexate+fluorouracil"
    arms = (
        ArmSpec("C", "Chemotherapy", backbone, "none", 118, hr_count(118, 0.35), 0.17, 0.22),
        ArmSpec("CT", "Chemotherapy + Trastuzumab", backbone + "+trastuzumab", "trastuzumab", 117, hr_count(117, 0.35), 0.18, 0.48),
    )
    return StudySpec(
        study_id="SIM-NOAH",
        label="Synthetic trial calibrated to NOAH (locally advanced, chemotherapy +/- trastuzumab)",
        calibrated_to="NOAH",
        design="rct",
        setting="neoadjuvant",
        shape="noah_csv",
        subject_prefix="NOAH",
        start_date="2002-06-03",
        arms=arms,
        primary_pcr_definition="ypT0/is ypN0",
        hr_basis="ER",
        ct_probs=(("T2", 0.12), ("T3", 0.28), ("T4", 0.33), ("T4d", 0.27)),
        cn_probs=(("N0", 0.15), ("N1", 0.45), ("N2", 0.28), ("N3", 0.12)),
        sources=(
            Source("arm N and HR+ share", "CT 117, C 118; 35% HR+", "NOAH", "Table 1", "A.3", URL_JONCOL2019_T1),
            Source("overall pCR", "19% (chemo) -> 38% (chemo + trastuzumab)", "NOAH", "CTNeoBC summary", "B.1", URL_NOAH_PCR),
            Source("pCR by ER (guide)", "ER+ 18% vs 17%; ER- 48% vs 22% (chemo+T vs chemo)", "NOAH",
                   "J Oncol 2013 Table 3", "A.2", URL_JONCOL2013_T3, "secondary; arm columns ambiguous"),
            Source("5-year EFS", "58% with trastuzumab vs 43% without", "NOAH", "abstract", "B.3", URL_NOAH_EFS),
        )
        + _broglio_sources(),
        assumptions=(
            "FACTS marks the arm columns of the ER split as ambiguous. Reading 'ER+ 18% vs 17%, ER- 48% vs 22%' as "
            "chemo+trastuzumab vs chemo reproduces the published overall 38% vs 19% with 35% ER+, so that reading is used.",
            "The generating group is ER status (ER only is reported); no patient is HR+ through PgR alone.",
            "The pCR definition was not captured in FACTS (A.1); ypT0/is ypN0 assumed.",
            "EFS: the no-pCR baseline hazard is multiplied by a study factor and the trastuzumab arm gets a direct "
            "EFS hazard ratio beyond pCR (both solved so that 5-year EFS is about 43% vs 58%); pCR mediation alone "
            "cannot reproduce the published gap.",
        ),
        dirt_notes=(
            "Dates instead of durations, shifted by a random per-patient offset (-183..+183 days) as in de-identified "
            "sponsor data; durations are preserved, calendar dates are not comparable between patients.",
            "Semicolon separator and decimal comma (AGE is given with one decimal).",
            "ER only (no PgR); ER 'not done' when missing.",
        ),
    )


def _calibrate_noah(spec: StudySpec, target_control: float = 0.43, target_trastuzumab: float = 0.58) -> StudySpec:
    control, experimental = spec.arms

    def f_m(m: float) -> float:
        s = replace(spec, efs=replace(spec.efs, hazard_multiplier=m))
        return expected_efs(s, control) - target_control

    m = round(_bisect(f_m, 0.5, 10.0), 3)
    spec_m = replace(spec, efs=replace(spec.efs, hazard_multiplier=m))

    def f_d(d: float) -> float:
        return expected_efs(spec_m, replace(experimental, efs_direct_hr=d)) - target_trastuzumab

    d = round(_bisect(f_d, 0.05, 2.0), 3)
    return replace(spec_m, arms=(control, replace(experimental, efs_direct_hr=d)))


def _neoatp() -> StudySpec:
    arm = ArmSpec(
        "PYR-HTP",
        "Pyrotinib + Trastuzumab + Paclitaxel + Cisplatin",
        "pyrotinib+trastuzumab+paclitaxel+cisplatin",
        "pyrotinib+trastuzumab",
        53,
        hr_count(53, 0.60),
        0.5938,
        0.8571,
    )
    return StudySpec(
        study_id="SIM-NEOATP",
        label="Synthetic single-arm study calibrated to NeoATP (pyrotinib + trastuzumab + paclitaxel + cisplatin)",
        calibrated_to="NeoATP",
        design="single_arm",
        setting="neoadjuvant",
        shape="neoatp_csv",
        subject_prefix="NEOATP",
        start_date="2018-08-06",
        arms=(arm,),
        primary_pcr_definition="ypT0 ypN0",
        ct_probs=(("T2", 0.25), ("T3", 0.35), ("T4", 0.30), ("T4d", 0.10)),
        age_mean=48.0,
        sources=(
            Source("N, primary pCR definition, pCR HR+/HR-", "n=53; ypT0 ypN0 59.38% (HR+) vs 85.71% (HR-)", "NeoATP",
                   "abstract", "A.2", URL_NEOATP),
        )
        + _broglio_sources(),
        assumptions=("HR+ share 60% is an assumption (32 HR+ / 21 HR- reproduce 19/32 and 18/21 exactly).",),
        dirt_notes=("ER/PR written with or without a % sign; no arm column (single arm).",),
    )


def _hermet() -> StudySpec:
    arms = (
        ArmSpec("THP", "Docetaxel + Trastuzumab + Pertuzumab", "docetaxel+trastuzumab+pertuzumab", "trastuzumab+pertuzumab",
                200, hr_count(200, 0.48), orr_hr_pos=0.78, orr_hr_neg=0.82, pfs_median_hr_pos=19.6, pfs_median_hr_neg=17.6),
        ArmSpec("TH", "Docetaxel + Trastuzumab + Placebo", "docetaxel+trastuzumab", "trastuzumab",
                200, hr_count(200, 0.48), orr_hr_pos=0.67, orr_hr_neg=0.708, pfs_median_hr_pos=13.1, pfs_median_hr_neg=11.8),
    )
    return StudySpec(
        study_id="SIM-HERMET",
        label="Illustrative synthetic first-line metastatic trial (docetaxel + trastuzumab +/- pertuzumab)",
        calibrated_to="none (illustrative; figures of the order reported for first-line pertuzumab trials)",
        design="rct",
        setting="metastatic",
        shape="adam",
        subject_prefix="HERMET",
        start_date="2008-02-11",
        arms=arms,
        metastatic=MetastaticModel(),
        followup=FollowUp(accrual_months=36.0, cutoff_months=60.0, loss_probability=0.05),
        dirt=Dirt(no_surgery=0.0),
        sources=(),
        assumptions=(
            "No FACTS row: every figure of this study is an assumption. N 200/200, HR+ 48%.",
            "Confirmed ORR about 80% vs 69% overall, HR- a few points higher than HR+.",
            "PFS medians about 18.5 vs 12.4 months overall (HR+ slightly longer): BOR PD progresses at the first "
            "scan (35-70 days), the others progress at an exponential rate solved so that each arm x HR cell has "
            "its median.",
            "OS: death a median of 30 months after progression, plus background mortality.",
            "Follow-up: accrual over 36 months, cut-off 60 months after the first randomisation, 5% lost.",
            "About 10% were centrally re-tested as HER2 IHC 0 (half faint staining = ultralow, half none = null), "
            "1+ or 2+/ISH-negative; their outcomes follow the same model (no HER2-spectrum effect).",
        ),
        dirt_notes=("Clinical T/N stage left blank (metastatic).",),
    )


def _build_demo_specs() -> tuple[StudySpec, ...]:
    return (
        _neosphere(),
        _tryphaena(),
        _cherlob(),
        _neoaltto(),
        _nsabp_b41(),
        _geparsepto(),
        _kristine(),
        _buzdar(),
        _calibrate_noah(_noah_unfitted()),
        _neoatp(),
        _hermet(),
    )


#: The demo studies, in writing order (SIM-NEOSPHERE first).
DEMO_STUDIES: tuple[StudySpec, ...] = _build_demo_specs()


def demo_specs() -> Mapping[str, StudySpec]:
    return {s.study_id: s for s in DEMO_STUDIES}


def get_spec(study_id: str) -> StudySpec:
    try:
        return demo_specs()[study_id]
    except KeyError:
        raise KeyError(f"unknown demo study {study_id!r}; known: {', '.join(demo_specs())}") from None


# ------------------------------------------------------------ random specs (scale)
def random_study_spec(study_id: str, n_patients: int, rng: np.random.Generator, shape: str = "adam") -> StudySpec:
    """A plausible synthetic 2-arm neoadjuvant RCT (for scale and validation tests).

    Control pCR is drawn per HR group, the experimental arm adds an odds
    ratio of 1.2-2.5; HR+ share 40-65%; the primary pCR definition is drawn
    from the three definitions. Outcome models are the defaults.
    """
    if n_patients < 4:
        raise ValueError("n_patients must be at least 4")
    n1 = n_patients // 2
    n0 = n_patients - n1
    share = float(rng.uniform(0.40, 0.65))
    p0_pos = float(rng.uniform(0.15, 0.35))
    p0_neg = min(0.85, p0_pos + float(rng.uniform(0.10, 0.25)))
    odds_ratio = float(rng.uniform(1.2, 2.5))

    def bump(p: float) -> float:
        o = p / (1 - p) * odds_ratio
        return round(o / (1 + o), 4)

    definition = PCR_DEFINITIONS[int(rng.integers(0, len(PCR_DEFINITIONS)))]
    arms = (
        ArmSpec("CTRL", "Chemotherapy + Trastuzumab", "paclitaxel+trastuzumab", "trastuzumab", n0, hr_count(n0, share),
                round(p0_pos, 4), round(p0_neg, 4)),
        ArmSpec("EXP", "Chemotherapy + Trastuzumab + Pertuzumab", "paclitaxel+trastuzumab+pertuzumab",
                "trastuzumab+pertuzumab", n1, hr_count(n1, share), bump(p0_pos), bump(p0_neg)),
    )
    return StudySpec(
        study_id=study_id,
        label=f"Random synthetic 2-arm trial {study_id}",
        calibrated_to="none (random specification)",
        design="rct",
        setting="neoadjuvant",
        shape=shape,
        subject_prefix=study_id.removeprefix("SIM-").replace(" ", ""),
        start_date="2010-01-04",
        arms=arms,
        primary_pcr_definition=definition,
        exact_counts=False,
        assumptions=("Randomly generated specification; pCR drawn as Bernoulli per patient.",),
    )
