"""The detectors compared by ``realcode bench detectors``: realcode itself, Bandit and ``ruff --select S``.

Each detector takes a batch of programs and returns, per program, the CWEs of its findings and, when it can be
measured per program, the CPU time it spent. Bandit and ruff report their own rule ids; the tables below map
them onto CWEs so that the "right CWE" view can compare like with like.
"""

from __future__ import annotations

import io
import json
import logging
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Program:
    """One program to scan: its source and the name of the function attacker data enters through."""

    code: str
    entry: str | None = None


@dataclass
class Detection:
    """What one detector said about one program."""

    cwes: frozenset[str | None] = frozenset()  # CWE of each finding ("CWE-89"); None for findings without one
    rules: tuple[str, ...] = ()  # rule ids of the findings, in order
    cpu_ms: float | None = None  # CPU time spent on this program, when measured per program
    error: str | None = None  # the tool failed on this program

    @property
    def flagged(self) -> bool:
        return bool(self.rules)


@dataclass
class ToolRun:
    """A detector's answers for a batch, plus how its time was measured."""

    detections: list[Detection]
    timing: str  # how CPU time was measured ("in-process, per snippet", "batched CLI: total / N", ...)
    batch_cpu_ms: float | None = None  # total CPU of a batched run
    version: str = ""
    notes: list[str] = field(default_factory=list)


class Detector(Protocol):
    name: str

    def run(self, programs: Sequence[Program]) -> ToolRun: ...


# --- realcode ---------------------------------------------------------------------------------------------


class RealcodeDetector:
    """realcode's security analyzer, in-process, all rules on; CPU time per snippet with ``time.process_time``."""

    name = "realcode"

    def run(self, programs: Sequence[Program]) -> ToolRun:
        import realcode
        from realcode.analysis.security import scan_code

        scan_code("def warm_up(x):\n    return x\n", entry="warm_up")  # rule registry and imports, once
        out: list[Detection] = []
        for prog in programs:
            t0 = time.process_time()
            try:
                findings = scan_code(prog.code, entry=prog.entry)
            except Exception as exc:  # the API promises not to raise; count it as an error if it does
                out.append(
                    Detection(cpu_ms=(time.process_time() - t0) * 1000, error=f"{type(exc).__name__}: {exc}")
                )
                continue
            cpu = (time.process_time() - t0) * 1000
            out.append(
                Detection(
                    cwes=frozenset(f.cwe for f in findings),
                    rules=tuple(f.rule_id for f in findings),
                    cpu_ms=cpu,
                )
            )
        return ToolRun(
            out, timing="in-process, per snippet (time.process_time)", version=realcode.__version__
        )


# --- Bandit -----------------------------------------------------------------------------------------------


class BanditDetector:
    """Bandit in-process: one ``BanditManager`` with all default plugins, fed each program from memory.

    Bandit has no public API for scanning a string, so this calls ``BanditManager._parse_file`` (what
    ``bandit FILE`` calls for each file) on an in-memory file; CPU time is per snippet.
    """

    name = "bandit"

    def run(self, programs: Sequence[Program]) -> ToolRun:
        import bandit
        from bandit.core import config as b_config
        from bandit.core import manager as b_manager

        logging.getLogger("bandit").setLevel(logging.CRITICAL)
        mgr = b_manager.BanditManager(b_config.BanditConfig(), "file", quiet=True)
        out: list[Detection] = []
        for i, prog in enumerate(programs):
            fname = f"snippet_{i}.py"
            mgr.results = []
            mgr.skipped = []
            t0 = time.process_time()
            mgr._parse_file(fname, io.BytesIO(prog.code.encode("utf-8")), [fname])
            cpu = (time.process_time() - t0) * 1000
            if mgr.skipped:
                out.append(Detection(cpu_ms=cpu, error=str(mgr.skipped[0][1])))
                continue
            issues: list[Any] = list(mgr.results)
            out.append(
                Detection(
                    cwes=frozenset(_bandit_cwe(issue) for issue in issues),
                    rules=tuple(str(issue.test_id) for issue in issues),
                    cpu_ms=cpu,
                )
            )
        return ToolRun(
            out,
            timing="in-process, per snippet (BanditManager._parse_file on an in-memory file)",
            version=str(bandit.__version__),
        )


