"""Program jobs run their stdin runs one after another in a shared child: each run must still look fresh."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

from realcode.sandbox import Job, Limits, Sandbox


def program(code: str, stdins: list[str], **extra: object) -> Job:
    return Job(code=code, mode="program", stdin_runs=stdins, **extra)  # type: ignore[arg-type]


def test_every_run_gets_a_fresh_main_and_its_own_stdin(sandbox: Sandbox) -> None:
    code = """
import os, sys
counter = globals().get("counter", 0) + 1
line = input()
rest = sys.stdin.read()
print(__name__, counter, line, rest.split())
"""
    result = sandbox.run(program(code, ["a\n1 2\n", "b\n3\n", "c\n"]))
    assert result.status == "ok"
    assert [r.stdout for r in result.runs] == [
        "__main__ 1 a ['1', '2']\n",
        "__main__ 1 b ['3']\n",
        "__main__ 1 c []\n",
    ]
    assert all(r.status == "ok" and r.exit_code == 0 for r in result.runs)


def test_raw_descriptor_reads_see_only_their_own_input(sandbox: Sandbox) -> None:
    by_descriptor = "import os\nprint(repr(os.read(0, 100)), repr(os.read(0, 100)))\n"
    closing = "print(repr(open(0).read()))\n"  # closes fd 0 when the file object goes
    results = sandbox.run_many(
        [program(by_descriptor, ["first", "second"]), program(closing, ["one", "two"])]
    )
    assert [r.stdout for r in results[0].runs] == ["b'first' b''\n", "b'second' b''\n"]
    assert [r.stdout for r in results[1].runs] == ["'one'\n", "'two'\n"]


def test_a_run_that_ends_its_process_does_not_take_the_next_runs_with_it(sandbox: Sandbox) -> None:
    code = """
import os, sys
word = input()
if word == "exit":
    sys.exit(4)
if word == "die":
    sys.stdout.flush()
    os._exit(3)
if word == "crash":
    raise ValueError("no")
if word == "loop":
    while True:
        pass
print(word)
"""
    stdins = ["a", "exit", "b", "die", "c", "crash", "d", "loop", "e"]
    result = sandbox.run(program(code, stdins, limits=Limits(cpu_seconds=0.5)))
    runs = result.runs
    assert [r.status for r in runs] == ["ok", "exit", "ok", "exit", "ok", "exception", "ok", "timeout", "ok"]
    assert [r.stdout for r in runs[::2]] == ["a\n", "b\n", "c\n", "d\n", "e\n"]
    assert runs[1].exit_code == 4 and runs[3].exit_code == 3
    assert runs[5].exc_type == "ValueError" and "ValueError: no" in runs[5].stderr


def test_threads_and_atexit_finish_inside_their_run(sandbox: Sandbox) -> None:
    code = """
import atexit, threading, time
word = input()
atexit.register(print, "bye", word)
def late():
    time.sleep(0.05)
    print("thread", word)
threading.Thread(target=late).start()
"""
    result = sandbox.run(program(code, ["x", "y"]))
    assert [r.stdout for r in result.runs] == ["thread x\nbye x\n", "thread y\nbye y\n"]


def test_closed_streams_and_a_moved_directory_do_not_leak_into_the_next_run(sandbox: Sandbox) -> None:
    code = """
import os, sys
word = input()
print(word, sorted(n for n in os.listdir(".") if n.endswith(".txt")))
if word == "close":
    sys.stdout.close()
if word == "move":
    os.chdir("/")
"""
    files = {"data.txt": base64.b64encode(b"x").decode()}
    result = sandbox.run(program(code, ["close", "after", "move", "last"], files=files))
    assert [r.stdout for r in result.runs] == [
        "close ['data.txt']\n",
        "after ['data.txt']\n",
        "move ['data.txt']\n",
        "last ['data.txt']\n",
    ]


def test_files_are_restored_before_every_run_and_captured_after_it(sandbox: Sandbox) -> None:
    code = """
with open("log.txt") as handle:
    before = handle.read()
with open("log.txt", "a") as handle:
    handle.write(input())
print(repr(before))
"""
    files = {"log.txt": base64.b64encode(b"start;").decode()}
    result = sandbox.run(program(code, ["one", "two"], files=files, capture_files=["log.txt"]))
    assert [r.stdout for r in result.runs] == ["'start;'\n", "'start;'\n"]
    assert [base64.b64decode(r.files["log.txt"] or "") for r in result.runs] == [b"start;one", b"start;two"]


def test_an_uncommitted_transaction_is_rolled_back_before_the_capture(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE items (name TEXT)")
    code = """
import sqlite3
word = input()
connection = sqlite3.connect("shop.db")
connection.execute("INSERT INTO items VALUES (?)", (word,))
if word == "keep":
    connection.commit()
print(connection.execute("SELECT count(*) FROM items").fetchone()[0])
"""
    files = {"shop.db": base64.b64encode(path.read_bytes()).decode()}
    result = sandbox.run(program(code, ["drop", "keep", "drop"], files=files, capture_files=["shop.db"]))
    assert [r.stdout for r in result.runs] == ["1\n", "1\n", "1\n"]
    counts = []
    for run in result.runs:
        captured = tmp_path / "captured.db"
        captured.write_bytes(base64.b64decode(run.files["shop.db"] or ""))
        with sqlite3.connect(captured) as db:
            counts.append(db.execute("SELECT count(*) FROM items").fetchone()[0])
        captured.unlink()
    assert counts == [0, 1, 0]


def test_runs_share_no_state_across_jobs(sandbox: Sandbox) -> None:
    poison = "import builtins\nbuiltins.print = lambda *a, **k: None\nbuiltins.POISON = input()\n"
    look = "import builtins\nprint(getattr(builtins, 'POISON', 'clean'))\n"
    results = sandbox.run_many([program(poison, ["p", "q"])] + [program(look, ["1", "2"]) for _ in range(4)])
    assert all(r.stdout == "clean\n" for result in results[1:] for r in result.runs)
