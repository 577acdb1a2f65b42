"""What the serving process loads before it has work to do.

``medlicense serve`` runs as long as the service does.  Its intake runs only hand
packages to the worker pool, which reads, renders and signs; the serving process
needs WeasyPrint, pdfplumber and pyHanko only once a review run decided by a
person builds the signing context in it (and pyHanko for the development TSA it
hosts).  Each of these tests starts a fresh interpreter, so a module-level import
that brings one of them back fails here rather than in the benchmark's memory.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medlicense.cli import COMMAND_MODULES
from medlicense.isolation import isolated_environment

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Reading, rendering and the sample generator: never in an idle serving process.
NOT_WHEN_IDLE = ("weasyprint", "pdfplumber", "pdfminer", "pypdf", "fontTools", "reportlab")
SIGNING = ("pyhanko", "pyhanko_certvalidator")

# ``medlicense serve`` up to the moment it would start serving: the real command
# line and ``_serve``, with the Prefect server, the development PKI services and
# the serving loop replaced by stand-ins; the stand-in of the loop builds the
# deployments, as the real one does first, and reports what is loaded.
SERVE = """
import json, sys
from contextlib import nullcontext

import flows.context, flows.deploy, medlicense.cli, medlicense.cli_app

def serve_all(settings, *, limit=None):
    flows.deploy.deployments(settings)
    print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))

medlicense.cli_app.configure_prefect = lambda settings, *, start_server: None
flows.context.dev_pki_services = lambda settings: nullcontext()
flows.deploy.serve_all = serve_all
sys.exit(medlicense.cli.main(["serve"]))
"""

# The development TSA/OCSP/CRL that ``serve`` hosts when no real TSA is configured.
DEV_PKI = """
import json, sys

from flows.context import dev_pki_services
from medlicense.settings import get_settings

with dev_pki_services(get_settings()):
    print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def _loaded(code: str, tmp_path: Path, *args: str, **env: str) -> set[str]:
    environ = {
        **os.environ,
        **isolated_environment(tmp_path / "var"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PYTHONPATH": str(PROJECT_DIR),
    }
    environ.pop("MEDLICENSE_TSA_URL", None)
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=environ,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(loaded)


def test_serve_starts_without_reading_rendering_or_signing(tmp_path: Path) -> None:
    # With a real TSA nothing in the serving process signs or verifies until a
    # person's decision is carried out, so not even pyHanko is loaded.
    loaded = _loaded(SERVE, tmp_path, MEDLICENSE_TSA_URL="http://tsa.invalid/tsr")
    assert "prefect" in loaded  # the stand-in ran where the serving would start
    assert loaded.isdisjoint(NOT_WHEN_IDLE + SIGNING), sorted(loaded & {*NOT_WHEN_IDLE, *SIGNING})


def test_the_development_pki_services_load_no_reader_or_renderer(tmp_path: Path) -> None:
    loaded = _loaded(DEV_PKI, tmp_path)
    assert "pyhanko" in loaded  # its TSA is pyHanko's
    assert loaded.isdisjoint(NOT_WHEN_IDLE), sorted(loaded & set(NOT_WHEN_IDLE))


# A warm worker as the pool starts one (its module, its initializer, its context)
# that then checks a package as its jobs do; argv[1] is the package's ZIP file.
WORKER = """
import json, pathlib, sys

from medlicense import autoreview, register, review_page, workers
from medlicense.intake import check_package_bytes
from medlicense.settings import get_settings

workers._init_worker(get_settings())
workers._warm_job()
verdict = check_package_bytes(pathlib.Path(sys.argv[1]).read_bytes(), "p.zip")
assert verdict.outcome.value == "accepted", verdict
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_a_worker_loads_neither_prefect_nor_an_http_command_line(tmp_path: Path) -> None:
    # Each worker is a process of its own for as long as the service runs: Prefect
    # (~28 MiB) and httpx's command-line client (rich, pygments, click: ~6 MiB) are
    # never used there, nor the PDF parsers (~17 MiB): the worker's reader process
    # parses the uploads.
    import socket

    with socket.socket() as sock:  # a free port for the development PKI's services
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    from medlicense.samples import PackageSpec, render_package

    package = tmp_path / "p.zip"
    package.write_bytes(render_package(PackageSpec(seed=3)).data)
    loaded = _loaded(WORKER, tmp_path, str(package), MEDLICENSE_PKI_SERVICES_PORT=str(port))
    assert {"weasyprint", "pyhanko", "httpx"} <= loaded  # the context was built
    unused = {
        "prefect",
        "rich",
        "pygments",
        "click",
        "pypdf",
        "pdfplumber",
        "pdfminer",
        "pypdfium2",
    }
    assert loaded.isdisjoint(unused), sorted(loaded & unused)


@pytest.mark.parametrize("module", sorted(COMMAND_MODULES))
def test_each_command_module_registers_the_commands_listed_for_it(module: str) -> None:
    # medlicense.cli imports only the module of the command it runs; a command
    # missing from its list would be unknown to the command line.
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError:
        pytest.skip(f"{module} is not installed")
    sub = argparse.ArgumentParser().add_subparsers()
    imported.register(sub)
    assert tuple(sub.choices) == COMMAND_MODULES[module]
