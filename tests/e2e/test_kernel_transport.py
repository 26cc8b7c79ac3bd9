"""The e2e JupyterLab runs with the project's config (as `make course` does): its kernels use IPC.

The lab server of tests/e2e (conftest.lab_server) has only jupyter-config/ on JUPYTER_CONFIG_PATH.
A kernel started there must say transport "ipc" in its connection file, bind its five channels as
Unix sockets in the private runtime folder and answer over them, and no kernel of the session (every chapter ran in this
server before, in test_browser.py) may have logged ipykernel's "running over TCP without
encryption" warning. (A kernel that works over IPC at all is shown by the chapters running.)
"""
from __future__ import annotations

import json
import stat
import sys
import time

import pytest
from jupyter_client import BlockingKernelClient

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(sys.platform == "win32", reason="kernels keep TCP on Windows")]


def test_lab_kernels_run_over_ipc_without_the_tcp_warning(lab_server):
    psutil = pytest.importorskip("psutil")
    runtime = lab_server.root.parents[1] / "runtime"          # e2e_support.server_env's runtime dir
    kernel = lab_server.api("/api/kernels", method="POST")
    try:
        connection_file = runtime / f"kernel-{kernel['id']}.json"
        info = json.loads(connection_file.read_text())
        assert info["transport"] == "ipc"
        assert runtime.stat().st_mode & 0o077 == 0, "the runtime folder must be private (0700)"
        # the kernel binds its five channels as Unix sockets there ...
        deadline = time.time() + 90
        while len(sockets := sorted(runtime.glob(f"kernel-{kernel['id']}-ipc-*"))) < 5:
            assert time.time() < deadline, f"the kernel bound only {sockets} within 90 s"
            time.sleep(0.3)
        assert all(stat.S_ISSOCK(p.stat().st_mode) for p in sockets), sockets
        # ... and answers over them (a client of its own, beside the server's)
        client = BlockingKernelClient()
        client.load_connection_file(str(connection_file))
        client.start_channels()
        try:
            client.wait_for_ready(timeout=90)
            reply = client.execute_interactive("import ipykernel.connect as c; "
                                               "t = c.get_connection_info(unpack=True)['transport']",
                                               user_expressions={"t": "t"}, timeout=60)
        finally:
            client.stop_channels()
        assert reply["content"]["status"] == "ok"
        assert reply["content"]["user_expressions"]["t"]["data"]["text/plain"] == "'ipc'"
        kernel_procs = [p for p in psutil.process_iter(["cmdline"])
                        if str(connection_file) in (p.info["cmdline"] or [])]
        assert len(kernel_procs) == 1, "expected one kernel process for the connection file"
        # none of its five channels is on TCP; what stays is ipykernel's IOPub pipe, one 127.0.0.1 port
        # that takes only output of forked subprocesses, each message keyed with a random 16-byte id
        # (ipykernel binds it unconditionally); a TCP kernel would listen on six
        tcp_listening = [c.laddr for c in kernel_procs[0].net_connections(kind="inet")
                         if c.status == psutil.CONN_LISTEN]
        assert len(tcp_listening) <= 1 and all(a.ip == "127.0.0.1" for a in tcp_listening), tcp_listening
    finally:
        lab_server.api(f"/api/kernels/{kernel['id']}", method="DELETE")
    log = lab_server.log.read_text(errors="replace")
    assert "without encryption" not in log, "a kernel of this session ran over TCP"
    assert "kernels use TCP" not in log, "the project config fell back to TCP"
