"""Jobs may write /tmp as programs expect (SecCodePLT set-ups do), and nothing written there outlives the job."""

from __future__ import annotations

import os

from realcode.sandbox import Job, Sandbox

WRITE = "open('/tmp/example.txt', 'w').write('hi')\nimport os\nprint(sorted(os.listdir('/tmp')))"
LOOK = "import os\nprint('example.txt' in os.listdir('/tmp'))"


def test_tmp_is_writable_and_emptied_between_jobs(sandbox: Sandbox) -> None:
    first = sandbox.run(Job(code=WRITE, mode="program", stdin_runs=[""]))
    assert first.status == "ok" and first.runs[0].status == "ok", first
    assert "example.txt" in first.runs[0].stdout
    # Every worker of the pool, not only the one that ran the write, must show a clean /tmp.
    later = sandbox.run_many([Job(code=LOOK, mode="program", stdin_runs=[""]) for _ in range(4)])
    assert all(r.runs[0].stdout.strip() == "False" for r in later)
    if sandbox.isolation.level != "rlimits":
        assert not os.path.exists("/tmp/example.txt")  # the host's /tmp was never touched
