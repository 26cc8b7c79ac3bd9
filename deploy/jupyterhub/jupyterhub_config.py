"""JupyterHub for a class on one machine: the course's .venv as every student's environment.

    make hub                                          # a trial on http://127.0.0.1:8000 (see docs/hosting.md)
    .venv/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py   # the same, started by hand

What it sets up (docs/hosting.md explains each choice and how to change it):

* **Log-in** — JupyterHub's SharedPasswordAuthenticator: one password for the class, handed out in
  the room; anyone who has it can log in under any (non-admin) name, so it suits a workshop, not a
  term. Optionally only the names in a roster file, and admins with their own, longer password.
  For a term, switch to the university's single sign-on (OAuth) — docs/hosting.md shows how.
* **Servers** — one JupyterLab per student (jupyterhub-singleuser from the course's .venv), on
  127.0.0.1 only, with the course's Jupyter settings (jupyter-config/: no news pop-up, kernels over
  IPC), one torch thread per student, idle kernels shut down after a while.
  DL_HUB_SPAWNER picks how they run:
    ``trial`` (default)  every student's server runs as the unix user that started the hub, with
                         its own home folder under DL_HUB_HOMES. No isolation between students:
                         for trying the hub out and for the tests, never for a class.
    ``local``            LocalProcessSpawner: each student is a unix account of that name (create
                         them first); the hub runs as root and starts each server as its user.
    ``systemd``          jupyterhub-systemdspawner (install it; not pinned, not tested here): like
                         ``local``, plus per-student memory and CPU limits enforced by systemd —
                         the only one of the three that can enforce DL_HUB_MEM_LIMIT / DL_HUB_CPU_LIMIT.
* **Idle culling** — the jupyterhub-idle-culler service stops servers idle for DL_HUB_CULL_TIMEOUT.
* **nbgitpuller** — installed in .venv (deploy/jupyterhub/requirements.txt), so a link
  ``/hub/user-redirect/git-pull?repo=...`` clones the course into each student's home
  (deploy/jupyterhub/hub.py prints one).

Settings come from environment variables (defaults in brackets):
  DL_HUB_IP [127.0.0.1], DL_HUB_PORT [8000]    where students connect (put TLS in front for a class)
  DL_HUB_API_PORT [8081], DL_HUB_PROXY_API_PORT [8001]   internal ports, always on 127.0.0.1
  DL_HUB_STATE [build/hub]                     database, cookie secret, password file, trial homes
  DL_HUB_PASSWORD_FILE [$DL_HUB_STATE/password] the shared password (made, mode 0600, if missing)
  DL_HUB_ADMINS, DL_HUB_ADMIN_PASSWORD_FILE    comma-separated admin names; their password (>= 32 chars)
  DL_HUB_ROSTER                                a file of allowed user names, one a line (else any name)
  DL_HUB_SPAWNER [trial], DL_HUB_HOMES [$DL_HUB_STATE/homes]
  DL_HUB_CULL_TIMEOUT [3600], DL_HUB_CULL_EVERY [300]   seconds
  DL_HUB_KERNEL_CULL [1800]                    seconds before an idle kernel is shut down
  DL_HUB_THREADS [1]                           torch/OpenMP threads per student
  DL_HUB_MEM_LIMIT [2G], DL_HUB_CPU_LIMIT [1]  per student (systemd spawner only)
"""
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_hub import read_or_make_secret  # noqa: E402  (beside this file)

c = get_config()  # noqa: F821  (injected by traitlets when JupyterHub reads this file)

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent            # the hub runs from the course's .venv
ENV = os.environ


def _number(name: str, default, kind=int):
    value = ENV.get(name, str(default))
    try:
        return kind(value)
    except ValueError:
        what = "a whole number of seconds/ports/threads" if kind is int else "a number"
        raise SystemExit(f"{name}={value!r} is not {what}; unset it for the default {default}") from None


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


STATE = _private_dir(Path(ENV.get("DL_HUB_STATE", REPO / "build" / "hub")).resolve())

# ---- network: everything on loopback unless DL_HUB_IP says otherwise -------------------------
c.JupyterHub.ip = ENV.get("DL_HUB_IP", "127.0.0.1")
c.JupyterHub.port = _number("DL_HUB_PORT", 8000)
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = _number("DL_HUB_API_PORT", 8081)
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_number('DL_HUB_PROXY_API_PORT', 8001)}"
c.Spawner.ip = "127.0.0.1"
# configurable-http-proxy from npm, installed by `make hub` into .venv/chp (package-lock in proxy/)
chp = VENV_BIN.parent / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
if chp.exists():
    c.ConfigurableHTTPProxy.command = [str(chp)]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")

