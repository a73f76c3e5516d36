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
