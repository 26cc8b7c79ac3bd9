#!/usr/bin/env python3
"""Start the course's JupyterHub and print where to go; also the pieces its test and load measurement share.

    .venv/bin/python deploy/jupyterhub/course_hub.py            # what `make hub` runs
    .venv/bin/python deploy/jupyterhub/course_hub.py --repo https://github.com/<owner>/<repo> --branch main

It prints the hub's address, the shared password (kept in $DL_HUB_STATE/password, default
build/hub/password) and the nbgitpuller link that clones the course into a student's home and opens
chapter 00, then runs JupyterHub with deploy/jupyterhub/jupyterhub_config.py in the foreground
(Ctrl-C stops the hub and every server it started). Settings: see that config file's docstring.

Library part (used by tests/e2e/test_hub.py and deploy/jupyterhub/measure_load.py):
``gitpuller_link`` builds a link; ``Hub`` starts a hub with given settings on loopback, talks to its
REST API with a service token, lists every process it started, and stops them all.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIG = HERE / "jupyterhub_config.py"
TARGET_DIR = "diffusion_lab"              # the folder nbgitpuller clones the course into
FIRST_CHAPTER = "00_welcome.ipynb"


def gitpuller_link(hub_url: str, repo: str, branch: str, chapter: str = FIRST_CHAPTER,
                   target_dir: str = TARGET_DIR) -> str:
    """The nbgitpuller link: the first click clones ``repo`` into ``~/<target_dir>``, later clicks pull
    and merge (keeping the student's edits); both then open ``notebooks/<chapter>`` in JupyterLab."""
    query = urllib.parse.urlencode({
        "repo": repo, "branch": branch, "targetpath": target_dir,
        "urlpath": f"lab/tree/{target_dir}/notebooks/{chapter}",
    })
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def current_branch(repo: Path = REPO) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=repo, capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "main"
    return out if out and out != "HEAD" else "main"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=diffusion_lab hub", "-c", "user.email=hub@localhost", *args],
                          cwd=cwd, check=True, capture_output=True, text=True, timeout=120).stdout


def snapshot_repository(dest: Path, source: Path = REPO) -> Path:
    """A git repository at ``dest`` holding ``source``'s tracked files as they are in its working tree
    (uncommitted edits included), one commit on branch main: what a trial class clones, so that the
    chapters match the diffusion_lab package the .venv imports (an editable install of the checkout)."""
    import shutil

    listed = subprocess.run(["git", "ls-files", "-z"], cwd=source, check=True, capture_output=True,
                            timeout=60).stdout.decode().split("\0")
    for rel in filter(None, listed):
        if (source / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / rel, dest / rel)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "course snapshot")
    return dest


