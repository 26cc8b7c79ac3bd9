"""The four places that describe the course's environment must agree.

- requirements.txt   exact pins of every direct dependency (what `make` installs)
- pyproject.toml     the package's dependencies (+ `test` extra) and Python version
- environment.yml    the same pins with conda-forge names (Binder, JupyterHub, conda users)
- postBuild          repo2docker's last step: install the package itself

Names differ between PyPI and conda-forge only where CONDA_NAME says so.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# PyPI name -> conda-forge name, where they differ.
#   torch      -> pytorch         (conda-forge's package; the CPU build is chosen by build string)
#   matplotlib -> matplotlib-base (the same library without the Qt backend, the usual choice)
CONDA_NAME = {"torch": "pytorch", "matplotlib": "matplotlib-base"}
PIP_NAME = {conda: pip for pip, conda in CONDA_NAME.items()}
# In the pyproject `test` extra but deliberately not pinned in requirements.txt/environment.yml:
# only the browser (e2e) tests need it, together with a Chromium build.
BROWSER_ONLY = {"playwright"}
# conda-forge packages with no PyPI counterpart: system files the course needs, pinned here and
# installed from Debian by .ci/run (the Chinese edition's figure font: apt fonts-noto-cjk).
SYSTEM_ONLY = {"font-ttf-noto-cjk": "2.004"}
APT_FOR_SYSTEM_ONLY = {"font-ttf-noto-cjk": "fonts-noto-cjk"}
# conda-forge packages that must be the CPU build (no CUDA download on Binder/JupyterHub).
CPU_BUILD = {"pytorch", "torchvision"}
PYTHON = "3.11"


# ---------------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------------
def canonical(name: str) -> str:
    """PEP 503 normalised name: 'Scikit_Learn' -> 'scikit-learn'."""
    return re.sub(r"[-_.]+", "-", name).lower()


_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:(==|>=|<=|~=|!=|>|<)\s*([^\s;,#]+))?")


def parse_requirement(spec: str) -> tuple[str, str | None, str | None]:
    """'torch==2.14.1' -> ('torch', '==', '2.14.1');  'numpy' -> ('numpy', None, None)."""
    m = _REQ.match(spec)
    if not m:
        raise ValueError(f"cannot parse requirement {spec!r}")
    return canonical(m.group(1)), m.group(2), m.group(3)


def parse_requirements_txt(text: str) -> dict[str, str]:
    """{name: version} of a requirements file; raises ValueError on anything but `name==version`."""
    pins: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, op, version = parse_requirement(line)
        if op != "==":
            raise ValueError(f"requirements.txt line {n}: {raw.strip()!r} is not an exact `name==version` pin")
        if name in pins:
            raise ValueError(f"requirements.txt line {n}: {name} is listed twice")
        pins[name] = version
    return pins


def mini_yaml(text: str) -> dict:
    """Parse the small YAML subset environment.yml uses (used when PyYAML is not installed):
    `key: value`, `key:` followed by a `- item` list, and `- key:` followed by a nested list."""
    root: dict = {}
    current: list | None = None       # the list under the last `key:`
    nested: list | None = None        # the list under the last `- key:`
    nested_indent = -1
    for raw in text.splitlines():
        line = re.sub(r"\s+#.*$", "", raw).rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if indent == 0:
            key, _, value = body.partition(":")
            value = value.strip()
            if value:
                root[key.strip()] = value
                current = None
            else:
                current = root[key.strip()] = []
            nested = None
            continue
        if not body.startswith("- ") or current is None:
            raise ValueError(f"mini_yaml cannot parse line {raw!r}")
        item = body[2:].strip()
        if nested is not None and indent > nested_indent:
            nested.append(item)
        elif item.endswith(":"):
            nested = []
            nested_indent = indent
            current.append({item[:-1].strip(): nested})
        else:
            nested = None
            current.append(item)
    return root


def load_yaml(text: str) -> dict:
    try:
        import yaml
    except ImportError:
        return mini_yaml(text)
    return yaml.safe_load(text)


def conda_pins(env: dict) -> tuple[dict[str, tuple[str | None, str | None]], list[str]]:
    """environment.yml dependencies as {PyPI name: (version, build)}, plus its pip: entries.
    'python' is kept under its own name."""
    pins: dict[str, tuple[str | None, str | None]] = {}
    pip: list[str] = []
    for dep in env.get("dependencies") or []:
        if isinstance(dep, dict):
            pip.extend(dep.get("pip") or [])
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)\s*(?:(?:==?)\s*([^=\s]+)(?:=(\S+))?)?", str(dep).strip())
        if not m:
            raise ValueError(f"environment.yml: cannot parse dependency {dep!r}")
        name = canonical(m.group(1))
        pins[PIP_NAME.get(name, name)] = (m.group(2), m.group(3))
    return pins, pip


def parse_pyproject(text: str) -> dict:
    return tomllib.loads(text)


# ---------------------------------------------------------------------------------------------
# comparisons (return a list of human-readable problems; empty = agree)
# ---------------------------------------------------------------------------------------------
def compare_requirements_with_pyproject(req: dict[str, str], pyproject: dict) -> list[str]:
    project = pyproject["project"]
    wanted: dict[str, tuple[str | None, str | None]] = {}
    for spec in project.get("dependencies", []):
        name, op, version = parse_requirement(spec)
        wanted[name] = (op, version)
    for spec in project.get("optional-dependencies", {}).get("test", []):
        name, op, version = parse_requirement(spec)
        if name not in BROWSER_ONLY:
            wanted[name] = (op, version)
    problems = []
    for name in sorted(set(wanted) - set(req)):
        problems.append(f"{name}: in pyproject.toml but not pinned in requirements.txt")
    for name in sorted(set(req) - set(wanted)):
        problems.append(f"{name}: pinned in requirements.txt but not a dependency in pyproject.toml")
    for name in sorted(set(wanted) & set(req)):
        op, version = wanted[name]
        if op == "==" and version != req[name]:
            problems.append(f"{name}: pyproject.toml pins {version}, requirements.txt {req[name]}")
        elif op is not None and op != "==":
            problems.append(f"{name}: pyproject.toml uses {op}{version}; pin exactly (==) or leave open")
    return problems


def compare_requirements_with_conda(req: dict[str, str], env: dict) -> list[str]:
    problems = []
    channels = env.get("channels") or []
    if [c for c in channels if c != "nodefaults"] != ["conda-forge"]:
        problems.append(f"channels are {channels}; use conda-forge only (plus nodefaults)")
    if "nodefaults" not in channels:
        problems.append("channels lack nodefaults: the defaults channel could mix in")
    pins, pip = conda_pins(env)
    pip_pins = {}
    for spec in pip:
        name, op, version = parse_requirement(spec)
        pip_pins[name] = version
        if op != "==":
            problems.append(f"environment.yml pip: {spec!r} is not an exact pin")
    for dep in env.get("dependencies") or []:
        if not isinstance(dep, str):
            continue
        name = canonical(re.split(r"[=<>!~\s]", dep.strip())[0])
        if "::" in dep:
            problems.append(f"environment.yml: {dep!r} names a channel; use conda-forge only")
        elif name in CONDA_NAME:
            problems.append(f"environment.yml: {dep!r} uses the PyPI name; "
                            f"use the conda-forge name {CONDA_NAME[name]}")
    python = pins.pop("python", (None, None))[0]
    if python != PYTHON:
        problems.append(f"environment.yml has python={python}, expected python={PYTHON}")
    pins.pop("pip", None)  # pip itself, needed by postBuild
    for name, version in SYSTEM_ONLY.items():
        got = pins.pop(name, (None, None))[0]
        if got != version:
            problems.append(f"environment.yml: {name}={version} missing (has {got}): the Chinese edition's font")
    both = set(pins) & set(pip_pins)
    for name in sorted(both):
        problems.append(f"{name}: listed both as a conda package and under pip:")
    have = {name: v for name, (v, _) in pins.items()} | pip_pins
    for name in sorted(set(req) - set(have)):
        problems.append(f"{name}: pinned in requirements.txt but missing from environment.yml "
                        f"(conda-forge name {CONDA_NAME.get(name, name)})")
    for name in sorted(set(have) - set(req)):
        problems.append(f"{name}: in environment.yml but not in requirements.txt")
    for name in sorted(set(have) & set(req)):
        if have[name] != req[name]:
            problems.append(f"{name}: environment.yml has {have[name]}, requirements.txt {req[name]}")
    for name, (_, build) in pins.items():
        conda = CONDA_NAME.get(name, name)
        if conda in CPU_BUILD and not (build or "").startswith("cpu"):
            problems.append(f"{conda}: build {build!r}; pin the CPU build, e.g. {conda}=VERSION=cpu_*")
    return problems


def check_postbuild(text: str) -> list[str]:
    lines = [ln.strip() for ln in text.splitlines()]
    problems = []
    if not lines or lines[0] not in ("#!/bin/bash", "#!/usr/bin/env bash"):
        problems.append("postBuild must start with #!/bin/bash")
    if not any(re.fullmatch(r"set -[a-z]*e[a-z]*( -o \w+)*", ln) for ln in lines):
        problems.append("postBuild lacks `set -e`: a failed step would go unnoticed")
    if not any(re.fullmatch(r"(python -m )?pip install (--no-deps -e|-e) \.(\s.*)?", ln) and "--no-deps" in ln
               for ln in lines):
        problems.append("postBuild does not `pip install --no-deps -e .` the package")
    return problems


# ---------------------------------------------------------------------------------------------
# the project's files
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def req() -> dict[str, str]:
    return parse_requirements_txt((ROOT / "requirements.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return parse_pyproject((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def env() -> dict:
    return load_yaml((ROOT / "environment.yml").read_text(encoding="utf-8"))


def test_requirements_pin_torch_pair(req):
    assert req["torch"] == "2.14.1"
    assert req["torchvision"] == "0.29.1"


def test_requirements_agree_with_pyproject(req, pyproject):
    assert compare_requirements_with_pyproject(req, pyproject) == []


def test_environment_yml_agrees_with_requirements(req, env):
    assert compare_requirements_with_conda(req, env) == []


def test_python_version_everywhere(pyproject, env):
    assert pyproject["project"]["requires-python"] == f">={PYTHON}"
    assert conda_pins(env)[0]["python"][0] == PYTHON


def test_package_layout(pyproject):
    assert pyproject["project"]["name"] == "diffusion-lab"
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    assert "diffusion_lab" in find["include"] and "diffusion_lab.*" in find["include"]


def test_postbuild_installs_package():
    path = ROOT / "postBuild"
    assert check_postbuild(path.read_text(encoding="utf-8")) == []
    assert os.access(path, os.X_OK), "postBuild must be executable (chmod +x postBuild)"


def test_postbuild_runs_and_installs_the_class_config(tmp_path):
    """Run postBuild with stub pip/jupyter/python on PATH: each step runs, the server config lands."""
    import shutil
    import subprocess

    bin_dir, prefix, log = tmp_path / "bin", tmp_path / "prefix", tmp_path / "calls.log"
    bin_dir.mkdir()
    stubs = {"pip": f'echo "pip $*" >> "{log}"', "jupyter": f'echo "jupyter $*" >> "{log}"',
             "python": f'echo "{prefix}"'}
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "jupyter-config", work / "jupyter-config")
    shutil.copy(ROOT / "postBuild", work / "postBuild")
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(tmp_path)}
    subprocess.run(["bash", "postBuild"], cwd=work, env=env, check=True, timeout=60)
    calls = log.read_text().splitlines()
    assert calls == ["pip install --no-deps -e .",
                     "jupyter labextension disable @jupyterlab/apputils-extension:announcements"]
    installed = prefix / "etc" / "jupyter" / "jupyter_server_config.d" / "diffusion_lab.json"
    project_config = ROOT / "jupyter-config" / "jupyter_server_config.json"
    assert json.loads(installed.read_text()) == json.loads(project_config.read_text())
    assert json.loads(installed.read_text())["LabApp"]["news_url"] is None


def test_installed_versions_match_requirements(req):
    """The environment running the tests is the one requirements.txt describes."""
    wrong = {}
    for name, pinned in req.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wrong[name] = (pinned, "not installed")
            continue
        if installed.split("+")[0] != pinned:  # '2.14.1+cu130' is torch 2.14.1
            wrong[name] = (pinned, installed)
    assert wrong == {}, f"pinned vs installed: {wrong}; run `make venv` (or update requirements.txt)"


def test_makefile_keeps_token_auth_and_localhost():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    course = text.split("\ncourse:", 1)[1].split("\n\n", 1)[0]
    assert "--ServerApp.ip=127.0.0.1" in course
    assert "--ServerApp.root_dir=notebooks" in course
    assert not re.search(r"token\s*=\s*['\"]{2}|IdentityProvider\.token|disable_check_xsrf|password", course)
    page = ROOT / "jupyter-config" / "labconfig" / "page_config.json"
    assert "@jupyterlab/apputils-extension:announcements" in page.read_text(encoding="utf-8")


def test_ci_runs_make_test():
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    assert re.search(r"^make test\b", text, re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# the checks themselves can fail
# ---------------------------------------------------------------------------------------------
GOOD_ENV = """\
name: demo
channels:
  - conda-forge
  - nodefaults
