"""The course's JupyterHub (deploy/jupyterhub/) in a real browser: a class of three on one machine.

One hub from the project's config (shared password, trial spawner: every server runs as this unix
user with its own home in a temp folder; idle culler with a short timeout) on free 127.0.0.1
ports. In headless Chromium three students follow the nbgitpuller link (the repository is a local
git copy of the working tree, course_hub.snapshot_repository), log in, land in chapter 00 and run
chapter 01 to the end at the same time, with no error cell and a slider that moves its figure.
Then: each has their own copy; a student's edit survives a second click on the link while an
upstream commit arrives (nbgitpuller's merge); a wrong password is refused; the kernels run over
IPC and nothing listens beyond 127.0.0.1; an idle server is culled; and the hub and every process
it started are stopped at the end (also when the test fails: the fixture stops them).
Needs JupyterHub + configurable-http-proxy (`make hub` or .ci/run install them); skips otherwise.
"""
from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from e2e_support import ROOT
from test_browser import (DOM_ERRORS, FIND_MAIN_SLIDER, open_chapter, press_and_measure, run_all_from_menu,
                          wait_until_done)

pytestmark = pytest.mark.e2e

STUDENTS = ("ada", "bea", "cem")
IDLE_USER = "idle"
PASSWORD = "class-of-diffusion"
CULL_TIMEOUT_S = 45       # the test's short idle timeout; students stay active well within it
CULL_EVERY_S = 5
CHAPTER_00 = "00_welcome.ipynb"
CHAPTER_01 = "01_diffusion_1d.ipynb"
HUB_DIR = ROOT / "deploy" / "jupyterhub"
CHP = Path(sys.executable).parent.parent / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"