def _bandit_cwe(issue: Any) -> str | None:
    cwe_id = getattr(getattr(issue, "cwe", None), "id", 0) or 0
    if cwe_id:
        return f"CWE-{cwe_id}"
    return BANDIT_TO_CWE.get(str(issue.test_id))


# --- ruff -------------------------------------------------------------------------------------------------


class RuffDetector:
    """``ruff check --select S`` (the flake8-bandit rules), batched over all programs written to a directory.

    ruff is a separate binary, so CPU time is the children's CPU (``getrusage``) of one batched run divided by
    the number of programs: a mean, not a median, and it includes ruff's start-up once.
    """

    name = "ruff"

    def run(self, programs: Sequence[Program]) -> ToolRun:
        ruff = shutil.which("ruff")
        if ruff is None:
            raise RuntimeError("ruff is not on PATH; install it with `pip install ruff`")
        version = subprocess.run(
            [ruff, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        with tempfile.TemporaryDirectory(prefix="realcode-bench-ruff-") as tmp:
            root = Path(tmp)
            for i, prog in enumerate(programs):
                (root / f"snippet_{i:05d}.py").write_text(prog.code, encoding="utf-8")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.run(
                [
                    ruff,
                    "check",
                    "--isolated",
                    "--no-cache",
                    "--select",
                    "S",
                    "--output-format",
                    "json",
                    "--exit-zero",
                    ".",
                ],
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "RUFF_NO_CACHE": "true"},
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise RuntimeError(f"ruff failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        total_ms = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000
        per_file: dict[int, list[str]] = {}
        for item in json.loads(proc.stdout or "[]"):
            name = Path(item["filename"]).name
            if not name.startswith("snippet_"):
                continue
            per_file.setdefault(int(name[len("snippet_") : -3]), []).append(
                str(item.get("code") or "syntax-error")
            )
        mean = total_ms / max(1, len(programs))
        out = []
        for i in range(len(programs)):
            codes = per_file.get(i, [])
            out.append(
                Detection(
                    cwes=frozenset(RUFF_TO_CWE.get(c) for c in codes),
                    rules=tuple(codes),
                    cpu_ms=mean,
                )
            )
        return ToolRun(
            out,
            timing="batched CLI over all snippets: children's CPU / N (a mean)",
            batch_cpu_ms=total_ms,
            version=version,
        )


DETECTORS: dict[str, type[RealcodeDetector] | type[BanditDetector] | type[RuffDetector]] = {
    "realcode": RealcodeDetector,
    "bandit": BanditDetector,
    "ruff": RuffDetector,
}


# --- rule id -> CWE tables ----------------------------------------------------------------------------------
# Bandit reports a CWE with every issue (``issue.cwe``); this table is only the fallback for issues that carry
# none (CWE 0). ruff's S rules are re-implementations of Bandit's tests, numbered like them (S301 is B301,
# S608 is B608, ...), so each S code gets the CWE that Bandit 1.7+ reports for the test it mirrors.
RUFF_TO_CWE: dict[str, str | None] = {
    "S101": "CWE-703",  # assert (B101)
    "S102": "CWE-78",  # exec (B102)
    "S103": "CWE-732",  # bad file permissions (B103)
    "S104": "CWE-605",  # bind to all interfaces (B104)
    "S105": "CWE-259",  # hard-coded password string (B105)
    "S106": "CWE-259",  # hard-coded password argument (B106)
    "S107": "CWE-259",  # hard-coded password default (B107)
    "S108": "CWE-377",  # hard-coded temp file (B108)
    "S110": "CWE-703",  # try-except-pass (B110)
    "S112": "CWE-703",  # try-except-continue (B112)
    "S113": "CWE-400",  # request without timeout (B113)
    "S201": "CWE-94",  # flask debug=True (B201)
    "S202": "CWE-22",  # tarfile extractall without members (B202)
    "S301": "CWE-502",  # pickle (B301)
    "S302": "CWE-502",  # marshal (B302)
    "S303": "CWE-327",  # insecure hash function (B303)
    "S304": "CWE-327",  # insecure cipher (B304)
    "S305": "CWE-327",  # insecure cipher mode (B305)
    "S306": "CWE-377",  # mktemp (B306)
    "S307": "CWE-78",  # eval (B307; Bandit files eval under CWE-78)
    "S308": "CWE-79",  # mark_safe (B308)
    "S310": "CWE-22",  # urlopen with file:/ schemes (B310)
    "S311": "CWE-330",  # non-cryptographic random (B311)
    "S312": "CWE-319",  # telnet (B312)
    "S313": "CWE-20",  # xml.etree / cElementTree (B313..B320, XML parsers)
    "S314": "CWE-20",
    "S315": "CWE-20",
    "S316": "CWE-20",
    "S317": "CWE-20",
    "S318": "CWE-20",
    "S319": "CWE-20",
    "S320": "CWE-20",
    "S321": "CWE-319",  # ftp (B321)
    "S323": "CWE-295",  # ssl._create_unverified_context (B323)
    "S324": "CWE-327",  # hashlib md5/sha1 (B324)
    "S401": "CWE-319",  # import telnetlib (B401)
    "S402": "CWE-319",  # import ftplib (B402)
    "S403": "CWE-502",  # import pickle (B403)
    "S404": "CWE-78",  # import subprocess (B404)
    "S405": "CWE-20",  # import xml.* (B405..B410)
    "S406": "CWE-20",
    "S407": "CWE-20",
    "S408": "CWE-20",
    "S409": "CWE-20",
    "S410": "CWE-20",
    "S411": "CWE-20",  # import xmlrpc (B411)
    "S412": "CWE-20",  # httpoxy (B412)
    "S413": "CWE-327",  # import pycrypto (B413)
    "S415": "CWE-319",  # import pyghmi (B415)
    "S501": "CWE-295",  # requests verify=False (B501)
    "S502": "CWE-327",  # ssl with insecure version (B502)
    "S503": "CWE-327",  # ssl with bad defaults (B503)
    "S504": "CWE-327",  # ssl without version (B504)
    "S505": "CWE-326",  # weak cryptographic key (B505)
    "S506": "CWE-20",  # yaml.load (B506)
    "S507": "CWE-295",  # paramiko without host key verification (B507)
    "S508": "CWE-319",  # snmp insecure version (B508)
    "S509": "CWE-319",  # snmp weak cryptography (B509)
    "S601": "CWE-78",  # paramiko exec_command (B601)
    "S602": "CWE-78",  # subprocess with shell=True (B602)
    "S603": "CWE-78",  # subprocess without shell (B603)
    "S604": "CWE-78",  # call with shell=True (B604)
    "S605": "CWE-78",  # process started with a shell (B605)
    "S606": "CWE-78",  # process started without a shell (B606)
    "S607": "CWE-78",  # partial executable path (B607)
    "S608": "CWE-89",  # SQL built from strings (B608)
    "S609": "CWE-78",  # wildcard injection (B609)
    "S610": "CWE-89",  # Django extra (B610)
    "S611": "CWE-89",  # Django RawSQL (B611)
    "S612": "CWE-94",  # logging.config.listen (B612)
    "S701": "CWE-94",  # jinja2 autoescape=False (B701)
    "S702": "CWE-80",  # mako templates (B702)
    "S704": "CWE-79",  # unsafe markupsafe.Markup (B704)
}

# Bandit test ids are ruff codes with a B: the same table, used when a Bandit issue carries no CWE.
BANDIT_TO_CWE: dict[str, str | None] = {"B" + code[1:]: cwe for code, cwe in RUFF_TO_CWE.items()}
