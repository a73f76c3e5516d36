"""study_chain: one study's extract -> harmonize -> estimate, in one process.

The three steps are the stage functions her2meta.stages.extract, .harmonize and .estimate, run
one after the other on the files the previous step wrote (results/extracted, then
results/harmonized, then results/estimates/<analysis>/): the same files, bytes and messages as
three separate jobs, without two interpreter start-ups per study, which were most of the time
of a study's chain (docs/benchmarks.md). Under `--keep-going` a study that fails leaves marker
outputs at the step that failed and the later steps pass the failure on, as before.

`lineage` gives each output's own inputs for its provenance record, so an audit still walks
estimates -> harmonized -> extracted -> raw package and mapping.
"""

from __future__ import annotations

from types import SimpleNamespace

from . import estimate, extract, harmonize


def run(*, inputs, outputs, params, wildcards, logger) -> None:
    seed = params["seed"]
    extract.run(inputs=SimpleNamespace(mapping=inputs.mapping, package=list(inputs.package)),
                outputs=SimpleNamespace(data=outputs.extracted, qc=outputs.extracted_qc),
                params={"package_dir": params["package_dir"], "package_first_file": params["package_first_file"],
                        "seed": seed},
                wildcards=wildcards, logger=logger)
    harmonize.run(inputs=SimpleNamespace(data=outputs.extracted, qc=outputs.extracted_qc, mapping=inputs.mapping),
                  outputs=SimpleNamespace(data=outputs.harmonized, qc=outputs.harmonized_qc),
                  params={"study": params["study"], "harmonization": params["harmonization"], "seed": seed},
                  wildcards=wildcards, logger=logger)
    estimate.run(inputs=SimpleNamespace(data=outputs.harmonized), outputs=SimpleNamespace(tables=list(outputs.tables)),
                 params={"analyses": params["analyses"], "applicable": params["applicable"], "level": params["level"],
                         "seed": seed},
                 wildcards=wildcards, logger=logger)


def lineage(inputs, outputs) -> dict[str, dict[str, str]]:
    """{output: {input: role}}: what each output of the chain was made from."""
    raw = {str(inputs.mapping): "mapping", **{str(p): "package" for p in inputs.package}}
    extracted = {str(outputs.extracted): "data", str(outputs.extracted_qc): "qc", str(inputs.mapping): "mapping"}
    harmonized = {str(outputs.harmonized): "data"}
    out = {str(outputs.extracted): raw, str(outputs.extracted_qc): raw,
           str(outputs.harmonized): extracted, str(outputs.harmonized_qc): extracted}
    out.update({str(table): harmonized for table in outputs.tables})
    return out
