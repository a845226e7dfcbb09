"""``realcode scan PATH...``: the security analyzer as a linter.

Exit codes follow Bandit and ruff: 0 when nothing was found, 1 when there are findings, 2 on a usage or I/O
error (a missing path, an unknown format or source kind, an unwritable output file).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from realcode.analysis.findings import Finding

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
_SKIP_DIRS = {"__pycache__", "node_modules", "venv", "site-packages"}
STDIN = "-"  # the path that reads the code from standard input


def _split(values: Iterable[str] | None) -> list[str]:
    """``--select A,B --select C`` -> ``[A, B, C]``."""
    return [v.strip() for value in values or () for v in value.split(",") if v.strip()]


def iter_python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The given files, and the ``*.py`` files under given directories (hidden and cache folders skipped),
    each once."""
    seen: set[Path] = set()

    def once(path: Path) -> bool:
        key = path.resolve()
        if key in seen:
            return False
        seen.add(key)
        return True

    for path in paths:
        if str(path) == STDIN:
            yield path
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
                for name in sorted(files):
                    if name.endswith(".py") and once(Path(root) / name):
                        yield Path(root) / name
        elif once(path):
            yield path


def _fail(message: str) -> typer.Exit:
    typer.echo(f"realcode scan: error: {message}", err=True)
    return typer.Exit(EXIT_ERROR)


def scan_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Python files or directories (walked for *.py); - reads standard input."),
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="Output format: text, json or sarif.")] = "text",
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Only these rule ids or CWEs (comma-separated, repeatable)."),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="Skip these rule ids or CWEs (comma-separated, repeatable)."),
    ] = None,
    sources: Annotated[
        str | None,
        typer.Option(
            "--sources", help="Source kinds, comma-separated: params, input, argv, env, files, network, web."
        ),
    ] = None,
    entry: Annotated[
        str | None,
        typer.Option("--entry", help="Function whose parameters are attacker data (default: all public)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here (default: stdout).")
    ] = None,
    maintainability: Annotated[
        bool, typer.Option("--maintainability", help="Also run mypy --strict, lint and complexity checks.")
    ] = False,
    no_suppress: Annotated[
        bool,
        typer.Option("--no-suppress", help="Report findings silenced by `# realcode: ignore` comments too."),
    ] = False,
) -> None:
    """Scan Python code for vulnerabilities (and, with --maintainability, quality problems)."""
    from realcode.analysis.report import FORMATS, ScanReport, render
    from realcode.analysis.security import DEFAULT_SOURCES, check_sources, scan_code
    from realcode.analysis.security.rules.base import all_rules
    from realcode.analysis.suppress import apply_suppressions

    if fmt not in FORMATS:
        raise _fail(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    try:
        source_kinds = check_sources(sources.split(",")) if sources is not None else DEFAULT_SOURCES
    except ValueError as exc:
        raise _fail(str(exc)) from None
    selected, ignored = _split(select), _split(ignore)
    known = {r.id.upper() for r in all_rules()} | {r.cwe.upper() for r in all_rules()}
    for key in selected + ignored:
        if key.upper() not in known and not key.upper().startswith("CWE-"):
            raise _fail(f"unknown rule id {key!r} in --select/--ignore")
    missing = [str(p) for p in paths if str(p) != STDIN and not p.exists()]
    if missing:
        raise _fail(f"no such file or directory: {', '.join(missing)}")

    report = ScanReport()
    codes: list[tuple[str, str]] = []
    for file in iter_python_files(paths):
        try:
            code = sys.stdin.read() if str(file) == STDIN else file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.errors.append(f"{file}: {getattr(exc, 'strerror', None) or exc}")
            continue
        name = "<stdin>" if str(file) == STDIN else str(file)
        report.files.append(name)
        codes.append((name, code))
        found = scan_code(code, entry=entry, sources=source_kinds, path=name, select=selected, ignore=ignored)
        report.findings.extend(found if no_suppress else apply_suppressions(found, code))
    if maintainability and codes:
        unparsable = {f.location.path for f in report.findings if f.rule_id == "RC-SYNTAX"}
        try:
            extra = _maintainability(codes, unparsable)
        except Exception as exc:  # mypy or ruff missing or crashing: say so, no traceback
            raise _fail(f"maintainability analysis failed: {type(exc).__name__}: {exc}") from None
        if not no_suppress:
            by_path = dict(codes)
            extra = [g for f in extra for g in apply_suppressions([f], by_path.get(f.location.path, ""))]
        report.findings.extend(extra)

    text = render(report, fmt)
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    if report.errors:
        for err in report.errors:
            typer.echo(f"realcode scan: error: {err}", err=True)
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_FINDINGS if report.findings else EXIT_CLEAN)


def _maintainability(codes: list[tuple[str, str]], unparsable: set[str]) -> list[Finding]:
    """Findings of :func:`realcode.analysis.maintainability.analyze`, located in their files."""
    from realcode.analysis.maintainability import analyze

    reports = analyze([code for _, code in codes])
    out: list[Finding] = []
    for (name, _), rep in zip(codes, reports, strict=True):
        for f in rep.findings:
            if f.rule_id == "RC-SYNTAX" and name in unparsable:
                continue  # already reported by the security scan
            out.append(f.model_copy(update={"location": f.location.model_copy(update={"path": name})}))
    return out


def register(app: typer.Typer) -> None:
    app.command("scan")(scan_command)
