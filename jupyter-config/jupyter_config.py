"""Kernels over IPC: every Jupyter app started with this folder on JUPYTER_CONFIG_PATH reads this file.

That is `make course`, `make present`, `make hub`'s user servers (JupyterLab, jupyterhub-singleuser),
`make dashboard` (Voilà reads it through voila.py beside it) and the site build
(scripts/build_site.py loads it for nbclient). Binder and hub images get it from postBuild.

By default a kernel talks to its server over five localhost TCP ports, unencrypted: on a shared
machine any local user can connect to them or read the traffic, and ipykernel warns "Kernel is
running over TCP without encryption". Where the OS has Unix domain sockets (Linux, macOS) the
kernel uses IPC transport instead: its sockets are files next to its connection file in Jupyter's
runtime directory, which is kept private (mode 0700), so only the same user can reach them.
Windows keeps TCP. IPC is also skipped, with a note on stderr, where the sockets' path would be
longer than the OS allows (a very long JUPYTER_RUNTIME_DIR) or the runtime directory is not ours.
"""
import os
import stat
import sys

# Longest path of a Unix domain socket, without the final NUL of sun_path (108 bytes on Linux, 104 on BSD/macOS).
SOCKET_PATH_MAX = 107 if sys.platform.startswith("linux") else 103
# A kernel's socket path: <runtime dir>/kernel-<36-character kernel id>-ipc-<n>, n = 1..5 for its five
# channels (jupyter_client counts up past names in use; two digits leave room for that)
SOCKET_NAME_LEN = len("/kernel-") + 36 + len("-ipc-") + 2


def ipc_unavailable_reason(runtime_dir: str, platform: str = sys.platform) -> str | None:
    """Why kernels must stay on TCP here, or None when IPC transport can be used."""
    if platform == "win32":
        return "Windows: kernels use TCP"
    import zmq

    if not zmq.has("ipc"):
        return "this libzmq has no IPC transport"
    if len(os.path.abspath(runtime_dir)) + SOCKET_NAME_LEN > SOCKET_PATH_MAX:
        return (f"the Jupyter runtime directory {runtime_dir!r} is too long for Unix socket paths "
                f"(at most {SOCKET_PATH_MAX - SOCKET_NAME_LEN} characters); set a shorter JUPYTER_RUNTIME_DIR")
    if os.path.isdir(runtime_dir):
        info = os.stat(runtime_dir)
        if info.st_uid != os.getuid():
            return f"the Jupyter runtime directory {runtime_dir!r} belongs to another user"
        if info.st_mode & 0o077:
            os.chmod(runtime_dir, stat.S_IMODE(info.st_mode) & ~0o077)   # as Jupyter creates it: 0700
    return None


def _configure(config) -> None:
    from jupyter_core.paths import jupyter_runtime_dir

    reason = ipc_unavailable_reason(jupyter_runtime_dir())
    if reason is None:
        config.KernelManager.transport = "ipc"
    elif sys.platform != "win32":
        print(f"[diffusion_lab jupyter-config] kernels use TCP: {reason}", file=sys.stderr)


if "get_config" in globals():      # read by a Jupyter app (traitlets), not imported
    _configure(get_config())  # noqa: F821
