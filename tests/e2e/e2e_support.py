"""Helpers for the browser end-to-end tests (servers, ports, copies of the course).

Browser end-to-end set-up: a real JupyterLab (and Voilà) driven by Playwright + Chromium.

Everything runs on 127.0.0.1 with throw-away state: the chapters are COPIED into a temp folder
(JupyterLab never writes into notebooks/), and config/runtime/settings/workspaces dirs are temp
dirs too; only the project's own jupyter-config/ is on the config path, as in `make course`.
Skips (with the reason) only when the Python `playwright` package or a Chromium binary is missing;
`.ci/run` installs both, so CI runs these tests. Chromium: $DL_CHROMIUM, else /usr/bin/chromium.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str | None:
    for cand in (os.environ.get("DL_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(tmp: Path) -> dict:
    """Environment for jupyter/voila: isolated dirs, project config, and NO inherited MPLBACKEND.

    `make test` exports MPLBACKEND=Agg; a kernel inheriting it would draw no inline figure at all.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"MPLBACKEND", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR"}}
    for sub in ("config", "runtime", "data"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    env.update(JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTER_CONFIG_PATH=str(ROOT / "jupyter-config"), JUPYTER_PLATFORM_DIRS="1",
               IPYTHONDIR=str(tmp / "ipython"), PYTHONHASHSEED="0",
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


def copy_course(tmp: Path) -> Path:
    """tmp/course/notebooks/*.ipynb and zh/*.ipynb copied; every other repo entry symlinked (data, checkpoints...)."""
    course = tmp / "course"
    (course / "notebooks").mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name in {"notebooks", ".git", "build", ".venv"}:
            continue
        (course / entry.name).symlink_to(entry)
    for entry in (ROOT / "notebooks").iterdir():
        if entry.name.startswith("."):
            continue
        if entry.suffix == ".ipynb":
            shutil.copy2(entry, course / "notebooks" / entry.name)
        elif entry.name == "zh" and entry.is_dir():        # the Chinese edition: copies too, never the originals
            (course / "notebooks" / "zh").mkdir()
            for chapter in entry.glob("*.ipynb"):
                shutil.copy2(chapter, course / "notebooks" / "zh" / chapter.name)
        else:
            (course / "notebooks" / entry.name).symlink_to(entry)
    return course / "notebooks"


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url} within {timeout}s:\n{log.read_text()[-3000:]}")


def wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Wait until something listens on 127.0.0.1:port (for servers without a cheap status URL)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise RuntimeError(f"nothing listened on port {port} within {timeout}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class Server:
    def __init__(self, proc, base: str, token: str, root: Path, log: Path):
        self.proc, self.base, self.token, self.root, self.log = proc, base, token, root, log

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None