def read_or_make_secret(path: Path, length: int) -> str:
    """A password file: made with ``length`` random URL-safe characters (mode 0600) if missing;
    refused if others can read it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(length)[:length] + "\n")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise SystemExit(f"{path} can be read by other users; run: chmod 600 {path}")
    return path.read_text().strip()


def state_dir() -> Path:
    return Path(os.environ.get("DL_HUB_STATE", REPO / "build" / "hub")).resolve()


def password_file() -> Path:
    return Path(os.environ.get("DL_HUB_PASSWORD_FILE", state_dir() / "password"))


# ---- a hub under a program's control (tests, measurements) ---------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """A JupyterHub from this folder's config, on free 127.0.0.1 ports, with its state in ``state``.

    ``settings`` are DL_HUB_* variables (see jupyterhub_config.py); ``extra_config`` is appended to
    the config (Python, ``c`` is the config object). A service ``observer`` with
    its own token (admin rights over users and servers, and access to the servers) is added, so
    the caller can use the REST API. Every process the hub starts carries DL_HUB_RUN=<run id>
    in its environment (servers and kernels through the spawner), which ``processes`` finds.
    Use as a context manager: leaving it stops the hub and every process it started.
    """

    def __init__(self, state: Path, settings: dict[str, str] | None = None, python: Path | None = None,
                 extra_config: str = ""):
        self.state = Path(state)
        self.state.mkdir(parents=True, exist_ok=True)
        self.python = Path(python or sys.executable)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_id = secrets.token_hex(8)
        self.token = secrets.token_hex(24)
        self.log = self.state / "jupyterhub.log"
        self.settings = {"DL_HUB_STATE": str(self.state / "hub"), "DL_HUB_PORT": str(self.port),
                         "DL_HUB_API_PORT": str(_free_port()), "DL_HUB_PROXY_API_PORT": str(_free_port()),
                         **(settings or {})}
        self.extra_config = extra_config
        self.proc: subprocess.Popen | None = None
        self._seen: dict[int, float] = {}      # pid -> create_time of every process seen

    # -- start / stop
    def config_file(self) -> Path:
        extra = self.state / "hub_run_config.py"
        extra.write_text(
            "# written by course_hub.Hub: the course config plus an API service for the caller\n"
            f"load_subconfig({str(CONFIG)!r})\n"
            "c.JupyterHub.services.append({'name': 'observer', 'api_token': %r})\n"
            "c.JupyterHub.load_roles.append({'name': 'observer', 'services': ['observer'],\n"
            "    'scopes': ['admin:users', 'admin:servers', 'access:servers', 'read:users:activity']})\n"
            "c.Spawner.environment['DL_HUB_RUN'] = %r\n" % (self.token, self.run_id) + self.extra_config)
        return extra

    def start(self, timeout: float = 90) -> "Hub":
        env = {k: v for k, v in os.environ.items() if not k.startswith("DL_HUB_") and k != "MPLBACKEND"}
        env.update(self.settings, DL_HUB_RUN=self.run_id,
                   PATH=f"{self.python.parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}")
        self.state.joinpath("hub").mkdir(exist_ok=True)
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen([str(self.python.parent / "jupyterhub"), "-f", str(self.config_file())],
                                         cwd=self.state / "hub", env=env, stdout=fh, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.api("/hub/api/") is not None:
                    self.processes()
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"jupyterhub did not answer within {timeout}s:\n{self.log_tail()}")

    def __enter__(self) -> "Hub":
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def processes(self) -> list:
        """Every live process this hub started (psutil.Process): its descendants and whatever carries
        its DL_HUB_RUN mark (a kernel whose server died is no longer a descendant). Remembered, so
        ``stop`` also ends processes that have left the tree since."""
        import psutil

        found = {}
        if self.proc is not None:
            try:
                hub = psutil.Process(self.proc.pid)
                for p in [hub, *hub.children(recursive=True)]:
                    found[p.pid] = p
            except psutil.NoSuchProcess:
                pass
        for p in psutil.process_iter(["pid"]):
            if p.pid in found:
                continue
            try:
                if p.environ().get("DL_HUB_RUN") == self.run_id:
                    found[p.pid] = p
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        for p in found.values():
            try:
                self._seen.setdefault(p.pid, p.create_time())
            except psutil.NoSuchProcess:
                pass
        return list(found.values())

    def stop(self, timeout: float = 40) -> list[str]:
        """Stop the hub (it stops its servers, proxy and services), then end whatever is left.
        Returns a description of each process that had to be ended here (empty: the hub cleaned up)."""
        import psutil

        self.processes()
        leftovers = []
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        remaining = []
        for pid, created in self._seen.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    remaining.append(p)
            except psutil.NoSuchProcess:
                continue
        for p in remaining:
            try:
                leftovers.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
                p.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(remaining, timeout=5)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        return leftovers

    # -- REST API (service token)
    def api(self, path: str, method: str = "GET", body: dict | None = None, timeout: float = 30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
        return json.loads(raw) if raw else {}

    def user(self, name: str) -> dict | None:
        try:
            return self.api(f"/hub/api/users/{name}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def server_ready(self, name: str) -> bool:
        info = self.user(name)
        server = (info or {}).get("servers", {}).get("", {})
        return bool(server.get("ready"))

    def request_spawn(self, name: str) -> None:
        """Create ``name`` if needed and ask the hub to start their server (without waiting for it)."""
        if self.user(name) is None:
            self.api(f"/hub/api/users/{name}", method="POST", body={})
        if not self.server_ready(name):
            try:
                self.api(f"/hub/api/users/{name}/server", method="POST", body={}, timeout=60)
            except urllib.error.HTTPError as exc:
                if exc.code != 400:          # 400: already running / pending
                    raise

    def spawn(self, name: str, timeout: float = 180) -> None:
        """Create ``name`` if needed and start their server; wait until it is ready."""
        self.request_spawn(name)
        deadline = time.time() + timeout
        while not self.server_ready(name):
            if time.time() > deadline:
                raise RuntimeError(f"{name}'s server was not ready within {timeout}s:\n{self.log_tail()}")
            time.sleep(0.5)
        self.processes()


# ---- make hub ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--repo", default=os.environ.get("DL_HUB_REPO", str(REPO)),
                    help="repository the link clones (default: this checkout; for a class its public URL)")
    ap.add_argument("--branch", default=os.environ.get("DL_HUB_BRANCH") or current_branch(),
                    help="branch the link follows (default: the checked-out branch)")
    args = ap.parse_args(argv)
    host = os.environ.get("DL_HUB_IP", "127.0.0.1")
    port = os.environ.get("DL_HUB_PORT", "8000")
    url = f"http://{host}:{port}"
    password = read_or_make_secret(password_file(), 12)
    jupyterhub = Path(sys.executable).parent / "jupyterhub"
    if not jupyterhub.exists():
        raise SystemExit("JupyterHub is not installed in this environment: run `make hub` "
                         "(it installs deploy/jupyterhub/requirements.txt and configurable-http-proxy)")
    print(f"JupyterHub ({os.environ.get('DL_HUB_SPAWNER', 'trial')} spawner): {url}/")
    print(f"  shared password: {password}   (in {password_file()}; any user name logs in with it)")
    print(f"  link that lands a student in chapter 00 (clones {args.repo}, branch {args.branch}):")
    print(f"  {gitpuller_link(url, args.repo, args.branch)}")
    print("  Stop with Ctrl-C. See docs/hosting.md.", flush=True)
    os.execv(str(jupyterhub), [str(jupyterhub), "-f", str(CONFIG)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
