"""Errors written for people: each names the study, the file, the field and an example row,
and says what to do."""

from __future__ import annotations


class Her2MetaError(Exception):
    """Base class of the project's own, expected errors."""


class ConfigError(Her2MetaError):
    def __init__(self, message: str, *, file: str | None = None, key: str | None = None, hint: str | None = None):
        self.file, self.key, self.hint = file, key, hint
        parts = ["configuration error"]
        if file:
            parts.append(f"in {file}")
        if key:
            parts.append(f"at {key}")
        text = " ".join(parts) + f": {message}"
        if hint:
            text += f"\n  what to do: {hint}"
        super().__init__(text)


class StudyDataError(Her2MetaError):
    """A problem with one study's data or mapping. Stops that study only."""

    def __init__(
        self,
        study: str,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        example: str | None = None,
        hint: str | None = None,
    ):
        self.study, self.file, self.field, self.example, self.hint = study, file, field, example, hint
        self.detail = message
        lines = [f"study {study}: {message}"]
        if file:
            lines.append(f"  file: {file}")
        if field:
            lines.append(f"  field: {field}")
        if example:
            lines.append(f"  example: {example}")
        if hint:
            lines.append(f"  what to do: {hint}")
        super().__init__("\n".join(lines))


# ----------------------------------------------------------------------------------------------
# Keep-going: a study that fails leaves a marker instead of stopping the run.

KEEP_GOING_ENV = "HER2META_KEEP_GOING"


def keep_going(params: dict | None = None) -> bool:
    """Whether this job runs under `snakemake --keep-going`.

    The workflow passes the flag to the jobs through the environment variable
    HER2META_KEEP_GOING ("1" or "0", set by workflow/rules/common.smk at parse time), not through
    params or config: a params change would rerun every job. A stage's caller (or a test) can
    override it with params["keep_going"]."""
    import os

    if params and "keep_going" in params:
        return bool(params["keep_going"])
    return os.environ.get(KEEP_GOING_ENV, "0").strip().lower() in {"1", "true", "yes"}


def failure_record(exc: BaseException, *, stage: str, study: str) -> dict:
    """What a failed study's marker outputs carry: the full message (secure zone: it may hold an
    example row) and a one-line summary (no example row) for estimates, pooling and the report."""
    if isinstance(exc, StudyDataError):
        summary = exc.detail.splitlines()[0]
        message = str(exc)
        details = {"file": exc.file, "field": exc.field, "hint": exc.hint}
    elif isinstance(exc, Her2MetaError):
        message = str(exc)
        summary = message.splitlines()[0]
        details = {}
    else:
        message = f"unexpected failure ({type(exc).__name__}): {exc}"
        summary = f"unexpected failure ({type(exc).__name__}) in {stage}; see logs/{stage}_study/{study}.log"
        details = {}
    return {"stage": stage, "summary": summary, "message": message, **{k: v for k, v in details.items() if v}}


def failed_reason(record: dict) -> str:
    """The reason a failed study gives for every analysis: `study failed: <summary>`."""
    return f"study failed: {record['summary']}"
