"""``realcode serve`` over real HTTP on 127.0.0.1: a server subprocess, an httpx client."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from realcode.tasks import Task, load_tasks  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from realcode.cli import main; main()", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "REALCODE_SANDBOX_WORKERS": "2"},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"server did not start: {err[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group (it started it)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def tasks() -> tuple[Task, Task]:
    scp = next(t for t in load_tasks("seccodeplt-plus", "test") if t.references.patched)
    return scp, load_tasks("apps-plus")[0]


def test_health(server: str) -> None:
    body = httpx.get(f"{server}/health").json()
    assert body["status"] == "ok" and "real-apps" in body["presets"]


def test_mixed_batch_with_a_bad_sample(server: str, tasks: tuple[Task, Task]) -> None:
    scp, apps = tasks
    samples = [
        {
            "task_id": scp.id,
            "benchmark": "seccodeplt-plus",
            "completion": f"```python\n{scp.references.patched}\n```",
        },
        {
            "task_id": apps.id,
            "benchmark": "apps-plus",
            "completion": f"```python\n{apps.references.canonical}\n```",
        },
        {"task_id": "no-such-id", "benchmark": "apps-plus", "completion": "```python\nx = 1\n```"},
        {"task_id": apps.id, "benchmark": "apps-plus", "completion": "no code at all"},
    ]
    r = httpx.post(f"{server}/score", json={"samples": samples, "include_assessment": True}, timeout=300)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["benchmark"] for x in res[:2]] == ["seccodeplt-plus", "apps-plus"]
    assert set(res[0]["components"]) == {"functional", "security"}  # real-seccodeplt
    assert set(res[1]["components"]) == {"functional", "maintainability"}  # real-apps
    assert res[0]["assessment"]["functional"]["stage"] == "passed"
    assert res[1]["reward"] == pytest.approx(
        0.5 * res[1]["components"]["functional"] + 0.5 * res[1]["components"]["maintainability"]
    )
    assert (
        res[2]["reward"] is None
        and "unknown task id 'no-such-id'" in res[2]["error"]
        and not res[2]["infra_error"]
    )
    assert res[3]["reward"] == -1.0


def test_preset_override_and_bad_requests(server: str, tasks: tuple[Task, Task]) -> None:
    _, apps = tasks
    one = [
        {
            "task_id": apps.id,
            "benchmark": "apps-plus",
            "completion": f"```python\n{apps.references.canonical}\n```",
        }
    ]
    r = httpx.post(f"{server}/score", json={"samples": one, "preset": "realcode-default"}, timeout=300)
    assert r.json()["preset"] == "realcode-default"
    r = httpx.post(f"{server}/score", json={"samples": one, "preset": "nope"}, timeout=30)
    assert r.status_code == 422 and "known: real-seccodeplt" in r.text
    r = httpx.post(f"{server}/score", json={"samples": [{"completion": "x"}]}, timeout=30)
    assert r.status_code == 422 and "sample 0: missing 'task_id'" in r.text
    r = httpx.post(
        f"{server}/score", content=b"{not json", headers={"content-type": "application/json"}, timeout=30
    )
    assert r.status_code == 422


def test_openrlhf_http_mode(server: str, tasks: tuple[Task, Task]) -> None:
    _, apps = tasks
    prompt = "<|user|>solve<|assistant|>"
    body = {
        "query": [prompt + f"```python\n{apps.references.canonical}\n```", prompt + "nothing"],
        "prompts": [prompt, prompt],
        "labels": [json.dumps({"task_id": apps.id, "benchmark": "apps-plus"})] * 2,
    }
    r = httpx.post(f"{server}/openrlhf", json=body, timeout=300)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["rewards"][1] == -1.0 and out["rewards"][0] > 0
    assert out["extra_logs"]["realcode/infra_errors"] == 0.0
    assert not any(isinstance(x, float) and math.isnan(x) for x in out["rewards"])


def test_metrics_count_requests(server: str) -> None:
    text = httpx.get(f"{server}/metrics").text
    assert 'realcode_requests_total{endpoint="score"}' in text
    samples = next(line for line in text.splitlines() if line.startswith("realcode_samples_total"))
    assert int(samples.split()[1]) >= 5
