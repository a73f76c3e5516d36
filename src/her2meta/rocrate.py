"""A Workflow Run RO-Crate (ro-crate-metadata.json) for a run, so it can be archived and cited.

The crate's root is the results folder; it follows the Workflow Run Crate profile 0.5 (which
extends Process Run Crate 0.5 and Workflow RO-Crate 1.0) on RO-Crate 1.1:

* the root Dataset (`./`) conforms to the three profiles, has the workflow as `mainEntity`,
  the release-zone files and the workflow snapshot as `hasPart`, and `mentions` the actions;
* the workflow is the Snakefile, copied with its rules, scripts and environments into
  pipeline_info/workflow/, typed File + SoftwareSourceCode + ComputationalWorkflow, in the
  Snakemake language, with the software it needs as SoftwareApplication entities;
* one CreateAction for the run (instrument: the workflow; object: raw study files, mappings,
  study sheet, config files and the seed; result: the release-zone files), and one CreateAction
  per job from the provenance records (instrument: the rule, a SoftwareApplication).

Only release-zone files are in the crate. Raw study files and secure-zone results appear as
entities with a local `#` identifier, their SHA-256 and a note that they are not included, so
the crate proves what the results came from without carrying any participant-level data.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote, unquote
from .hashing import sha256_file

CONTEXT = ["https://w3id.org/ro/crate/1.1/context", "https://w3id.org/ro/terms/workflow-run/context"]
RO_CRATE_SPEC = "https://w3id.org/ro/crate/1.1"
WORKFLOW_RO_CRATE = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": ("Process Run Crate", "0.5"),
    "https://w3id.org/ro/wfrun/workflow/0.5": ("Workflow Run Crate", "0.5"),
    WORKFLOW_RO_CRATE: ("Workflow RO-Crate", "1.0"),
}
SNAKEMAKE_LANGUAGE = "https://w3id.org/workflowhub/workflow-ro-crate#snakemake"
RUN_ID = "#run"
ROLE_DESCRIPTIONS = {
    "package": "raw study file (secure research environment; not included in the crate)",
    "table": "published aggregate data of a study (not included in the crate)",
    "mapping": "extraction mapping of a study (not included in the crate)",
    "studies": "study sheet (not included in the crate)",
    "configfiles": "workflow configuration file (not included in the crate)",
}


def _ref(entity_id: str) -> dict[str, str]:
    return {"@id": entity_id}


class _Graph:
    def __init__(self):
        self.entities: dict[str, dict[str, Any]] = {}

    def add(self, entity: dict[str, Any]) -> str:
        existing = self.entities.get(entity["@id"])
        if existing is None:
            self.entities[entity["@id"]] = entity
        else:
            for key, value in entity.items():
                existing.setdefault(key, value)
        return entity["@id"]

    def as_list(self) -> list[dict[str, Any]]:
        return list(self.entities.values())


def build_crate(results_dir: Path | str, *, run_manifest: dict[str, Any], release_manifest: dict[str, Any],
                records: Iterable[dict[str, Any]], workflow_files: Iterable[Path | str], title: str = "her2meta run") -> dict[str, Any]:
    results = Path(results_dir)
    records = list(records)
    graph = _Graph()

    def rel(path: Path | str) -> str:
        return Path(path).relative_to(results).as_posix()

    def crate_file(path: Path, **extra: Any) -> str:
        entity_id = quote(rel(path), safe="/")
        mime = mimetypes.guess_type(path.name)[0] or ("text/plain" if path.suffix in (".smk", ".sha256", "") else "application/octet-stream")
        return graph.add({"@id": entity_id, "@type": "File", "name": path.name, "encodingFormat": mime,
                          "contentSize": str(path.stat().st_size), "sha256": sha256_file(path), **extra})

    def outside_file(path: str, sha256: str | None, role: str | None, study: str | None) -> str:
        entity_id = "#input/" + quote(path.lstrip("/"), safe="/")
        description = ROLE_DESCRIPTIONS.get(role or "", "input file (not included in the crate)")
        entity = {"@id": entity_id, "@type": "File", "name": path, "description": description, "sha256": sha256}
        if study:
            entity["about"] = _ref(f"#study/{quote(study)}")
            graph.add({"@id": f"#study/{quote(study)}", "@type": "Thing", "name": study, "description": "a contributing study"})
        return graph.add(entity)

    def secure_file(path: str, sha256: str | None) -> str:
        return graph.add({"@id": "#secure/" + quote(path, safe="/"), "@type": "File", "name": path, "sha256": sha256,
                          "description": "secure-zone result (participant-level or unsuppressed counts); not included in the crate"})

    # -- profiles, metadata descriptor, license ---------------------------------------------------
    graph.add({"@id": "ro-crate-metadata.json", "@type": "CreativeWork", "about": _ref("./"),
               "conformsTo": [_ref(RO_CRATE_SPEC), _ref(WORKFLOW_RO_CRATE)]})
    root: dict[str, Any] = {"@id": "./", "@type": "Dataset", "name": title,
                            "description": "Results of a run of the her2meta workflow (IPD meta-analysis of HER2-positive breast "
                                           "cancer trials): the release zone only; participant-level data stay in the secure environment.",
                            "datePublished": run_manifest.get("written"),
                            "conformsTo": [_ref(p) for p in PROFILES],
                            "license": _ref("#license")}
    graph.add(root)
    for profile, (name, version) in PROFILES.items():
        graph.add({"@id": profile, "@type": "CreativeWork", "name": name, "version": version})
    graph.add({"@id": "#license", "@type": "CreativeWork", "name": "Restricted",
               "description": "Use governed by the data-sharing agreements of the contributing studies."})

    # -- the workflow and the software it needs ---------------------------------------------------
    software = run_manifest.get("software", {})
    requirements = []
    for name, version in sorted(software.items()):
        requirements.append(graph.add({"@id": f"#software/{name}", "@type": "SoftwareApplication", "name": name,
                                       "softwareVersion": version}))
    graph.add({"@id": SNAKEMAKE_LANGUAGE, "@type": "ComputerLanguage", "name": "Snakemake",
               "identifier": _ref("https://snakemake.readthedocs.io"), "url": _ref("https://snakemake.github.io"),
               "version": run_manifest.get("snakemake_version")})
    files = [Path(p) for p in workflow_files]
    snakefile = next((p for p in files if p.name == "Snakefile"), None)
    if snakefile is None:
        raise ValueError("the workflow snapshot has no Snakefile")
    code = run_manifest.get("code", {})
    workflow_parts = [crate_file(p) for p in files if p != snakefile]
    workflow_id = crate_file(snakefile)
    graph.entities[workflow_id].update({
        "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow"],
        "name": "her2meta: IPD meta-analysis of HER2-positive breast cancer trials",
        "programmingLanguage": _ref(SNAKEMAKE_LANGUAGE),
        "version": code.get("git_commit") or software.get("her2meta"),
        "description": f"git commit {code.get('git_commit')} (dirty tree: {code.get('git_dirty')}); "
                       f"sources sha256 {code.get('source_sha256')}",
        "hasPart": [_ref(i) for i in workflow_parts],
        "softwareRequirements": [_ref(i) for i in requirements],
        "license": _ref("https://spdx.org/licenses/MIT"),
    })
    graph.add({"@id": "https://spdx.org/licenses/MIT", "@type": "CreativeWork", "name": "MIT License"})

    # -- release-zone files -------------------------------------------------------------------------
    released = []
    for entry in release_manifest.get("files", []):
        path = results / entry["path"]
        if path.is_file():
            released.append(crate_file(path))
    for extra in ("pipeline_info/release_manifest.json", "pipeline_info/release_manifest.sha256"):
        if (results / extra).is_file():
            released.append(crate_file(results / extra, description="release manifest: the release-zone files and their "
                                                                      "SHA-256, for a reviewer to verify and sign"))
    in_crate = set(released)

    def entity_for(path: str, sha256: str | None, record: dict[str, Any], role: str | None = None) -> str:
        location = _locate(path, record, results)
        if location is None:
            return outside_file(path, sha256, role, (record.get("wildcards") or {}).get("study"))
        relative = location.relative_to(results).as_posix()
        if quote(relative, safe="/") in in_crate:
            return quote(relative, safe="/")
        return secure_file(relative, sha256)

    # -- the run ----------------------------------------------------------------------------------
    objects = []
    for entry in run_manifest.get("external_inputs", []):
        objects.append(outside_file(entry["path"], entry.get("sha256"), entry.get("role"), entry.get("study")))
    sheet = run_manifest.get("study_sheet", {})
    if sheet.get("path"):
        objects.append(outside_file(sheet["path"], sheet.get("sha256"), "studies", None))
    for entry in run_manifest.get("config_files", []):
        objects.append(outside_file(entry["path"], entry.get("sha256"), "configfiles", None))
    objects.append(graph.add({"@id": "#param/seed", "@type": "PropertyValue", "name": "seed",
                              "value": str((run_manifest.get("seed") or {}).get("global"))}))
    objects.append(graph.add({"@id": "#param/config", "@type": "PropertyValue", "name": "config",
                              "description": f"the full resolved configuration (sha256 {run_manifest.get('config_sha256')})",
                              "value": json.dumps(run_manifest.get("config"), sort_keys=True)}))
    command = (run_manifest.get("command_line") or {}).get("text") or "snakemake (command line not recorded)"
    jobs = run_manifest.get("jobs", {})
    run_action = {"@id": RUN_ID, "@type": "CreateAction", "name": f"Run of the her2meta workflow: {title}",
                  "description": command, "instrument": _ref(workflow_id), "object": [_ref(i) for i in dict.fromkeys(objects)],
                  "result": [_ref(i) for i in released], "actionStatus": _ref("http://schema.org/CompletedActionStatus")}
    if jobs.get("first_started"):
        run_action["startTime"] = jobs["first_started"]
    if jobs.get("last_finished"):
        run_action["endTime"] = jobs["last_finished"]
    graph.add(run_action)

    # -- one action per job ------------------------------------------------------------------------
    actions = [RUN_ID]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        key = json.dumps([record.get("rule"), record.get("wildcards"), record.get("started")], sort_keys=True)
        grouped.setdefault(key, []).append(record)
    for number, (key, group) in enumerate(sorted(grouped.items()), start=1):
        record = group[0]
        rule = record.get("rule") or "unknown"
        tool = graph.add({"@id": f"#rule/{quote(rule)}", "@type": "SoftwareApplication", "name": f"her2meta rule {rule}",
                          "softwareRequirements": _ref("#software/her2meta"), "isPartOf": _ref(workflow_id)})
        wildcards = ", ".join(f"{k}={v}" for k, v in sorted((record.get("wildcards") or {}).items()))
        action = {"@id": f"#job/{number}", "@type": "CreateAction", "name": f"{rule}" + (f" ({wildcards})" if wildcards else ""),
                  "instrument": _ref(tool),
                  "object": [_ref(entity_for(e["path"], e.get("sha256"), record, e.get("role"))) for e in record.get("inputs", [])],
                  "result": [_ref(entity_for(r["output"]["path"], r["output"].get("sha256"), r)) for r in group],
                  "startTime": record.get("started"), "endTime": record.get("finished")}
        if record.get("seed") is not None:
            action["description"] = f"seed {record['seed']}"
        actions.append(graph.add(action))

    root["mainEntity"] = _ref(workflow_id)
    root["hasPart"] = [_ref(i) for i in [workflow_id, *workflow_parts, *released]]
    root["mentions"] = [_ref(i) for i in actions]
    return {"@context": CONTEXT, "@graph": graph.as_list()}


def _locate(path: str, record: dict[str, Any], results: Path) -> Path | None:
    """A recorded path as a path under this results folder, or None when it is outside it."""
    recorded_results = Path(record.get("results_dir") or "results")
    candidate = Path(path)
    if candidate.is_absolute():
        workdir = record.get("workdir")
        if not workdir:
            return None
        try:
            candidate = candidate.relative_to(workdir)
        except ValueError:
            return None
    try:
        return results / candidate.relative_to(recorded_results)
    except ValueError:
        return None


def validate_crate(crate: dict[str, Any], crate_dir: Path | str) -> list[str]:
    """Structural problems of a Workflow Run Crate (empty list: none). No network access: the
    JSON-LD contexts are not fetched; entities and links are checked."""
    problems: list[str] = []
    crate_dir = Path(crate_dir)
    context = crate.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if "https://w3id.org/ro/crate/1.1/context" not in contexts:
        problems.append("@context does not include https://w3id.org/ro/crate/1.1/context")
    entities = crate.get("@graph", [])
    ids = [e.get("@id") for e in entities]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        problems.append(f"duplicate @id: {sorted(duplicates)[:5]}")
    by_id = {e["@id"]: e for e in entities if "@id" in e}

    def types(entity: dict[str, Any]) -> set[str]:
        value = entity.get("@type", [])
        return {value} if isinstance(value, str) else set(value)

    def refs(value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        return [item["@id"] for item in items if isinstance(item, dict) and "@id" in item]

    descriptor = by_id.get("ro-crate-metadata.json")
    if not descriptor or "CreativeWork" not in types(descriptor):
        problems.append("no metadata descriptor entity ro-crate-metadata.json (CreativeWork)")
    else:
        if refs(descriptor.get("about")) != ["./"]:
            problems.append("the metadata descriptor is not about ./")
        if RO_CRATE_SPEC not in refs(descriptor.get("conformsTo")):
            problems.append(f"the metadata descriptor does not conform to {RO_CRATE_SPEC}")
    root = by_id.get("./")
    if not root or "Dataset" not in types(root):
        problems.append("no root Dataset ./")
        return problems
    for key in ("name", "description", "datePublished", "license"):
        if not root.get(key):
            problems.append(f"root Dataset has no {key}")
    for profile in PROFILES:
        if profile not in refs(root.get("conformsTo")):
            problems.append(f"root Dataset does not conform to {profile}")
        elif "CreativeWork" not in types(by_id.get(profile, {})):
            problems.append(f"profile {profile} is not described as a CreativeWork")
    main = refs(root.get("mainEntity"))
    workflow = by_id.get(main[0]) if main else None
    if not workflow or not {"File", "SoftwareSourceCode", "ComputationalWorkflow"} <= types(workflow):
        problems.append("mainEntity is not a File + SoftwareSourceCode + ComputationalWorkflow")
    else:
        language = by_id.get((refs(workflow.get("programmingLanguage")) or [None])[0] or "", {})
        if "ComputerLanguage" not in types(language):
            problems.append("the workflow's programmingLanguage is not a ComputerLanguage entity")
        for requirement in refs(workflow.get("softwareRequirements")):
            if "SoftwareApplication" not in types(by_id.get(requirement, {})):
                problems.append(f"software requirement {requirement} is not a SoftwareApplication")
    has_part = refs(root.get("hasPart"))
    if main and main[0] not in has_part:
        problems.append("the workflow is not in the root's hasPart")
    for part in has_part:
        entity = by_id.get(part)
        if entity is None:
            problems.append(f"hasPart names {part}, which has no entity")
            continue
        path = crate_dir / unquote(part)
        if "File" in types(entity):
            if not path.is_file():
                problems.append(f"data entity {part} is not a file in the crate")
            elif entity.get("sha256") and entity["sha256"] != sha256_file(path):
                problems.append(f"data entity {part}: sha256 differs from the file")
    actions = [by_id.get(i) for i in refs(root.get("mentions"))]
    runs = [a for a in actions if a and "CreateAction" in types(a) and main and refs(a.get("instrument")) == main]
    if not runs:
        problems.append("no CreateAction mentioned by the root has the workflow as instrument")
    for action in (a for a in actions if a):
        if "CreateAction" not in types(action):
            problems.append(f"{action['@id']} mentioned by the root is not a CreateAction")
            continue
        if not refs(action.get("instrument")):
            problems.append(f"action {action['@id']} has no instrument")
        for key in ("object", "result"):
            for target in refs(action.get(key)):
                if target not in by_id:
                    problems.append(f"action {action['@id']}: {key} {target} has no entity")
        for tool in refs(action.get("instrument")):
            if tool != (main[0] if main else None) and "SoftwareApplication" not in types(by_id.get(tool, {})):
                problems.append(f"action {action['@id']}: instrument {tool} is not a SoftwareApplication")
    if runs and not refs(runs[0].get("result")):
        problems.append("the workflow run has no result")
    return problems
