"""Subject identifiers across datasets: declared normalization, and the evidence when keys differ.

A dataset's keys are matched to the subjects dataset exactly, unless the mapping declares a
normalization (`key_normalize:`) for that dataset; it is applied to both sides of that join,
never silently. When keys do not match, `undeclared_matches` tries each normalization to show
the user which one would have matched them."""

from __future__ import annotations

import itertools
import re
from typing import Callable, Iterable

_DIGITS = re.compile(r"\d+")
_SEPARATORS = re.compile(r"[\s\-_/.:]")

NORMALIZATIONS: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "remove_spaces": lambda key: re.sub(r"\s+", "", key),
    "remove_separators": lambda key: _SEPARATORS.sub("", key),
    "strip_leading_zeros": lambda key: _DIGITS.sub(lambda m: m.group(0).lstrip("0") or "0", key),
}


def normalizer(steps: Iterable[str]) -> Callable[[str | None], str | None]:
    """The function applying the declared steps in order (None stays None)."""
    functions = [NORMALIZATIONS[step] for step in steps]

    def apply(key: str | None) -> str | None:
        if key is None:
            return None
        for function in functions:
            key = function(key)
        return key

    return apply


def undeclared_matches(unmatched: Iterable[str], subject_keys: Iterable[str], declared: Iterable[str]) -> tuple[list[str], list[str]]:
    """The smallest set of extra normalization steps under which most unmatched keys match a subject.

    Returns (steps, keys that would match), or ([], []) when no normalization helps."""
    declared = list(declared)
    unmatched, subject_keys = list(unmatched), list(subject_keys)
    candidates = [step for step in NORMALIZATIONS if step not in declared]
    best: tuple[list[str], list[str]] = ([], [])
    for size in range(1, len(candidates) + 1):
        for extra in itertools.combinations(candidates, size):
            steps = declared + list(extra)
            apply = normalizer(steps)
            targets = {apply(k) for k in subject_keys}
            matched = [k for k in unmatched if apply(k) in targets]
            if len(matched) > len(best[1]):
                best = (list(extra), matched)
        if best[1]:
            return best
    return best
