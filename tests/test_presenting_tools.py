"""Presenting and class set-up: scripts/add_slide_metadata.py and the project-local jupyter-config/."""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


asm = _load("add_slide_metadata")


def _chapter():
    nb = new_notebook(cells=[
        new_markdown_cell("# 01 · Title\n\nGoals."),
        new_code_cell("import diffusion_lab as dl"),
        new_markdown_cell("Some words."),
        new_markdown_cell("## 1 · A section"),
        new_code_cell("explorer(...)"),
        new_markdown_cell("### A detail"),
        new_markdown_cell("\n## Heading after a blank line"),
        new_markdown_cell("#hashtag is not a heading"),
    ])
    nb.cells[2].metadata["slideshow"] = {"slide_type": "fragment"}
    nb.cells[4].outputs = [nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "kept\n"})]
    nb.cells[4].metadata["tags"] = ["explorer"]
    return nb


def _types(nb):
    return [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]


def test_headings_start_slides_and_the_rest_continues():
    nb = _chapter()
    changed = asm.add_slide_metadata(nb)
    assert _types(nb) == ["slide", None, "fragment", "slide", None, "subslide", "slide", None]
    assert changed == 4                                # the author's fragment is kept
    assert all("slideshow" not in c.metadata for c in nb.cells if _types(nb)[nb.cells.index(c)] is None)
    assert nb.cells[4].outputs[0]["text"] == "kept\n" and nb.cells[4].metadata["tags"] == ["explorer"]
    assert asm.add_slide_metadata(nb) == 0             # idempotent


def test_skip_setup_and_force():
    nb = _chapter()
    asm.add_slide_metadata(nb, skip_setup=True, force=True)
    assert _types(nb)[:3] == ["slide", "skip", None]


def test_a_stale_dash_is_removed_other_slideshow_keys_kept():
    nb = _chapter()
    nb.cells[1].metadata["slideshow"] = {"slide_type": "-"}
    nb.cells[4].metadata["slideshow"] = {"slide_type": "-", "note": "x"}
    asm.add_slide_metadata(nb)
    assert "slideshow" not in nb.cells[1].metadata
    assert nb.cells[4].metadata["slideshow"] == {"note": "x"}


def test_the_chapters_carry_current_slide_metadata():
    # the chapters present as decks (make present); they were given their slides by this script
    assert asm.main(["--check", "--skip-setup"]) == 0


def test_check_mode_reports_and_writes_nothing(tmp_path):
    path = tmp_path / "01_x.ipynb"
    nbformat.write(_chapter(), path)
    before = path.read_bytes()
    assert asm.main([str(path), "--check"]) == 1
    assert path.read_bytes() == before
    assert asm.main([str(path)]) == 0 and path.read_bytes() != before
    assert asm.main([str(path), "--check"]) == 0
    nbformat.validate(nbformat.read(path, as_version=4))


