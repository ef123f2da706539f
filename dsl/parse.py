"""Parse program text with Python's ``ast`` and a whitelist; the text is never executed.

Accepted grammar (anything else raises ``ProgramError`` naming the line)::

    def train(w, g, m, v, lr):
        name = f(arg, ...)          # an op from the table, positional arguments only
        name = arg (+ - * /) arg    # infix arithmetic
        name = -arg                 # unary minus
        return name, name, name     # update, next m, next v

``arg`` is a name already defined or a numeric literal (optionally negative). Comments and
blank lines are allowed, and so is a docstring as the first statement of the body.

Limits: ``MAX_BYTES`` (100,000 bytes of UTF-8 text) and ``MAX_STATEMENTS`` (1,000). A program
file must be a regular file (not a pipe, device or directory); ``read_source`` reads at most
one byte beyond the limit, so no input can make the parser read or allocate without bound.
"""

from __future__ import annotations

import ast
import math
import os
import stat
from pathlib import Path

from dsl import ops
from dsl.program import INPUTS, Arg, Program, ProgramError, Statement

MAX_BYTES = 100_000
"""Largest program text, in bytes (UTF-8); a program file is read up to one byte beyond it."""
MAX_STATEMENTS = 1_000
"""Most statements in a program's body (the return not counted)."""

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}