def _course_hub():
    spec = importlib.util.spec_from_file_location("course_hub", HUB_DIR / "course_hub.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("course_hub", module)
    spec.loader.exec_module(module)
    return sys.modules["course_hub"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory, playwright_browser):
    if importlib.util.find_spec("jupyterhub") is None or importlib.util.find_spec("nbgitpuller") is None:
        pytest.skip("JupyterHub/nbgitpuller not installed (make hub installs deploy/jupyterhub/requirements.txt)")
    if not CHP.exists() and shutil.which("configurable-http-proxy") is None:
        pytest.skip("configurable-http-proxy not installed (make hub installs it into .venv/chp)")
    tmp = tmp_path_factory.mktemp("hub")
    password_file = tmp / "password"
    password_file.touch(mode=0o600)
    password_file.write_text(PASSWORD)
    ch = _course_hub()
    the_hub = ch.Hub(tmp, {"DL_HUB_PASSWORD_FILE": str(password_file), "DL_HUB_CULL_TIMEOUT": str(CULL_TIMEOUT_S),
                           "DL_HUB_CULL_EVERY": str(CULL_EVERY_S)},
                      # the page helpers of test_browser read the notebook through window.jupyterapp
                      extra_config="c.Spawner.args.append('--LabApp.expose_app_in_browser=True')\n")
    the_hub.repo = ch.snapshot_repository(tmp / "course-repo")
    the_hub.link = ch.gitpuller_link(the_hub.url, str(the_hub.repo), "main")
    the_hub.homes = tmp / "hub" / "homes"
    try:
        the_hub.start()
        yield the_hub
    finally:
        leftovers = the_hub.stop()
        if leftovers:
            print(f"\nhub: ended {len(leftovers)} process(es) the hub left behind: {leftovers}")


# ---- browser steps ---------------------------------------------------------------------------------

def _log_in(page, name: str, password: str) -> None:
    page.wait_for_selector("#login_submit", timeout=60_000)
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("#login_submit", no_wait_after=True)


CURRENT_PATH = "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;" \
               " return w && w.context ? w.context.path : null; }"


def _wait_in_lab_at(page, name: str, chapter: str, timeout_s: float = 180) -> None:
    """Wait until the student's JupyterLab shows ``chapter`` of their clone."""
    pattern = re.compile(rf"/user/{name}/lab/tree/diffusion_lab/notebooks/{re.escape(chapter)}")
    page.wait_for_url(pattern, timeout=timeout_s * 1000, wait_until="domcontentloaded")
    page.wait_for_function(f"() => ({CURRENT_PATH})() === 'diffusion_lab/notebooks/{chapter}'",
                           timeout=timeout_s * 1000)


def _notebook_text(page, path: str) -> str:
    return page.evaluate("""async (path) => {
        const m = await window.jupyterapp.serviceManager.contents.get(path, {content: true});
        return JSON.stringify(m.content); }""", path)


ADD_NOTE = """async ([path, note]) => {
    const contents = window.jupyterapp.serviceManager.contents;
    const m = await contents.get(path, {content: true});
    m.content.cells.push({cell_type: 'markdown', metadata: {}, source: note});
    await contents.save(path, {type: 'notebook', format: 'json', content: m.content});
}"""


def _kernel_connection_files(hub) -> list[Path]:
    files = []
    for p in hub.processes():
        try:
            cmd = p.cmdline()
        except Exception:
            continue
        if any("ipykernel_launcher" in part for part in cmd) and "-f" in cmd:
            files.append(Path(cmd[cmd.index("-f") + 1]))
    return files


def _environ(process) -> dict:
    try:
        return process.environ()
    except Exception:          # gone meanwhile, or a zombie
        return {}


def _listening(hub) -> list[tuple[str, int, str]]:
    """(address, port, process name) of every TCP/UDP socket listening in the hub's processes."""
    import psutil

    out = []
    for p in hub.processes():
        try:
            conns = p.net_connections(kind="inet")
            name = p.name()
        except Exception:
            continue
        out += [(c.laddr.ip, c.laddr.port, name) for c in conns
                if c.status == psutil.CONN_LISTEN or c.type == socket.SOCK_DGRAM]
    return out


# ---- the test ----------------------------------------------------------------------------------------

def test_a_class_of_three_on_the_hub(hub, playwright_browser, screenshots_dir, e2e_report):
    start = time.perf_counter()
    timings = {}
    # an idle student: server started (through the REST API), never used: the culler must stop it
    hub.request_spawn(IDLE_USER)

    contexts = {n: playwright_browser.new_context(viewport={"width": 1300, "height": 950}) for n in STUDENTS}
    pages = {n: contexts[n].new_page() for n in STUDENTS}
    try:
        # a wrong password is refused (and makes no user)
        page = pages[STUDENTS[0]]
        page.goto(hub.link, wait_until="domcontentloaded")
        assert "/hub/login" in page.url, f"the link should ask for a log-in first, went to {page.url}"
        _log_in(page, STUDENTS[0], PASSWORD + "-wrong")
        page.wait_for_selector(".login_error", timeout=30_000)
        assert "Invalid" in page.locator(".login_error").inner_text()
        assert "/hub/login" in page.url and hub.user(STUDENTS[0]) is None

        # three students log in at once; the link clones the course and opens chapter 00
        for name in STUDENTS:
            if name != STUDENTS[0]:
                pages[name].goto(hub.link, wait_until="domcontentloaded")
            _log_in(pages[name], name, PASSWORD)
        for name in STUDENTS:
            _wait_in_lab_at(pages[name], name, CHAPTER_00)
        timings["all_in_chapter_00_s"] = round(time.perf_counter() - start, 1)
        pages[STUDENTS[0]].screenshot(path=str(screenshots_dir / "hub_chapter_00.png"))

        # ... and run chapter 01 to the end, all three at the same time
        for name in STUDENTS:
            open_chapter(pages[name], SimpleNamespace(base=f"{hub.url}/user/{name}", token=""),
                         f"diffusion_lab/notebooks/{CHAPTER_01}")
            run_all_from_menu(pages[name])
        for name in STUDENTS:
            wait_until_done(pages[name], f"hub {name} {CHAPTER_01}")
        timings["chapter_01_run_by_all_s"] = round(time.perf_counter() - start, 1)
        for name in STUDENTS:
            page = pages[name]
            page.wait_for_timeout(500)
            assert page.evaluate(DOM_ERRORS) == [], f"{name}: error shown in chapter 01"
            found = page.evaluate(FIND_MAIN_SLIDER)
            assert found["found"], f"{name}: no slider next to a figure in chapter 01"
            press_and_measure(page, page.locator("[data-e2e=figure]"), page.locator("[data-e2e=handle]"),
                              screenshots_dir, f"hub_{name}_01", presses=2)
        pages[STUDENTS[-1]].screenshot(path=str(screenshots_dir / "hub_chapter_01.png"))

        # kernels over IPC; nothing of the hub's listens beyond loopback
        connection_files = _kernel_connection_files(hub)
        assert len(connection_files) >= len(STUDENTS), f"expected a kernel per student: {connection_files}"
        for path in connection_files:
            info = json.loads(path.read_text())
            assert info["transport"] == "ipc", f"{path}: kernel transport {info['transport']}"
        listening = _listening(hub)
        assert listening, "found no listening socket of the hub at all"
        outside = [s for s in listening if not ipaddress.ip_address(s[0]).is_loopback]
        assert outside == [], f"listening beyond 127.0.0.1: {outside}"
        assert "without encryption" not in hub.log_tail(10**7)

        # each student has their own copy
        clones = {n: hub.homes / n / "diffusion_lab" for n in STUDENTS}
        for name, clone in clones.items():
            assert (clone / ".git").is_dir() and (clone / "notebooks" / CHAPTER_01).is_file(), name
        assert len({c.resolve() for c in clones.values()}) == len(STUDENTS)

        # a student's edit survives a second click on the link, which brings an upstream commit too
        first, other = STUDENTS[0], STUDENTS[1]
        note = f"My own note, written by {first}."
        pages[first].evaluate(ADD_NOTE, [f"diffusion_lab/notebooks/{CHAPTER_00}", note])
        readme = hub.repo / "README.md"
        readme.write_text(readme.read_text() + "\nUpdated after the first class.\n")
        _course_hub().git(hub.repo, "commit", "-q", "-am", "upstream: a change after the first class")
        pages[first].goto(hub.link, wait_until="domcontentloaded")
        _wait_in_lab_at(pages[first], first, CHAPTER_00)
        assert note in _notebook_text(pages[first], f"diffusion_lab/notebooks/{CHAPTER_00}")
        assert "Updated after the first class." in (clones[first] / "README.md").read_text()
        assert note not in (clones[other] / "notebooks" / CHAPTER_00).read_text()
        pages[first].screenshot(path=str(screenshots_dir / "hub_second_click.png"))
        timings["second_click_s"] = round(time.perf_counter() - start, 1)
    finally:
        for context in contexts.values():
            context.close()

    # the idle student's server is culled (timeout CULL_TIMEOUT_S), and its process is gone
    deadline = time.time() + CULL_TIMEOUT_S + 6 * CULL_EVERY_S
    while hub.user(IDLE_USER)["servers"] and time.time() < deadline:
        time.sleep(1)
    assert f"Culling server {IDLE_USER} " in hub.log_tail(10**7), f"the idle server was not culled:\n{hub.log_tail()}"
    assert hub.user(IDLE_USER)["servers"] == {}
    assert [p for p in hub.processes() if _environ(p).get("JUPYTERHUB_USER") == IDLE_USER] == [], \
        "the culled server (or its kernel) still runs"
    assert all(hub.user(n)["servers"] for n in STUDENTS), "an active student's server was culled"
    timings["idle_server_culled_s"] = round(time.perf_counter() - start, 1)

    # stopping the hub stops every process it started
    assert len(hub.processes()) > 1
    leftovers = hub.stop()
    assert hub.processes() == [] and leftovers == [], f"processes left after the hub stopped: {leftovers}"
    timings["total_s"] = round(time.perf_counter() - start, 1)
    e2e_report["hub_class_of_three"] = timings
    print(f"\nhub: {timings}")