# ---- log-in: one shared password (JupyterHub >= 5.3) ------------------------------------------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = read_or_make_secret(
    Path(ENV.get("DL_HUB_PASSWORD_FILE", STATE / "password")), 12)
admins = {name.strip() for name in ENV.get("DL_HUB_ADMINS", "").split(",") if name.strip()}
if admins:
    admin_file = Path(ENV.get("DL_HUB_ADMIN_PASSWORD_FILE", STATE / "admin_password"))
    c.SharedPasswordAuthenticator.admin_users = admins
    c.SharedPasswordAuthenticator.admin_password = read_or_make_secret(admin_file, 40)
if ENV.get("DL_HUB_ROSTER"):
    roster = Path(ENV["DL_HUB_ROSTER"]).read_text().split()
    c.Authenticator.allowed_users = {name.strip().lower() for name in roster}
else:
    c.Authenticator.allow_all = True
# user names become folder names (and unix accounts with `local`): keep them plain
c.Authenticator.username_pattern = r"^[a-z][a-z0-9_-]{0,31}$"

# ---- the students' servers ---------------------------------------------------------------------
cull_timeout = _number("DL_HUB_CULL_TIMEOUT", 3600)
cull_every = _number("DL_HUB_CULL_EVERY", 300)
activity_interval = max(1, min(300, cull_every))   # activity must be fresher than culling checks
threads = str(_number("DL_HUB_THREADS", 1))

c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.args = [
    # a chapter's kernel holds 0.8-1.4 GB (docs/hosting.md): shut it down when idle, keep the server
    f"--MappingKernelManager.cull_idle_timeout={_number('DL_HUB_KERNEL_CULL', 1800)}",
    "--MappingKernelManager.cull_interval=60",
]
c.Spawner.environment = {
    # the course's Jupyter settings: news pop-up and update checks off, kernels over IPC
    "JUPYTER_CONFIG_PATH": str(REPO / "jupyter-config"),
    "PATH": f"{VENV_BIN}{os.pathsep}{ENV.get('PATH', '/usr/local/bin:/usr/bin:/bin')}",
    # one thread each: torch would otherwise start one per core in every kernel and the class
    # would fight over the cores (docs/hosting.md: measured load)
    "OMP_NUM_THREADS": threads,
    "MKL_NUM_THREADS": threads,
    "JUPYTERHUB_ACTIVITY_INTERVAL": str(activity_interval),
}
c.Spawner.start_timeout = 120          # a loaded machine starts JupyterLab slowly
c.Spawner.http_timeout = 120

spawner_kind = ENV.get("DL_HUB_SPAWNER", "trial")
if spawner_kind == "trial":
    homes = _private_dir(Path(ENV.get("DL_HUB_HOMES", STATE / "homes")).resolve())
    c.JupyterHub.spawner_class = "simple"          # SimpleLocalProcessSpawner: no user switching
    c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
    # Kernel sockets (IPC) live in the runtime folder, and a Unix socket path has at most ~104
    # characters: homes deep inside a checkout are too deep for it, so each student's runtime
    # folder is in a short private folder, removed when the hub stops.
    runtime_root = tempfile.mkdtemp(prefix="dl-hub-")
    atexit.register(shutil.rmtree, runtime_root, ignore_errors=True)
    c.Spawner.environment["JUPYTER_RUNTIME_DIR"] = lambda spawner: os.path.join(runtime_root, spawner.user.name)
    if os.geteuid() == 0:
        c.Spawner.args.append("--allow-root")     # containers and CI run as root; trial only
elif spawner_kind == "local":
    c.JupyterHub.spawner_class = "localprocess"   # each student a unix account (hub runs as root)
elif spawner_kind == "systemd":
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    # measured peak of a student server: 1.5-1.65 GB resident (chapter 04; docs/hosting.md)
    c.SystemdSpawner.mem_limit = ENV.get("DL_HUB_MEM_LIMIT", "2G")
    c.SystemdSpawner.cpu_limit = _number("DL_HUB_CPU_LIMIT", 1, kind=float)
    c.SystemdSpawner.isolate_tmp = True
    c.SystemdSpawner.isolate_devices = True
else:
    raise SystemExit(f"DL_HUB_SPAWNER={spawner_kind!r}: use trial, local or systemd")

# ---- idle culling: a service of the hub ---------------------------------------------------------
c.JupyterHub.last_activity_interval = activity_interval
c.JupyterHub.activity_resolution = min(30, activity_interval)
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                f"--timeout={cull_timeout}", f"--cull-every={cull_every}"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
