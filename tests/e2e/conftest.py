"""Fixtures for the browser end-to-end tests (see e2e_support.py for what is isolated and why)."""
from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest

from e2e_support import (CHROMIUM_ARGS, SCREENSHOTS, VENV_BIN, Server, chromium_path, copy_course, free_port,
                         server_env, stop, wait_http)


@pytest.fixture(scope="session")
def playwright_browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` Python package is not installed "
                                   "(pip install playwright; .ci/run installs it)")
    exe = chromium_path()
    if exe is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set DL_CHROMIUM); .ci/run installs it")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, playwright_browser):
    """One JupyterLab for the whole session, serving copies of the chapters."""
    tmp = tmp_path_factory.mktemp("lab")
    root = copy_course(tmp)
    settings = tmp / "user-settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    token, port = secrets.token_hex(16), free_port()
    log = tmp / "jupyterlab.log"
    cmd = [str(VENV_BIN / "jupyter"), "lab", "--no-browser", f"--ServerApp.root_dir={root}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
           f"--LabApp.user_settings_dir={tmp / 'user-settings'}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
           "--ServerApp.allow_root=True"]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=root, env=server_env(tmp), stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/api/status?token={token}", proc, log)
        yield Server(proc, base, token, root, log)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def e2e_report():
    """Collects per-test measurements; written to build/screenshots/e2e_report.json at the end."""
    report: dict = {}
    yield report
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "e2e_report.json").write_text(json.dumps(report, indent=1))