def parse(text: str | bytes) -> Program:
    """The ``Program`` that ``text`` spells; ``ProgramError`` for anything else."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_BYTES:
            raise ProgramError(f"program text is too large ({len(text)} bytes > {MAX_BYTES})")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProgramError(f"program text is not valid UTF-8 (byte {exc.start})") from None
    if not isinstance(text, str):
        raise ProgramError(f"program text must be str or bytes, not {type(text).__name__}")
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ProgramError(f"program text is too large (> {MAX_BYTES} bytes)")
    if "\x00" in text:
        raise ProgramError("program text contains a NUL character", _line_of(text, "\x00"))
    try:
        tree = ast.parse(text, mode="exec")
    except SyntaxError as exc:
        raise ProgramError(f"syntax error: {exc.msg}", exc.lineno) from None
    except (RecursionError, MemoryError):
        raise ProgramError("program text is nested too deeply") from None
    except (ValueError, UnicodeError) as exc:  # e.g. surrogates
        raise ProgramError(f"cannot read program text: {exc}") from None
    return _program(tree)


def parse_file(path) -> Program:
    """Parse the file at ``path``; errors name the file."""
    p = Path(path)
    data = read_source(p)
    try:
        return parse(data)
    except ProgramError as exc:
        raise ProgramError(exc.message, exc.line, source=str(p)) from None


def read_source(path) -> bytes:
    """The bytes of the program file at ``path``: a regular file of at most ``MAX_BYTES``.

    Anything else is a ``ProgramError`` naming the file, raised before much is read: a device
    such as ``/dev/zero`` streams forever and a named pipe blocks until a writer comes, so only
    regular files are read, and at most ``MAX_BYTES + 1`` bytes of them. The file is checked
    before it is opened (opening some devices does something) and again on the open
    descriptor, which is opened non-blocking so that a pipe swapped in meanwhile cannot block.
    """
    source = str(path)
    try:
        _regular(os.stat(path), source)
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ProgramError(f"cannot read: {exc.strerror or exc}", source=source) from None
    except ProgramError:
        raise
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise ProgramError(f"cannot read: {exc}", source=source) from None
    try:
        st = os.fstat(fd)
        _regular(st, source)
        if st.st_size > MAX_BYTES:
            raise ProgramError(f"program file is too large ({st.st_size} bytes > {MAX_BYTES})", source=source)
        chunks: list[bytes] = []
        left = MAX_BYTES + 1  # one byte more than allowed tells "too large" from "exactly at the limit"
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise ProgramError(f"cannot read: {exc.strerror or exc}", source=source) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_BYTES:
        raise ProgramError(f"program file is too large (more than {MAX_BYTES} bytes)", source=source)
    return data


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"))


def _regular(st: os.stat_result, source: str) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    what = next((label for test, label in _FILE_KINDS if test(st.st_mode)), "a special file")
    raise ProgramError(f"not a regular file ({what})", source=source)


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _program(tree: ast.Module) -> Program:
    body = tree.body
    if len(body) != 1 or not isinstance(body[0], ast.FunctionDef):
        line = body[0].lineno if body and not isinstance(body[0], ast.FunctionDef) else (
            body[1].lineno if len(body) > 1 else 1)
        raise ProgramError("a program is exactly one 'def train(w, g, m, v, lr):'", line)
    fn = body[0]
    _check_signature(fn)
    stmts = list(fn.body)
    if stmts and isinstance(stmts[0], ast.Expr) and isinstance(stmts[0].value, ast.Constant) \
            and isinstance(stmts[0].value.value, str):
        stmts = stmts[1:]  # docstring
    if not stmts or not isinstance(stmts[-1], ast.Return):
        line = stmts[-1].lineno if stmts else fn.lineno
        raise ProgramError("the body must end with 'return update, m, v'", line)
    if len(stmts) - 1 > MAX_STATEMENTS:
        raise ProgramError(f"too many statements ({len(stmts) - 1} > {MAX_STATEMENTS})", fn.lineno)
    defined = set(INPUTS)
    statements = []
    for node in stmts[:-1]:
        st = _statement(node, defined)
        defined.add(st.dst)
        statements.append(st)
    returns = _returns(stmts[-1], defined)
    try:
        return Program(tuple(statements), returns)
    except ProgramError as exc:  # pragma: no cover - the checks above come first
        raise ProgramError(exc.message, stmts[-1].lineno) from None


def _check_signature(fn: ast.FunctionDef) -> None:
    line = fn.lineno
    if fn.name != "train":
        raise ProgramError(f"the function must be called 'train', not {fn.name!r}", line)
    if fn.decorator_list:
        raise ProgramError("decorators are not allowed", fn.decorator_list[0].lineno)
    if fn.returns is not None or getattr(fn, "type_params", None):
        raise ProgramError("annotations are not allowed", line)
    a = fn.args
    names = [x.arg for x in a.args]
    extra = a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or a.defaults or a.kw_defaults
    if tuple(names) != INPUTS or extra or any(x.annotation for x in a.args):
        raise ProgramError(f"the signature must be 'def train({', '.join(INPUTS)}):'", line)


def _statement(node: ast.stmt, defined: set[str]) -> Statement:
    line = getattr(node, "lineno", None)
    if isinstance(node, ast.Return):
        raise ProgramError("'return' must be the last statement", line)
    if not isinstance(node, ast.Assign):
        raise ProgramError(f"only assignments 'name = expr' are allowed, not {_what(node)}", line)
    if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
        raise ProgramError("the target of an assignment must be one plain name", line)
    dst = node.targets[0].id
    _valid_name(dst, line)
    op, args = _expr(node.value, defined, line)
    try:
        return Statement(dst, op, tuple(args))
    except ProgramError as exc:
        raise ProgramError(exc.message, line) from None


def _expr(node: ast.expr, defined: set[str], line: int | None) -> tuple[str, list[Arg]]:
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ProgramError(f"only calls of ops by name are allowed, not {_what(node.func)}", line)
        name = node.func.id
        if name not in ops.BY_NAME:
            raise ProgramError(f"unknown function {name!r}", line)
        if node.keywords:
            raise ProgramError(f"{name}: keyword arguments are not allowed", line)
        arity = ops.BY_NAME[name].arity
        if len(node.args) != arity:
            raise ProgramError(f"{name} takes {arity} argument(s), got {len(node.args)}", line)
        return name, [_arg(a, defined, line) for a in node.args]
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ProgramError(f"operator {type(node.op).__name__} is not allowed (only + - * /)", line)
        return op, [_arg(node.left, defined, line), _arg(node.right, defined, line)]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return "negative", [_arg(node.operand, defined, line)]
    raise ProgramError(
        f"an expression must be one op call, one infix operation or a unary minus, not {_what(node)}",
        line)


def _arg(node: ast.expr, defined: set[str], line: int | None) -> Arg:
    if isinstance(node, ast.Name):
        if node.id in ops.BY_NAME:
            raise ProgramError(f"{node.id!r} is an op; call it as {node.id}(...)", line)
        if node.id not in defined:
            raise ProgramError(f"name {node.id!r} is not defined", line)
        return node.id
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        try:
            value = sign * float(node.value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise ProgramError(f"constant {ast.unparse(node)} is not finite", line)
        return value
    raise ProgramError(f"an argument must be a name or a number, not {_what(node)}", line)


def _returns(node: ast.Return, defined: set[str]) -> tuple[str, str, str]:
    line = node.lineno
    value = node.value
    if not isinstance(value, ast.Tuple) or len(value.elts) != 3 \
            or not all(isinstance(e, ast.Name) for e in value.elts):
        raise ProgramError("the return must be three names: 'return update, m, v'", line)
    names = tuple(e.id for e in value.elts)
    for name in names:
        if name not in defined:
            raise ProgramError(f"returned name {name!r} is not defined", line)
    return names  # type: ignore[return-value]


def _valid_name(name: str, line: int | None) -> None:
    if name in ops.BY_NAME:
        raise ProgramError(f"{name!r} is an op and cannot be assigned to", line)
    if name.startswith("__"):
        raise ProgramError(f"names starting with '__' are not allowed ({name!r})", line)
    if name == "train":
        raise ProgramError("'train' cannot be assigned to", line)


def _what(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "attribute access", ast.Subscript: "a subscript", ast.Lambda: "a lambda",
        ast.Import: "an import", ast.ImportFrom: "an import", ast.Call: "a call",
        ast.BinOp: "a nested operation", ast.Constant: "a constant", ast.Name: "a name",
        ast.If: "an if statement", ast.For: "a loop", ast.While: "a loop",
        ast.AugAssign: "an augmented assignment", ast.AnnAssign: "an annotated assignment",
        ast.Expr: "a bare expression", ast.FunctionDef: "a nested function",
    }
    return kinds.get(type(node), type(node).__name__)
