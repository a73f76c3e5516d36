"""The extract stage reads the package from its declared inputs' local copies (cloud storage)."""

from pathlib import Path

from her2meta.stages.extract import local_package_dir


class Inputs:
    def __init__(self, package):
        self.package = package


def test_shared_file_system_uses_the_configured_folder():
    inputs = Inputs(["resources/demo/SIM-A/MANIFEST.txt", "resources/demo/SIM-A/adsl.xpt"])
    params = {"package_dir": "resources/demo/SIM-A", "package_first_file": "MANIFEST.txt"}
    assert local_package_dir(inputs, params) == Path("resources/demo/SIM-A")


def test_storage_plugin_copy_is_found_from_the_first_file():
    local = ".snakemake/storage/s3/bucket/data/SIM-A"
    inputs = Inputs([f"{local}/data/adsl.xpt", f"{local}/data/adtte.xpt"])
    params = {"package_dir": "s3://bucket/data/SIM-A", "package_first_file": "data/adsl.xpt"}
    assert local_package_dir(inputs, params) == Path(local)


def test_falls_back_to_the_configured_folder_when_paths_do_not_match():
    inputs = Inputs(["elsewhere/other.csv"])
    params = {"package_dir": "resources/demo/SIM-A", "package_first_file": "MANIFEST.txt"}
    assert local_package_dir(inputs, params) == Path("resources/demo/SIM-A")
    assert local_package_dir(Inputs([]), {"package_dir": "p"}) == Path("p")
