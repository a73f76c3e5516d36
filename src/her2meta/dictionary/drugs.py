"""Drug dictionary and regimen parsing (data: her2meta/data/drugs.yaml, FACTS section D).

Regimen text is split into treatment phases on sequence words ("->", "→", "then",
"followed by") and into tokens on "+", "/", ",", ";", "&", parentheses, "and", "plus",
"with". Each token resolves, in this order, as: placebo (dropped), the study's own
abbreviation, the global dictionary (generic name, brand, code, synonym; case-, space- and
hyphen-insensitive). Short regimen abbreviations (any token of 1-2 characters and the
``study_only_abbreviations`` list, e.g. T, P, H, TCH, TCHP, wP) are never resolved
globally: T is trastuzumab in one trial and docetaxel in another.

Regimens outside the dictionary are declared, never guessed: a whole regimen text (e.g.
"Physician's choice") in ``regimens``, or a drug name (e.g. an investigational code) in
``unlisted_agents``, each with a class of DECLARED_CLASSES. Such a regimen takes that
regimen_class; regimen-class analyses leave it out (docs/methods/derivations.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import DerivationError, _missing_mask, _series

ANTI_HER2_CLASSES = ("anti_her2_mab", "anti_her2_bispecific", "anti_her2_tki", "anti_her2_adc")
# Classes a mapping declares for regimens outside the dictionary ("investigational" wins when a
# regimen holds agents of both).
DECLARED_CLASSES = ("other", "investigational")
REGIMEN_CLASSES = ("none", "trastuzumab", "pertuzumab", "dual_mab", "mab_tki", "tki", "adc",
                   "adc_mab", "other_her2") + DECLARED_CLASSES
REGIMEN_COLUMNS = ("regimen", "anti_her2", "regimen_class", "chemo_anthracycline",
                   "chemo_taxane", "chemo_platinum", "endocrine_concurrent")

_SEQ = re.compile(r"->|→|=>|\bthen\b|\bfollowed\s+by\b", re.IGNORECASE)
_SPLIT = re.compile(r"[+/,;&()\[\]]|\band\b|\bplus\b|\bwith\b", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")          # "ICI 182,780" is one code
_SLASH_DOSE = re.compile(r"\b\d+(?:\.\d+)?\s*mg\s*/\s*(?:kg|m2|m²)\b", re.IGNORECASE)  # before "/" splits
_PLACEBO_PAREN = re.compile(r"placebo\s*\([^)]*\)", re.IGNORECASE)  # "placebo (pertuzumab)"
_QUALIFIERS = re.compile(
    r"\b\d+(?:\.\d+)?\s*(?:mg/kg|mg/m2|mg/m²|mg|iu|u)\b"     # doses
    r"|\bauc\s*\d+(?:\.\d+)?\b"                              # carboplatin AUC
    r"|(?:^|(?<=\s))[x×]\s*\d+\b(?:\s*cycles?)?"             # x4, × 6 cycles
    r"|\b\d+\s*cycles?\b"
    r"|\bq[1-4]w\b|\bweekly\b|\bi\.?v\.?(?=\s|$)|\bs\.?c\.?(?=\s|$)|\bp\.?o\.?(?=\s|$)"
    r"|\boral\b|\bintravenous\b|\bsubcutaneous\b",
    re.IGNORECASE,
)
_DECLARE_HINT = ("A regimen or drug outside the dictionary (physician's choice, an investigational agent) is declared in the "
                 "mapping: `regimens: {\"Physician's choice\": other}` or `unlisted_agents: {XYZ-123: investigational}`; "
                 "regimen-class analyses then leave those patients out, counted.")
_KEY_DROP = re.compile(r"[\s\-_.,'’®™]+")
_ANTI_HER2_HINT = ("Add each token to the study mapping's `abbreviations` (e.g. {T: trastuzumab} "
                   "or {TCHP: docetaxel+carboplatin+trastuzumab+pertuzumab}) or correct the text. "
                   "Tokens of 1-2 characters and regimen abbreviations such as T, P, H, TCH, TCHP, "
                   "wP are never resolved from the global drug dictionary.")


def _key(token: str) -> str:
    return _KEY_DROP.sub("", token.lower())


@dataclass(frozen=True)
class Regimen:
    """A parsed regimen. ``regimen``/``anti_her2`` are "+"-joined in canonical order."""

    agents: tuple[str, ...]
    regimen: str
    anti_her2: str | None        # None: not known (a regimen declared as a whole, e.g. physician's choice)
    regimen_class: str
    chemo_anthracycline: bool | None
    chemo_taxane: bool | None
    chemo_platinum: bool | None
    endocrine_concurrent: bool | None
    declared: tuple[str, ...] = ()  # the declared regimen text or unlisted agents it holds

    def as_row(self) -> dict:
        return {c: getattr(self, c) for c in REGIMEN_COLUMNS}


class DrugDictionary:
    """Generic names, classes and all names that resolve to them."""

    def __init__(self, data: Mapping) -> None:
        self.class_order = list(data["class_order"])
        self.classes: dict[str, str] = {}
        self.subclasses: dict[str, str | None] = {}
        self._rank: dict[str, tuple[int, int]] = {}
        self._keys: dict[str, tuple[str, ...]] = {}
        for i, a in enumerate(data["agents"]):
            name, cls = a["name"], a["class"]
            if cls not in self.class_order:
                raise ValueError(f"drug dictionary: unknown class {cls!r} for {name!r}")
            self.classes[name] = cls
            self.subclasses[name] = a.get("subclass")
            self._rank[name] = (self.class_order.index(cls), i)
            names = [name, *a.get("brands", []), *a.get("codes", []), *a.get("synonyms", [])]
            for b in a.get("biosimilars", []):
                names += [v for k, v in b.items() if k in ("brand", "name")]
            for n in names:
                self._add(n, (name,))
        for c in data.get("combinations", []):
            unknown = [x for x in c["agents"] if x not in self.classes]
            if unknown:
                raise ValueError(f"drug dictionary: combination {c['name']!r} lists unknown {unknown}")
            for n in [c["name"], *c.get("synonyms", [])]:
                self._add(n, tuple(sorted(c["agents"])))
        for n in data.get("ignore", []):
            self._add(n, ())
        self.study_only = frozenset(_key(x) for x in data.get("study_only_abbreviations", []))
        clash = sorted(k for k in self._keys if self._is_study_only_key(k))
        if clash:
            raise ValueError(f"drug dictionary: names {clash} would be study-only abbreviations")

    def _add(self, name: str, agents: tuple[str, ...]) -> None:
        k = _key(str(name))
        if k in self._keys and self._keys[k] != agents:
            raise ValueError(f"drug dictionary: {name!r} resolves to both {self._keys[k]} and {agents}")
        self._keys[k] = agents

    def _is_study_only_key(self, k: str) -> bool:
        return len(k) <= 2 or k in self.study_only

    @classmethod
    def load(cls, path: str | Path | None = None) -> "DrugDictionary":
        """The packaged dictionary (cached), or one read from ``path``."""
        if path is None:
            return _default()
        return cls(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

    # -- lookups ---------------------------------------------------------------------------
    def lookup(self, token: str) -> tuple[str, ...] | None:
        """Generic name(s) for a name, brand, code or synonym.

        Returns a tuple (several agents for a combination product such as Phesgo, empty for
        placebo/hyaluronidase), or None when the token is unknown or a study-only
        abbreviation.
        """
        k = _key(token)
        if not k or self._is_study_only_key(k):
            return None
        return self._keys.get(k)

    def is_study_only(self, token: str) -> bool:
        return self._is_study_only_key(_key(token))

    def drug_class(self, name: str) -> str:
        return self.classes[name]

    def canonical_order(self, agents) -> list[str]:
        return sorted(set(agents), key=self._rank.__getitem__)

    # -- parsing ---------------------------------------------------------------------------
    def _expansions(self, abbreviations: Mapping | None) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        for abbr, text in (abbreviations or {}).items():
            k = _key(str(abbr))
            parts = list(text) if isinstance(text, (list, tuple)) else _tokens(str(text))
            agents: list[str] = []
            bad = []
            for p in parts:
                if _key(p) in ("", "none"):
                    continue
                found = self.lookup(p)
                if found is None:
                    bad.append(p)
                else:
                    agents += found
            if bad:
                raise DerivationError("abbreviations", bad, None,
                                      f"The expansion of {abbr!r} ({text!r}) must use generic names, brands or codes from the drug dictionary.")
            if k in out and out[k] != tuple(agents):
                raise ValueError(f"abbreviations: {abbr!r} clashes with another key differing only in case/spacing")
            out[k] = tuple(agents)
        return out

    def _resolve(self, text: str, exp: Mapping[str, tuple[str, ...]], unlisted: Mapping[str, tuple[str, str]] | None = None):
        """Phases (lists of agent sets), the unresolved tokens and the declared unlisted agents
        ((name, class) pairs) of one text."""
        phases: list[set[str]] = []
        unresolved: list[str] = []
        declared: list[tuple[str, str]] = []
        n_tokens = 0
        text = _PLACEBO_PAREN.sub("placebo", _SLASH_DOSE.sub(" ", _THOUSANDS.sub("", text)))
        for phase_text in _SEQ.split(text):
            phase: set[str] = set()
            for tok in _SPLIT.split(phase_text):
                tok = tok.strip()
                if not tok:
                    continue
                found = self._resolve_token(tok, exp)
                if found is False:  # only qualifiers, e.g. "(x4)"
                    continue
                n_tokens += 1
                if found is None:
                    hit = _unlisted_hit(tok, unlisted or {})
                    if hit is None:
                        unresolved.append(tok)
                    else:
                        declared.append(hit)
                else:
                    phase.update(found)
            phases.append(phase)
        return phases, unresolved, n_tokens, declared

    def _resolve_token(self, tok: str, exp):
        for candidate in (tok, _QUALIFIERS.sub(" ", tok).strip()):
            k = _key(candidate)
            if not k:
                return False
            if "placebo" in k:
                return ()
            if k in exp:
                return exp[k]
            found = self.lookup(candidate)
            if found is not None:
                return found
        return None

    def _build(self, phases: list[set[str]], declared: list[tuple[str, str]] = ()) -> Regimen:
        agents = set().union(*phases) if phases else set()
        ordered = self.canonical_order(agents)
        names = list(dict.fromkeys(name for name, _ in declared))
        classes = {cls for _, cls in declared}
        her2 = [a for a in ordered if self.classes[a] in ANTI_HER2_CLASSES]
        has = {c: any(self.classes[a] == c for a in agents) for c in self.class_order}
        endo = any(
            any(self.classes[a] == "endocrine" for a in p)
            and any(self.classes[a] in ANTI_HER2_CLASSES for a in p)
            for p in phases
        )
        declared_class = next((c for c in reversed(DECLARED_CLASSES) if c in classes), None)
        return Regimen(
            agents=tuple(sorted(agents)),
            regimen="+".join(ordered + names),
            anti_her2="+".join(her2),
            regimen_class=declared_class or self._regimen_class(her2),
            chemo_anthracycline=has["anthracycline"],
            chemo_taxane=has["taxane"],
            chemo_platinum=has["platinum"],
            endocrine_concurrent=endo,
            declared=tuple(names),
        )

    def _regimen_class(self, her2: list[str]) -> str:
        if not her2:
            return "none"
        mabs = {"trastuzumab", "pertuzumab"}
        tki = {a for a in her2 if self.classes[a] == "anti_her2_tki"}
        adc = {a for a in her2 if self.classes[a] == "anti_her2_adc"}
        rest = set(her2) - tki - adc - mabs
        if rest:
            return "other_her2"
        if adc:
            if tki:
                return "other_her2"
            return "adc_mab" if set(her2) & mabs else "adc"
        if tki:
            return "mab_tki" if "trastuzumab" in her2 else "tki"
        if mabs <= set(her2):
            return "dual_mab"
        return her2[0]  # "trastuzumab" or "pertuzumab"

    def parse_regimen(self, text: str, abbreviations: Mapping[str, str] | None = None, *,
                      regimens: Mapping[str, str] | None = None, unlisted_agents: Mapping[str, str] | None = None) -> Regimen:
        """Parse one regimen text; unresolved tokens raise DerivationError (field "regimen")."""
        declared = self._declared(regimens, unlisted_agents)
        return self._parse_unique([text], [1], self._expansions(abbreviations), *declared)[text]

    def _declared(self, regimens: Mapping[str, str] | None, unlisted_agents: Mapping[str, str] | None):
        """The mapping's declarations, keyed like tokens: ({key: (text, class)}, {key: (name, class)})."""
        whole, agents = {}, {}
        for source, target, out in ((regimens, "regimens", whole), (unlisted_agents, "unlisted_agents", agents)):
            for name, cls in (source or {}).items():
                if cls not in DECLARED_CLASSES:
                    raise DerivationError(target, [name], None, f"Declare {name!r} as one of {', '.join(DECLARED_CLASSES)}.")
                out[_key(str(name))] = (str(name), cls)
        known = {name: self.lookup(name) for _, (name, _) in agents.items()}
        clash = [f"{name!r} (= {'+'.join(found) or 'nothing: ignored'})" for name, found in known.items() if found is not None]
        if clash:
            raise DerivationError("unlisted_agents", [n for n, f in known.items() if f is not None], None,
                                  f"These names are in the drug dictionary: {', '.join(clash)}; remove them from unlisted_agents.")
        return whole, agents

    def _parse_unique(self, texts, counts, exp, whole=None, unlisted=None) -> dict[str, Regimen]:
        out: dict[str, Regimen] = {}
        bad: dict[str, int] = {}
        example: dict[str, str] = {}
        empty: dict[str, int] = {}
        for text, n in zip(texts, counts):
            if not isinstance(text, str):
                raise DerivationError("regimen", [text], [n], "Regimen values must be text.")
            if whole and _key(text) in whole:
                name, cls = whole[_key(text)]
                out[text] = Regimen(agents=(), regimen=text.strip(), anti_her2=None, regimen_class=cls,
                                    chemo_anthracycline=None, chemo_taxane=None, chemo_platinum=None,
                                    endocrine_concurrent=None, declared=(name,))
                continue
            phases, unresolved, n_tokens, declared = self._resolve(text, exp, unlisted)
            if n_tokens == 0:
                empty[text] = n
            for tok in dict.fromkeys(unresolved):
                bad[tok] = bad.get(tok, 0) + n
                example.setdefault(tok, text)
            if not unresolved and n_tokens:
                out[text] = self._build(phases, declared)
        if empty:
            raise DerivationError("regimen", list(empty), list(empty.values()),
                                  "No drug name found in the regimen text.")
        if bad:
            shown = "; ".join(f"{t!r} in {example[t]!r}" for t in list(bad)[:3])
            raise DerivationError("regimen", list(bad), list(bad.values()),
                                  f"Unresolved regimen tokens (e.g. {shown}). {_ANTI_HER2_HINT} {_DECLARE_HINT}")
        return out

    def parse_regimens(self, series, abbreviations: Mapping[str, str] | None = None, *,
                       regimens: Mapping[str, str] | None = None,
                       unlisted_agents: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Parse each distinct regimen text once; missing texts give <NA> in every column.

        ``regimens`` (text -> class) and ``unlisted_agents`` (drug name -> class) declare what
        is outside the dictionary (class "other" or "investigational")."""
        s = _series(series)
        miss = _missing_mask(s)
        codes = np.full(len(s), -1, dtype=np.intp)
        present_codes, uniques = pd.factorize(s[~miss])
        codes[~miss] = present_codes
        uniques = list(uniques)
        counts = np.bincount(present_codes, minlength=len(uniques)).tolist()
        parsed = self._parse_unique(uniques, counts, self._expansions(abbreviations),
                                    *self._declared(regimens, unlisted_agents))
        cols = {}
        for c in REGIMEN_COLUMNS:
            dtype = "boolean" if c.startswith(("chemo_", "endocrine")) else "string"
            table = pd.array([getattr(parsed[u], c) for u in uniques], dtype=dtype)
            cols[c] = table.take(codes, allow_fill=True)
        return pd.DataFrame(cols, index=s.index)


def _unlisted_hit(tok: str, unlisted: Mapping[str, tuple[str, str]]) -> tuple[str, str] | None:
    for candidate in (tok, _QUALIFIERS.sub(" ", tok).strip()):
        hit = unlisted.get(_key(candidate))
        if hit is not None:
            return hit
    return None


def _tokens(text: str) -> list[str]:
    parts = _SPLIT.split(_SEQ.sub("+", _THOUSANDS.sub("", text)))
    return [p.strip() for p in parts if p.strip()]


@lru_cache(maxsize=1)
def _default() -> DrugDictionary:
    raw = resources.files("her2meta").joinpath("data/drugs.yaml").read_text(encoding="utf-8")
    return DrugDictionary(yaml.safe_load(raw))


def parse_regimen(text: str, abbreviations: Mapping[str, str] | None = None, **declared) -> Regimen:
    """Parse one regimen text with the packaged dictionary (see DrugDictionary.parse_regimen)."""
    return DrugDictionary.load().parse_regimen(text, abbreviations, **declared)


def parse_regimens(series, abbreviations: Mapping[str, str] | None = None, **declared) -> pd.DataFrame:
    """Columns regimen, anti_her2, regimen_class, chemo_anthracycline, chemo_taxane,
    chemo_platinum, endocrine_concurrent; same index as ``series``. ``regimens=`` and
    ``unlisted_agents=`` declare regimens and drugs outside the dictionary."""
    return DrugDictionary.load().parse_regimens(series, abbreviations, **declared)