dependencies:
  - python=3.11
  - pip
  - pytorch=2.14.1=cpu_*   # CPU build
  - matplotlib-base=3.11.2
  - font-ttf-noto-cjk=2.004
  - pip:
      - nbval==0.11.0
"""
GOOD_REQ = {"torch": "2.14.1", "matplotlib": "3.11.2", "nbval": "0.11.0"}


def test_mini_yaml_reads_the_subset():
    env = mini_yaml(GOOD_ENV)
    assert env["name"] == "demo"
    assert env["channels"] == ["conda-forge", "nodefaults"]
    assert env["dependencies"][-1] == {"pip": ["nbval==0.11.0"]}
    assert env["dependencies"][2] == "pytorch=2.14.1=cpu_*"


def test_mini_yaml_agrees_with_pyyaml_on_environment_yml():
    yaml = pytest.importorskip("yaml")
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert mini_yaml(text) == yaml.safe_load(text)


def test_matching_example_passes():
    assert compare_requirements_with_conda(GOOD_REQ, mini_yaml(GOOD_ENV)) == []


@pytest.mark.parametrize(
    "edit, expected",
    [
        (("matplotlib-base=3.11.2", "matplotlib-base=3.10.0"), "matplotlib: environment.yml has 3.10.0"),
        (("  - matplotlib-base=3.11.2\n", ""), "matplotlib: pinned in requirements.txt but missing"),
        (("  - pip:\n", "  - scipy=1.17.1\n  - pip:\n"), "scipy: in environment.yml but not in requirements"),
        (("pytorch=2.14.1=cpu_*", "pytorch=2.14.1"), "pytorch: build None"),
        (("pytorch=2.14.1=cpu_*", "torch=2.14.1=cpu_*"), "use the conda-forge name pytorch"),
        (("  - conda-forge\n", "  - conda-forge\n  - pytorch\n"), "use conda-forge only"),
        (("  - nodefaults\n", ""), "lack nodefaults"),
        (("python=3.11", "python=3.12"), "python=3.12, expected python=3.11"),
        (("nbval==0.11.0", "nbval>=0.11"), "not an exact pin"),
        (("  - font-ttf-noto-cjk=2.004\n", ""), "font-ttf-noto-cjk=2.004 missing"),
    ],
)
def test_mismatched_environment_is_reported(edit, expected):
    old, new = edit
    assert old in GOOD_ENV
    problems = compare_requirements_with_conda(GOOD_REQ, mini_yaml(GOOD_ENV.replace(old, new)))
    assert any(expected in p for p in problems), problems


def test_mismatched_pyproject_is_reported():
    pyproject = {"project": {
        "dependencies": ["torch==2.13.0", "numpy", "tqdm>=4"],
        "optional-dependencies": {"test": ["pytest", "playwright"]},
    }}
    problems = compare_requirements_with_pyproject({"torch": "2.14.1", "numpy": "2.4.6", "scipy": "1.17.1"},
                                                   pyproject)
    assert "torch: pyproject.toml pins 2.13.0, requirements.txt 2.14.1" in problems
    assert "pytest: in pyproject.toml but not pinned in requirements.txt" in problems
    assert "scipy: pinned in requirements.txt but not a dependency in pyproject.toml" in problems
    assert any(p.startswith("tqdm:") for p in problems)
    assert not any("playwright" in p for p in problems)


def test_requirements_reject_loose_pins():
    assert parse_requirements_txt("# c\nTorch==2.14.1  # x\nscikit_learn==1.9.1\n") == {
        "torch": "2.14.1", "scikit-learn": "1.9.1"}
    with pytest.raises(ValueError, match="not an exact"):
        parse_requirements_txt("numpy>=2\n")
    with pytest.raises(ValueError, match="twice"):
        parse_requirements_txt("numpy==2.4.6\nNumPy==2.4.6\n")


def test_bad_postbuild_is_reported():
    assert check_postbuild("#!/bin/bash\nset -e\npip install --no-deps -e .\n") == []
    problems = check_postbuild("#!/bin/sh\npip install -e .\n")
    assert len(problems) == 3, problems


def test_ci_installs_the_system_packages_conda_users_get():
    """What environment.yml gives conda users without a PyPI wheel (a CJK font), .ci/run installs by apt."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    start = ci.index("APT_PACKAGES=(")
    apt_block = ci[start:re.compile(r"^\)", re.M).search(ci, start).start()]
    for conda, apt in APT_FOR_SYSTEM_ONLY.items():
        assert re.search(rf"^\s*{re.escape(apt)}\b", apt_block, re.M), f".ci/run must apt-install {apt} ({conda})"
