"""Which analyses the study sheet can inform: an analysis takes included studies of its
settings and designs; one that no included study matches is reported as not estimable, with the
reason (config check warns about it before the run)."""

from __future__ import annotations

from collections import Counter
from typing import Any

ALL_DESIGNS = ("rct", "single_arm")


def _listed(values) -> str:
    return " or ".join(str(v) for v in values)


def _counted(counter: Counter) -> str:
    return ", ".join(f"{n} {value}" for value, n in sorted(counter.items()))


def no_study_reason(spec: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
    """Why no included study of the sheet `rows` informs the analysis `spec`; None when one does."""
    included = [r for r in rows if r.get("include", True)]
    settings = list(spec.get("settings", ["neoadjuvant"]))
    designs = list(spec.get("designs", ALL_DESIGNS))
    if not included:
        return "the study sheet includes no study"
    in_setting = [r for r in included if r.get("setting") in settings]
    if not in_setting:
        return (f"no included study is in setting {_listed(settings)} "
                f"(included studies: {_counted(Counter(r.get('setting') for r in included))})")
    if not any(r.get("design") in designs for r in in_setting):
        return (f"no included study in setting {_listed(settings)} has design {_listed(designs)} "
                f"(studies in that setting: {_counted(Counter(r.get('design') for r in in_setting))})")
    return None


def spec_reason(spec: dict[str, Any]) -> str:
    """The same reason from the analysis alone, when the sheet is not at hand."""
    settings = list(spec.get("settings", ["neoadjuvant"]))
    designs = list(spec.get("designs", ALL_DESIGNS))
    text = f"no included study is in setting {_listed(settings)}"
    if set(designs) != set(ALL_DESIGNS):
        text += f" with design {_listed(designs)}"
    return text


def analyses_without_studies(config: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, str]:
    """{analysis: reason} for every configured analysis that no included study informs
    (`her2meta config check` prints each as a warning; the run reports them as not estimable)."""
    out = {}
    for name, spec in config.get("analyses", {}).items():
        reason = no_study_reason(spec, rows)
        if reason:
            out[name] = reason
    return out


def warning_lines(config: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """One line per analysis no included study informs, as config check prints them."""
    return [f"warning: analysis {name} will be not estimable: {reason}"
            for name, reason in analyses_without_studies(config, rows).items()]
