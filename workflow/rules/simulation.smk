# Simulation check (bias and 95% CI coverage against known true effects) as workflow jobs, on
# request only: `snakemake --cores 8 simulation_check` (not part of the default target). One job
# per chunk of replicates of a scenario, so the study spreads over a cluster
# (`--profile profiles/slurm`); one job gathers them. Same numbers as bench/simulation_check.py for
# the same settings. Logic: her2meta.stages.simulation; docs/methods/simulation_check.md.
#
# Settings: the config's `simulation` section; missing keys (or the whole section) take the
# schema's defaults (those of bench/simulation_check.py). Read here without importing
# her2meta.validation, which would slow down the parsing of every run by its statistics imports.
from her2meta.errors import ConfigError as _ConfigError
from her2meta.schemas import load_schema as _load_schema

SIMULATION = {
    name: prop["default"]
    for name, prop in _load_schema("config")["properties"]["simulation"]["properties"].items()
}
SIMULATION.update(config.get("simulation", {}))
SIMULATION_DIR = f"{RESULTS}/simulation"
# Scenario name per tau, as her2meta.validation.scenarios.scenario_name (the job checks it).
SIMULATION_TAUS = {f"tau{float(tau):g}": float(tau) for tau in SIMULATION["taus"]}
if len(SIMULATION_TAUS) != len(SIMULATION["taus"]):
    raise _ConfigError(
        f"taus {SIMULATION['taus']}: two of them give the same scenario name ({', '.join(SIMULATION_TAUS)})",
        file=(workflow.configfiles or ["config"])[0],
        key="simulation/taus",
        hint="give taus that differ in their first 6 significant digits",
    )
SIMULATION_CHUNKS = list(range(-(-int(SIMULATION["replicates"]) // int(SIMULATION["chunk_size"]))))
SIMULATION_CHUNK_FILES = {
    kind: expand(
        f"{SIMULATION_DIR}/chunks/{{scenario}}/chunk{{chunk}}.{kind}",
        scenario=SIMULATION_TAUS,
        chunk=SIMULATION_CHUNKS,
    )
    for kind in ("csv", "json")
}


rule simulate_chunk:
    wildcard_constraints:
        scenario="|".join(map(re.escape, SIMULATION_TAUS)),
        chunk=r"\d+",
    output:
        **with_records(
            rows=f"{SIMULATION_DIR}/chunks/{{scenario}}/chunk{{chunk}}.csv",
            info=f"{SIMULATION_DIR}/chunks/{{scenario}}/chunk{{chunk}}.json",
        ),
    params:
        # only what the chunk's numbers depend on: more replicates or another tau reruns no finished
        # chunk (but a last chunk that grows); another chunk_size reruns them all
        scenario=lambda wc: {
            "name": wc.scenario,
            "tau": SIMULATION_TAUS[wc.scenario],
            "k_studies": SIMULATION["k_studies"],
        },
        # [start, stop): [chunk * chunk_size, min((chunk + 1) * chunk_size, replicates))
        replicates=lambda wc: [
            int(wc.chunk) * SIMULATION["chunk_size"],
            min((int(wc.chunk) + 1) * SIMULATION["chunk_size"], SIMULATION["replicates"]),
        ],
        master_seed=SIMULATION["master_seed"],
        parts=SIMULATION["parts"],
    log:
        f"{LOGS}/simulate_chunk/{{scenario}}/chunk{{chunk}}.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/simulate_chunk.py"


rule summarise_simulation:
    input:
        rows=SIMULATION_CHUNK_FILES["csv"],
        info=SIMULATION_CHUNK_FILES["json"],
    output:
        **with_records(
            markdown=f"{SIMULATION_DIR}/simulation_check.md",
            json=f"{SIMULATION_DIR}/simulation_check.json",
            replicates=f"{SIMULATION_DIR}/replicates.csv",
        ),
    params:
        simulation=SIMULATION,
    log:
        f"{LOGS}/summarise_simulation/summary.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/summarise_simulation.py"


# The target. It runs nothing; the directives below are the ones every rule here declares.
rule simulation_check:
    input:
        rules.summarise_simulation.output,
    log:
        f"{LOGS}/simulation_check/simulation_check.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=100,
        runtime=1,
