"""plot_km: Kaplan-Meier curves per compared group, all studies pooled and per study.

Only aggregate step functions reach the figures; numbers at risk below the minimum count are
masked by the plotting function."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..effects import select_population, split_groups, config_values, canonical_values
from ..figures import km_figure, km_small_multiples, placeholder
from ..io import read_parquet


def curve_groups(data: pd.DataFrame, spec: dict) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows) per curve: the two compared groups, within each level when `within` is set."""
    population = select_population(data, spec.get("population"))
    kept, _, _ = split_groups(population, spec["compare"], [spec["time"], spec["event"]])
    names = {1: "/".join(config_values(spec["compare"]["exposed"])), 0: "/".join(config_values(spec["compare"]["reference"]))}
    field = spec["compare"]["field"]
    short = {"hr_status": "HR", "pcr_ypt0is_ypn0": "pCR", "regimen_class": "", "her2_status": "HER2"}.get(field, field)
    def label(side):
        text = names[side]
        return {"true": f"{short} yes", "false": f"{short} no", "positive": f"{short}+", "negative": f"{short}-"}.get(text, f"{short} {text}".strip())
    within = spec.get("within")
    groups = []
    levels = [None] if not within else [str(v) for v in within["levels"]]
    for level in levels:
        part = kept if level is None else kept.loc[canonical_values(kept[within["field"]]) == level.lower()]
        prefix = "" if level is None else f"{within['field'].replace('_status', '').upper()} {level}: "
        for side in (1, 0):
            groups.append((prefix + label(side), part.loc[part["exposed"] == side]))
    return groups


def no_curve_reason(frames: dict[str, pd.DataFrame], spec: dict) -> str:
    """Why no Kaplan-Meier curve can be drawn: no patient in a compared group, or the studies failed."""
    failed = sorted(study for study, frame in frames.items() if frame.attrs.get("failed"))
    live = len(frames) - len(failed)
    parts = []
    if live:
        parts.append(f"no patient of the {live} {'study' if live == 1 else 'studies'} with IPD is in a compared group "
                     f"with {spec['time']} and {spec['event']} recorded")
    if failed:
        parts.append(f"{', '.join(failed)} failed (--keep-going)")
    return "; ".join(parts) or "no study with IPD takes this analysis"


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    spec = params["analysis"]
    title = spec.get("title", wildcards["analysis"])
    frames = {Path(p).stem: read_parquet(p) for p in inputs.data}
    pooled = pd.concat(frames.values(), ignore_index=True)
    groups = curve_groups(pooled, spec)
    reason = "" if any(len(rows) for _, rows in groups) else no_curve_reason(frames, spec)
    if reason:  # the declared figures still exist, and say why there is no curve
        logger.warning("Kaplan-Meier figures of %s not drawn: %s", wildcards["analysis"], reason)
        placeholder(f"Kaplan-Meier curves: {title}", reason, Path(outputs.svg).with_suffix(""))
    else:
        km_figure(groups, spec, title=f"{title}: all studies", stem=Path(outputs.svg).with_suffix(""), min_count=params["min_count"])
    # A failed study (--keep-going) has no rows: it gets no panel (no panel at all: no pooled rows, so `reason` is set).
    panels = [(params["labels"].get(study, study), curve_groups(frame, spec)) for study, frame in sorted(frames.items()) if len(frame)]
    if panels:
        km_small_multiples(panels, spec, stem=Path(outputs.by_study_svg).with_suffix(""))
    else:
        placeholder(f"Kaplan-Meier curves per study: {title}", reason, Path(outputs.by_study_svg).with_suffix(""))
    logger.info("Kaplan-Meier figures: all studies and %d study panels", len(panels))