def test_class_config_turns_off_news_and_update_checks():
    page = json.loads((ROOT / "jupyter-config" / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyterlab/apputils-extension:announcements"] is True
    server = json.loads((ROOT / "jupyter-config" / "jupyter_server_config.json").read_text())
    assert server["LabApp"]["news_url"] is None
    assert server["LabApp"]["check_for_updates_class"] == "jupyterlab.NeverCheckForUpdate"


def test_readme_pictures_exist_and_the_overview_script_draws_the_real_process():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    import re
    pictures = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", readme)
    assert "docs/images/overview.png" in pictures and len(pictures) >= 2
    for rel in pictures:
        assert (ROOT / rel).is_file() and (ROOT / rel).stat().st_size < 400_000, rel
    zh_pictures = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", (ROOT / "README.zh-CN.md").read_text(encoding="utf-8"))
    assert zh_pictures and all((ROOT / rel).is_file() for rel in zh_pictures), zh_pictures
    fig_mod = _load("make_readme_figure")
    fig, states = fig_mod.overview_figure(n=600)
    x0, x_T, samples = states["forward"][-1], states["forward"][999], states["reverse"][-1]
    # forward end: N(0, I) within 5 standard errors of the mean (1/sqrt(600) = 0.04) and of the std
    assert x_T.mean(0).abs().max() < 0.21 and (x_T.std(0) - 1).abs().max() < 0.15
    # reverse end: back on the ring: radius distribution like the data's (ring radius 2, mode std 0.2)
    r_data, r_samples = x0.norm(dim=1), samples.norm(dim=1)
    assert abs(float(r_samples.mean() - r_data.mean())) < 0.08
    assert abs(float(r_samples.std() - r_data.std())) < 0.06
    assert len(fig.axes) == 10


# ---- kernels over IPC (jupyter-config/jupyter_config.py) ----------------------------------------

def _jupyter_config(name: str = "jupyter_config.py"):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(name, path=str(ROOT / "jupyter-config")).load_config()


def _transport_module():
    spec = importlib.util.spec_from_file_location("dl_jupyter_config", ROOT / "jupyter-config" / "jupyter_config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)   # imported, not read by traitlets: defines, configures nothing
    return module


@pytest.mark.skipif(sys.platform == "win32", reason="IPC transport is for Linux and macOS")
def test_class_config_runs_kernels_over_ipc(monkeypatch):
    import tempfile
    runtime = tempfile.mkdtemp(prefix="dl-rt-")      # short: a pytest tmp_path may be too long for sockets
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", runtime)
    assert _jupyter_config()["KernelManager"]["transport"] == "ipc"
    # Voila reads voila.py only; it loads the same file
    assert _jupyter_config("voila.py")["KernelManager"]["transport"] == "ipc"
    Path(runtime).rmdir()


def test_class_config_keeps_tcp_on_windows(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setattr(sys, "platform", "win32")
    assert "transport" not in _jupyter_config()["KernelManager"]      # jupyter_client's default: tcp
    assert _transport_module().ipc_unavailable_reason(str(tmp_path), platform="win32") == "Windows: kernels use TCP"


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket paths and modes")
def test_ipc_is_refused_for_too_long_socket_paths_and_the_runtime_dir_made_private(monkeypatch, capsys):
    mod = _transport_module()
    longest = mod.SOCKET_PATH_MAX - mod.SOCKET_NAME_LEN          # runtime dir length that still fits
    fits = "/" + "r" * (longest - 1)
    assert mod.ipc_unavailable_reason(fits) is None
    reason = mod.ipc_unavailable_reason(fits + "x")
    assert "too long for Unix socket paths" in reason and "JUPYTER_RUNTIME_DIR" in reason
    # a socket path that long is really refused by the OS (so the check is needed, and right)
    import socket
    with socket.socket(socket.AF_UNIX) as s, pytest.raises(OSError):
        s.bind("/tmp/" + "x" * (mod.SOCKET_PATH_MAX + 1 - len("/tmp/")))
    # the config falls back to TCP and says why
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", fits + "x")
    assert "transport" not in _jupyter_config()["KernelManager"]
    assert "kernels use TCP: the Jupyter runtime directory" in capsys.readouterr().err
    # a runtime dir others can enter is made private, as Jupyter creates it (0700)
    import tempfile
    open_dir = Path(tempfile.mkdtemp(prefix="dl-rt-"))
    open_dir.chmod(0o755)
    try:
        assert mod.ipc_unavailable_reason(str(open_dir)) is None
        assert open_dir.stat().st_mode & 0o777 == 0o700
    finally:
        open_dir.rmdir()


@pytest.mark.skipif(sys.platform == "win32", reason="IPC transport is for Linux and macOS")
def test_the_site_build_runs_its_kernel_over_ipc_in_a_private_folder(tmp_path, capfd):
    bs = _load("build_site")
    probe = ("import os, ipykernel.connect as c\n"
             "info = c.get_connection_info(unpack=True)\n"
             "folder = os.path.dirname(c.get_connection_file())\n"
             "print(info['transport'], oct(os.stat(folder).st_mode & 0o777), info['ip'].startswith(folder))")
    nb = new_notebook(cells=[new_code_cell(probe)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    bs.execute(nb, cwd=tmp_path, timeout=60)
    assert nb.cells[0].outputs[0]["text"].split() == ["ipc", "0o700", "True"]
    assert "without encryption" not in capfd.readouterr().err


# ---- JupyterHub: the one-machine config and the Kubernetes values make the same choices -----------

def _hub_config(tmp_path, monkeypatch, **env):
    from traitlets.config.loader import PyFileConfigLoader

    for key in [k for k in os.environ if k.startswith("DL_HUB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DL_HUB_STATE", str(tmp_path / "state"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "deploy" / "jupyterhub")).load_config()


def test_hub_config_for_a_class(tmp_path, monkeypatch):
    c = _hub_config(tmp_path, monkeypatch)
    assert c.JupyterHub.authenticator_class == "shared-password"        # not the dummy authenticator
    password = (tmp_path / "state" / "password").read_text().strip()
    assert c.SharedPasswordAuthenticator.user_password == password and len(password) >= 8
    assert (tmp_path / "state" / "password").stat().st_mode & 0o077 == 0
    assert (tmp_path / "state").stat().st_mode & 0o077 == 0
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.hub_ip == "127.0.0.1" and c.Spawner.ip == "127.0.0.1"
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")
    # the course's environment and settings for every student
    assert Path(c.Spawner.cmd[0]).parent == Path(sys.executable).parent
    assert c.Spawner.environment["JUPYTER_CONFIG_PATH"] == str(ROOT / "jupyter-config")
    assert c.Spawner.environment["OMP_NUM_THREADS"] == "1"
    # the idle culler runs as a service with just the rights it needs
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert "--timeout=3600" in culler["command"] and "jupyterhub_idle_culler" in culler["command"]
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "idle-culler")
    assert set(role["scopes"]) == {"list:users", "read:users:activity", "read:servers", "delete:servers"}
    assert c.JupyterHub.spawner_class == "simple"                       # trial: no user switching


def test_hub_config_other_spawners_and_bad_settings(tmp_path, monkeypatch):
    assert _hub_config(tmp_path, monkeypatch, DL_HUB_SPAWNER="local").JupyterHub.spawner_class == "localprocess"
    c = _hub_config(tmp_path, monkeypatch, DL_HUB_SPAWNER="systemd", DL_HUB_CPU_LIMIT="1.5")
    assert c.SystemdSpawner.mem_limit == "2G" and c.SystemdSpawner.cpu_limit == 1.5
    with pytest.raises(SystemExit, match="DL_HUB_CPU_LIMIT='one' is not a number"):
        _hub_config(tmp_path, monkeypatch, DL_HUB_SPAWNER="systemd", DL_HUB_CPU_LIMIT="one")
    with pytest.raises(SystemExit, match="use trial, local or systemd"):
        _hub_config(tmp_path, monkeypatch, DL_HUB_SPAWNER="docker")
    with pytest.raises(SystemExit, match="DL_HUB_CULL_TIMEOUT='soon' is not a whole number"):
        _hub_config(tmp_path, monkeypatch, DL_HUB_CULL_TIMEOUT="soon")
    leaky = tmp_path / "leaky"
    leaky.write_text("secret-password\n")
    leaky.chmod(0o644)
    with pytest.raises(SystemExit, match="chmod 600"):
        _hub_config(tmp_path, monkeypatch, DL_HUB_PASSWORD_FILE=str(leaky))


def test_kubernetes_values_make_the_same_choices_as_the_one_machine_hub(tmp_path, monkeypatch):
    yaml = pytest.importorskip("yaml")
    values = yaml.safe_load((ROOT / "deploy" / "z2jh" / "values.yaml").read_text())
    c = _hub_config(tmp_path, monkeypatch)
    hub = values["hub"]["config"]
    assert hub["JupyterHub"]["authenticator_class"] == c.JupyterHub.authenticator_class
    assert hub["Authenticator"]["username_pattern"] == c.Authenticator.username_pattern
    assert hub["KubeSpawner"]["args"] == [a for a in c.Spawner.args if a.startswith("--MappingKernelManager")]
    assert "user_password" not in str(hub.get("SharedPasswordAuthenticator", {})), "never commit the password"
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")["command"]
    assert f"--timeout={values['cull']['timeout']}" in culler and f"--cull-every={values['cull']['every']}" in culler
    single = values["singleuser"]
    assert single["defaultUrl"] == c.Spawner.default_url
    assert {k: single["extraEnv"][k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")} == \
        {k: c.Spawner.environment[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    # nbgitpuller goes into the image at the version the one-machine hub pins
    pins = (ROOT / "deploy" / "jupyterhub" / "requirements.txt").read_text()
    nbgitpuller = next(line for line in pins.splitlines() if line.startswith("nbgitpuller=="))
    assert nbgitpuller in (ROOT / "deploy" / "z2jh" / "values.yaml").read_text()


def test_readme_captions_quote_the_stored_protocol_results():
    """The MNIST caption of both READMEs quotes benchmarks/results/heldout_mnist.json (the evaluation protocol:
    mean ± sd between draws) and says that its references were in the U-Net's training set."""
    record = json.loads((ROOT / "benchmarks" / "results" / "heldout_mnist.json").read_text(encoding="utf-8"))
    by_w = {g["w"]: g for g in record["generators"]}
    real = record["real"]
    quoted = [f"{by_w[0.0]['fid_mean']:.0f} ± {by_w[0.0]['fid_sd']:.0f}",
              f"{by_w[1.0]['fid_mean']:.0f} ± {by_w[1.0]['fid_sd']:.0f}",
              f"{real['fid_real_mean']:.1f} ± {real['fid_real_sd']:.1f}",
              f"{100 * by_w[1.0]['accuracy_mean']:.0f} %"]
    assert by_w[0.0]["references_in_training_set"]
    for name, in_training in (("README.md", "were in its training set"), ("README.zh-CN.md", "在它的训练集里")):
        text = (ROOT / name).read_text(encoding="utf-8")
        for q in quoted:
            assert q in text, (name, q)
        assert in_training in text and "19.8" not in text, name
