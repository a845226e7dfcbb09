"""Command injection: attacker data in a shell command line (CWE-78) or choosing the command itself (CWE-77)."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import ClassVar

from realcode.analysis.findings import Confidence, Finding, Severity
from realcode.analysis.security.context import AnalysisContext
from realcode.analysis.security.engine.names import qualify
from realcode.analysis.security.engine.sinks import Sink, is_true, keyword, match_sink
from realcode.analysis.security.rules.base import Rule, register

_SUBPROCESS = frozenset(
    f"subprocess.{n}" for n in ("run", "call", "check_call", "check_output", "Popen")
) | frozenset({"asyncio.create_subprocess_exec"})
_SHELL_ALWAYS = frozenset(
    {
        "os.system",
        "os.popen",
        "os.popen2",
        "os.popen3",
        "commands.getoutput",
        "commands.getstatusoutput",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "asyncio.create_subprocess_shell",
        "pty.spawn",
        "pexpect.spawn",
        "pexpect.run",
        "fabric.Connection.run",
        "invoke.run",
    }
)
_SHELLS = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "/bin/sh", "/bin/bash", "/usr/bin/bash", "cmd", "cmd.exe"}
)


def _shell_kw(call: ast.Call, imports: dict[str, str]) -> bool:
    return is_true(keyword(call, "shell"))


SHELL_SINKS: tuple[Sink, ...] = (
    Sink("a shell", names=_SHELL_ALWAYS),
    Sink("a remote shell (exec_command)", methods=frozenset({"exec_command"})),
    Sink("a shell (shell=True)", names=_SUBPROCESS, when=_shell_kw, keywords=("args",)),
)


def _definition(ctx: AnalysisContext, expr: ast.expr) -> ast.expr:
    """Follow a name to its unique assignment in the enclosing function (for shape checks only)."""
    for _ in range(4):
        if not isinstance(expr, ast.Name):
            return expr
        func = ctx.enclosing_function(expr)
        owner = func if func is not None else ctx.tree
        values = ctx.analysis.defs.get(id(owner), {}).get(expr.id)
        if not values or len(values) != 1:
            return expr
        expr = values[0]
    return expr


def leads_with_literal(ctx: AnalysisContext, expr: ast.expr, depth: int = 0) -> bool:
    """Whether a built command string starts with a literal program name (``f"tar -czf {x}"``)."""
    if depth > 5:
        return False
    expr = _definition(ctx, expr)
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return bool(expr.value.strip())
    if isinstance(expr, ast.JoinedStr) and expr.values:
        first = expr.values[0]
        return isinstance(first, ast.Constant) and isinstance(first.value, str) and bool(first.value.strip())
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Mod)):
        return leads_with_literal(ctx, expr.left, depth + 1)
    if isinstance(expr, ast.Call):
        callee = _local_callee(ctx, expr)
        if callee is not None:
            returns = [r.value for r in ast.walk(callee) if isinstance(r, ast.Return) and r.value is not None]
            return bool(returns) and all(leads_with_literal(ctx, r, depth + 1) for r in returns)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        if expr.func.attr == "format":
            return leads_with_literal(ctx, expr.func.value, depth + 1)
        if expr.func.attr == "join" and expr.args:
            seq = _definition(ctx, expr.args[0])
            if isinstance(seq, (ast.List, ast.Tuple)) and seq.elts:
                return not ctx.is_tainted(seq.elts[0], "shell")
    return False


def _local_callee(ctx: AnalysisContext, call: ast.Call) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """A function of this module called by name or through ``self``."""
    func = call.func
    if isinstance(func, ast.Name):
        return ctx.analysis.functions.get(func.id)
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in ("self", "cls")
    ):
        for table in ctx.analysis.methods.values():
            if func.attr in table:
                return table[func.attr]
    return None


def _program_element(ctx: AnalysisContext, expr: ast.expr) -> ast.expr | None:
    """The program-name element of an argv list expression, when it can be seen."""
    expr = _definition(ctx, expr)
    if isinstance(expr, (ast.List, ast.Tuple)) and expr.elts:
        return expr.elts[0]
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _program_element(ctx, expr.left)
    return None


class _CommandRule(Rule):
    shell_constant_program: ClassVar[bool]

    def check(self, ctx: AnalysisContext) -> Iterable[Finding]:
        for call in ctx.tainted_calls():
            for sink in SHELL_SINKS:
                if not match_sink(sink, call, ctx.imports, ctx.qualified_name(call)):
                    continue
                arg = call.args[0] if call.args else keyword(call, "args") or keyword(call, "cmd")
                if arg is None:
                    continue
                shown = arg
                shell_arg = arg
                if isinstance(_definition(ctx, arg), (ast.List, ast.Tuple)):
                    # shell=True with a list: the first element is the command line
                    first = _program_element(ctx, arg)
                    if first is None:
                        continue
                    shell_arg = first
                taint = ctx.taint_of(shell_arg) or ctx.taint_of(shown)
                if taint is None or not taint.is_live("shell"):
                    continue
                constant_program = leads_with_literal(ctx, shell_arg)
                if constant_program == self.shell_constant_program:
                    name = ctx.call_name(call) or sink.label
                    yield self.finding(
                        ctx,
                        call,
                        self._message(f"{sink.label} (`{name}`)", constant_program),
                        ctx.trace(taint, call, f"`{name}` (sink)"),
                    )
                break
            else:
                yield from self._argv_form(ctx, call)

    def _message(self, sink: str, constant_program: bool) -> str:
        if constant_program:
            return f"attacker-controlled data is spliced into a command line run by {sink}; pass an argument list"
        return f"the command run by {sink} is attacker-controlled"

    def _argv_form(self, ctx: AnalysisContext, call: ast.Call) -> Iterable[Finding]:
        return ()


@register
class ShellCommandInjection(_CommandRule):
    """Attacker data is spliced into a shell command line (OS command injection).

    Bad::

        os.system(f"tar -czf {name}.tgz {folder}")
        subprocess.run("convert " + path, shell=True)

    Good::

        subprocess.run(["tar", "-czf", f"{name}.tgz", folder])
        os.system("convert " + shlex.quote(path))
    """

    id = "RC-CMD-001"
    cwe = "CWE-78"
    name = "os-command-injection"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    blind_spots = (
        "Shell wrappers of third-party libraries (fabric, invoke, paramiko exec_command) are not modelled; "
        "a command line assembled across functions of different modules is not followed."
    )
    shell_constant_program = True


@register
class CommandInjection(_CommandRule):
    """The attacker chooses the command itself: a shell runs attacker text from its start, or an argument list
    starts with an attacker-chosen program (or is ``["sh", "-c", text]``).

    Bad::

        os.popen(user_command).read()
        subprocess.run([tool, "--version"])          # tool comes from the request

    Good::

        if user_command not in ALLOWED_COMMANDS:
            raise ValueError(user_command)
        subprocess.run([user_command])
    """

    id = "RC-CMD-002"
    cwe = "CWE-77"
    name = "command-injection"
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    blind_spots = (
        "Allow-lists kept in databases or configuration files are not recognised as guards; programs chosen "
        "through dictionaries of callables are not followed."
    )
    shell_constant_program = False

    def _argv_form(self, ctx: AnalysisContext, call: ast.Call) -> Iterable[Finding]:
        q = qualify(call.func, ctx.imports)
        if q not in _SUBPROCESS and q not in ("os.execv", "os.execvp", "os.execl", "os.execlp", "os.spawnv"):
            return
        if q in _SUBPROCESS and is_true(keyword(call, "shell")):
            return
        arg = call.args[0] if call.args else keyword(call, "args")
        if arg is None:
            return
        if q is not None and q.startswith("os.exec"):
            first: ast.expr | None = arg
        else:
            first = _program_element(ctx, arg)
        if first is None:
            return
        seq = _definition(ctx, arg)
        if isinstance(seq, (ast.List, ast.Tuple)) and len(seq.elts) >= 3:
            prog = ctx.const_str(seq.elts[0])
            if prog in _SHELLS and ctx.const_str(seq.elts[1]) in ("-c", "/c"):
                t = ctx.taint_of(seq.elts[2])
                if t is not None and t.is_live("shell"):
                    yield self.finding(
                        ctx,
                        call,
                        f"attacker-controlled text is run by `{prog} -c`",
                        ctx.trace(t, call, f"{q} (sink)"),
                    )
                    return
        t = ctx.taint_of(first)
        # a parameter naming the program is a command-runner API by design; external data naming it is not
        if t is not None and t.live_where("shell", external=True):
            yield self.finding(
                ctx,
                call,
                f"the program started by {q} is attacker-controlled",
                ctx.trace(t, call, f"{q} (sink)"),
                confidence=Confidence.MEDIUM,
            )
