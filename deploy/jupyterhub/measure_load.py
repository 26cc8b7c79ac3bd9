#!/usr/bin/env python3
"""How many students does one machine hold? Run a chapter for 1, 2, 4, 8 students at once on the hub.

    .venv/bin/python deploy/jupyterhub/measure_load.py                       # 04_eps_training, 1 2 4 8
    .venv/bin/python deploy/jupyterhub/measure_load.py --students 1 2 --chapter 01_diffusion_1d.ipynb

One JupyterHub from deploy/jupyterhub/jupyterhub_config.py (trial spawner, on 127.0.0.1, in a temp
folder) serves the students. Each student's server is started through the hub's REST API and gets
the course through nbgitpuller (its /git-pull/api, what the link does), as in class. Then, for each
class size N, N students run every code cell of the chapter at the same time, each in a fresh kernel
of their own server, driven over the server's kernel websocket (the browser's path, minus the
browser; widgets are created but nobody draws them). Measured per student: seconds from the first
cell to the last reply; peak RSS of the user server's process tree (jupyterhub-singleuser + kernel;
RSS counts shared torch libraries in every process) and peak PSS (shared pages split among the
processes sharing them: what a student really adds), and the CPU seconds it used, which unlike
the time to finish does not depend on what else runs on the machine. Per class size: the machine's used memory at
its peak minus before the run, and the load average, since other work on the machine counts too.

Writes build/hub-load/<chapter>.json (with the sha256 of the chapter's code cells, the version it measured) and
prints a Markdown table. docs/hosting.md quotes the copy kept in deploy/jupyterhub/measured/; tests/test_hosting_docs.py
checks that the quote is that file's and that the file measured today's chapter code.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from course_hub import REPO, TARGET_DIR, Hub, snapshot_repository  # noqa: E402


def _unpack(raw) -> dict:
    """A kernel websocket message: JSON text, or jupyter_server's binary frame (messages with
    buffers: a count, offsets, then the JSON part first)."""
    if isinstance(raw, str):
        return json.loads(raw)
    nbufs = struct.unpack("!I", raw[:4])[0]
    offsets = struct.unpack(f"!{nbufs}I", raw[4:4 + 4 * nbufs])
    end = offsets[1] if nbufs > 1 else len(raw)
    return json.loads(raw[offsets[0]:end])


async def run_chapter(hub: Hub, user: str, notebook: str, cells: list[str], timeout: float) -> dict:
    """Every code cell of ``notebook`` (a path in the user's home) in a fresh kernel of the user's server."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    headers = {"Authorization": f"token {hub.token}", "Content-Type": "application/json"}
    base = f"{hub.url}/user/{user}"
    http = AsyncHTTPClient()
    body = json.dumps({"path": notebook, "type": "notebook", "name": "", "kernel": {"name": "python3"}})
    session = json.loads((await http.fetch(f"{base}/api/sessions", method="POST", body=body, headers=headers,
                                           request_timeout=120)).body)
    kernel_id, session_id = session["kernel"]["id"], uuid.uuid4().hex
    ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels?session_id={session_id}"
    ws = await websocket_connect(HTTPRequest(ws_url, headers=headers, request_timeout=120),
                                 max_message_size=256 * 2**20)
    errors, start = [], time.perf_counter()
    try:
        for index, code in enumerate(cells):
            msg_id = uuid.uuid4().hex
            await ws.write_message(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session_id,
                           "username": user, "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True}}))
            while True:
                raw = await asyncio.wait_for(ws.read_message(), timeout)
                if raw is None:
                    raise RuntimeError(f"{user}: the kernel websocket closed at cell {index}")
                msg = _unpack(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "error":
                    errors.append(f"cell {index}: {msg['content']['ename']}: {msg['content']['evalue']}")
                if msg["channel"] == "shell" and msg["msg_type"] == "execute_reply":
                    break
            if errors:
                break
        seconds = time.perf_counter() - start
    finally:
        ws.close()
        await http.fetch(f"{base}/api/sessions/{session['id']}", method="DELETE", headers=headers,
                         raise_error=False)
    return {"user": user, "seconds": round(seconds, 1), "errors": errors}


class MemorySampler:
    """Peak RSS and PSS of each user server's process tree, and of the machine's used memory."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5, pss_every: int = 4):
        self.pids, self.interval, self.pss_every = pids, interval, pss_every
        self.rss = dict.fromkeys(pids, 0)
        self.pss = dict.fromkeys(pids, 0)
        self.kernel_rss = dict.fromkeys(pids, 0)
        self.used_peak = 0
        self.loads: list[float] = []
        self._cpu_first: dict[tuple[str, int], float] = {}   # CPU seconds when first seen (0 if started later)
        self._cpu_last: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        tick = 0
        while not self._stop.is_set():
            for user, pid in self.pids.items():
                try:
                    server = psutil.Process(pid)
                    tree = [server, *server.children(recursive=True)]
                    for p in tree:
                        cpu = sum(p.cpu_times()[:2])
                        self._cpu_first.setdefault((user, p.pid), cpu if tick == 0 else 0.0)
                        self._cpu_last[(user, p.pid)] = cpu
                    rss = sum(p.memory_info().rss for p in tree)
                    self.rss[user] = max(self.rss[user], rss)
                    self.kernel_rss[user] = max(self.kernel_rss[user], rss - server.memory_info().rss)
                    if tick % self.pss_every == 0:
                        self.pss[user] = max(self.pss[user], sum(p.memory_full_info().pss for p in tree))
                except psutil.Error:
                    continue
            self.used_peak = max(self.used_peak, psutil.virtual_memory().used)
            self.loads.append(os.getloadavg()[0])
            tick += 1
            self._stop.wait(self.interval)

    def cpu_seconds(self, user: str) -> float:
        """CPU time (user + system) the user's server and kernels used while sampled."""
        return sum(last - self._cpu_first[key] for key, last in self._cpu_last.items() if key[0] == user)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def pull_course(hub: Hub, user: str, repo: str, branch: str) -> None:
    """What the nbgitpuller link does, through its API: clone (or update) the course into the home."""
    query = urllib.parse.urlencode({"repo": repo, "branch": branch, "targetpath": TARGET_DIR})
    req = urllib.request.Request(f"{hub.url}/user/{user}/git-pull/api?{query}",
                                 headers={"Authorization": f"token {hub.token}"})
    with urllib.request.urlopen(req, timeout=300) as stream:
        for line in stream:
            if not line.startswith(b"data:"):
                continue
            event = json.loads(line[5:])
            if event.get("phase") == "error":
                raise RuntimeError(f"{user}: nbgitpuller failed: {event.get('message') or event}")
            if event.get("phase") == "finished":
                return
    raise RuntimeError(f"{user}: nbgitpuller's stream ended without finishing")


def measure(chapter: str, sizes: list[int], repo: str | None, branch: str, timeout: float) -> dict:
    import nbformat
    import psutil

    cells = [c.source for c in nbformat.read(REPO / "notebooks" / chapter, as_version=4).cells
             if c.cell_type == "code"]
    notebook = f"{TARGET_DIR}/notebooks/{chapter}"
    results = {"chapter": chapter, "cores": os.cpu_count(), "threads_per_student": 1, "runs": [],
               "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}
    with tempfile.TemporaryDirectory(prefix="dl-load-") as tmp:
        if repo is None:
            repo, branch = str(snapshot_repository(Path(tmp) / "course-repo")), "main"
        hub = Hub(Path(tmp), {"DL_HUB_CULL_TIMEOUT": "7200", "DL_HUB_CULL_EVERY": "600"})
        with hub:
            users = [f"s{i:02d}" for i in range(1, max(sizes) + 1)]
            started = time.perf_counter()
            for user in users:
                hub.spawn(user)
                pull_course(hub, user, repo, branch)
            print(f"{len(users)} servers started and cloned in {time.perf_counter() - started:.0f} s", flush=True)
            for n in sizes:
                class_users = users[:n]
                pids = {u: hub.user(u)["servers"][""]["state"]["pid"] for u in class_users}
                time.sleep(5)                                   # let the previous run's kernels go
                used_before, load_before = psutil.virtual_memory().used, os.getloadavg()
                with MemorySampler(pids) as sampler:
                    async def run_class(class_users=class_users):
                        return await asyncio.gather(*(run_chapter(hub, u, notebook, cells, timeout)
                                                      for u in class_users))
                    per_student = asyncio.run(run_class())
                run = {
                    "students": n,
                    "seconds": [s["seconds"] for s in per_student],
                    "cpu_seconds": [round(sampler.cpu_seconds(u), 1) for u in class_users],
                    "errors": [e for s in per_student for e in s["errors"]],
                    "rss_peak_mb": [round(sampler.rss[u] / 2**20) for u in class_users],
                    "kernel_rss_peak_mb": [round(sampler.kernel_rss[u] / 2**20) for u in class_users],
                    "pss_peak_mb": [round(sampler.pss[u] / 2**20) for u in class_users],
                    "machine_used_increase_mb": round((sampler.used_peak - used_before) / 2**20),
                    "load_before": [round(x, 2) for x in load_before],
                    "load_mean_during": round(sum(sampler.loads) / max(1, len(sampler.loads)), 2),
                    "load_after": [round(x, 2) for x in os.getloadavg()],
                }
                results["runs"].append(run)
                print(json.dumps(run), flush=True)
    return results


def chapter_code_sha256(path: Path) -> str:
    """sha256 of a chapter's code cells (sources joined by NUL): the work a measurement ran. Text edits leave
    it alone; any change to the code changes it, and the stored measurement is then stale."""
    import hashlib

    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    code = "\0".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def table(results: dict) -> str:
    lines = ["| students at once | time to finish (s): mean / slowest | CPU s per student "
             "| peak RSS per user server (MB): mean / max | peak PSS per user server (MB) "
             "| machine memory used, increase (MB) | load average (1 min): before → mean during |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for run in results["runs"]:
        secs, rss, pss = run["seconds"], run["rss_peak_mb"], run["pss_peak_mb"]
        cpu = run.get("cpu_seconds") or []
        cpu_text = f"{sum(cpu) / len(cpu):.0f}" if cpu else "–"
        lines.append(f"| {run['students']} | {sum(secs) / len(secs):.0f} / {max(secs):.0f} | {cpu_text} "
                     f"| {sum(rss) / len(rss):.0f} / {max(rss)} | {sum(pss) / len(pss):.0f} "
                     f"| {run['machine_used_increase_mb']} | {run['load_before'][0]} → {run['load_mean_during']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--chapter", default="04_eps_training.ipynb", help="notebook under notebooks/")
    ap.add_argument("--students", type=int, nargs="+", default=[1, 2, 4, 8], help="class sizes, run in turn")
    ap.add_argument("--repo", default=None, help="repository the students clone (default: a git copy of "
                    "this checkout's working tree, so the chapters match the package .venv imports)")
    ap.add_argument("--branch", default=None, help="branch to clone with --repo (default: the checked-out one)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds one cell may take")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "hub-load")
    args = ap.parse_args(argv)
    if not (REPO / "notebooks" / args.chapter).is_file():
        raise SystemExit(f"no notebooks/{args.chapter}; chapters: "
                         f"{', '.join(p.name for p in sorted((REPO / 'notebooks').glob('[0-9][0-9]_*.ipynb')))}")
    from course_hub import current_branch

    results = measure(args.chapter, sorted(set(args.students)), args.repo,
                      args.branch or current_branch(), args.timeout)
    results["chapter_code_sha256"] = chapter_code_sha256(REPO / "notebooks" / args.chapter)
    results["date"] = time.strftime("%Y-%m-%d")
    given = argv if argv is not None else sys.argv[1:]
    results["command"] = "python deploy/jupyterhub/measure_load.py " + " ".join(given)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"{Path(args.chapter).stem}.json"
    out.write_text(json.dumps(results, indent=1))
    print(table(results))
    print(f"written {out}")
    failed = [e for run in results["runs"] for e in run["errors"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
