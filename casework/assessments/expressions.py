"""A small, safe evaluator for the XLSForm expressions of `relevant`, `required` and `constraint`.

The server checks answers with the same rules the form states, so it must understand the
expressions agencies write in ODK/KoBo forms: `${field}` references, `.` (the answer being
checked), numbers and quoted strings, `= != < <= > >=`, `+ - * div mod`, `and`, `or`, and the
common functions (`selected()`, `count-selected()`, `string-length()`, `regex()`, `today()` …).

Nothing here calls eval(): an expression is tokenised, parsed into a tree once (at upload, where a
syntax error or an unknown function refuses the form) and the tree is walked. Values follow
XPath 1.0 as ODK does: an unanswered question is the empty string, a multiple choice is its
space-separated choice names, a comparison with a number compares numbers, and one with a date
compares dates.
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_LENGTH = 2000
MAX_DEPTH = 60
_EPOCH = datetime.date(1970, 1, 1)


class ExpressionError(ValueError):
    """An expression that cannot be understood; the message says where and why (in English
    technical terms, shown to the form's author next to the row)."""


# --- tokens -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<ref>\$\{\s*(?P<refname>[A-Za-z_][\w.\-]*)\s*\})
    | (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
    | (?P<current>\.(?![\.\w]))
    | (?P<name>[A-Za-z_][\w\-]*(?::[A-Za-z_][\w\-]*)?)
    )
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # ref, number, string, op, current, name, end
    text: str
    position: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise ExpressionError(
                f"cannot read {source[position:].strip()[:20]!r} at character {position + 1}"
            )
        kind = "ref" if match.lastgroup in ("ref", "refname") else match.lastgroup or ""
        text = match.group("refname") if kind == "ref" else match.group(kind)
        tokens.append(Token(kind, text, match.start(kind)))
        position = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


# --- the tree -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    kind: str  # number, string, ref, current, call, binary, negate
    value: Any = None
    children: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Function:
    minimum: int
    maximum: int | None
    apply: Callable[..., Any]


@dataclass
class Expression:
    """A parsed expression: evaluate it as many times as needed."""

    source: str
    tree: Node
    references: frozenset[str] = frozenset()

    def evaluate(self, context: Context) -> Any:
        return _evaluate(self.tree, context)

    def is_true(self, context: Context) -> bool:
        return to_boolean(self.evaluate(context))


@dataclass
class Context:
    """What an expression can see: the answers so far (by name), the answer being checked (`.`),
    and today's date."""

    values: dict[str, Any]
    current: Any = ""
    today: datetime.date = field(default_factory=datetime.date.today)


_BINARY_LEVELS: list[set[str]] = [
    {"or"},
    {"and"},
    {"=", "!="},
    {"<", "<=", ">", ">="},
    {"+", "-"},
    {"*", "div", "mod"},
]


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.index = 0
        self.references: set[str] = set()
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text or token.kind not in ("op",):
            found = token.text or "the end"
            raise ExpressionError(
                f"expected {text!r} at character {token.position + 1}, found {found!r}"
            )

    def operator_at(self, level: int) -> str | None:
        token = self.peek()
        if token.kind == "op" and token.text in _BINARY_LEVELS[level]:
            return token.text
        if token.kind == "name" and token.text in _BINARY_LEVELS[level]:
            return token.text
        return None

    def parse(self) -> Node:
        tree = self.binary(0)
        token = self.peek()
        if token.kind != "end":
            raise ExpressionError(f"unexpected {token.text!r} at character {token.position + 1}")
        return tree

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while (operator := self.operator_at(level)) is not None:
            self.take()
            right = self.binary(level + 1)
            left = Node("binary", operator, (left, right))
        return left

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text == "-":
            self.take()
            return Node("negate", None, (self.unary(),))
        return self.primary()

    def primary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("the expression is nested too deeply")
        try:
            return self._primary()
        finally:
            self.depth -= 1

    def _primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Node("number", float(token.text))
        if token.kind == "string":
            return Node("string", token.text[1:-1])
        if token.kind == "ref":
            self.references.add(token.text)
            return Node("ref", token.text)
        if token.kind == "current":
            return Node("current")
        if token.kind == "op" and token.text == "(":
            inner = self.binary(0)
            self.expect(")")
            return inner
        if token.kind == "name" and self.peek().text == "(":
            name = token.text
            function = FUNCTIONS.get(name)
            if function is None:
                raise ExpressionError(f"the function {name}() is not supported")
            self.take()
            arguments: list[Node] = []
            if self.peek().text != ")":
                arguments.append(self.binary(0))
                while self.peek().kind == "op" and self.peek().text == ",":
                    self.take()
                    arguments.append(self.binary(0))
            self.expect(")")
            if len(arguments) < function.minimum or (
                function.maximum is not None and len(arguments) > function.maximum
            ):
                raise ExpressionError(f"{name}() does not take {len(arguments)} argument(s)")
            if name == "regex" and arguments[1].kind == "string":
                try:
                    re.compile(arguments[1].value)
                except re.error as error:
                    raise ExpressionError(f"the regular expression is invalid: {error}") from None
            return Node("call", name, tuple(arguments))
        if token.kind == "end":
            raise ExpressionError("the expression ends too early")
        if token.kind == "name":
            raise ExpressionError(
                f"{token.text!r} at character {token.position + 1} is not understood "
                "(refer to other questions as ${name})"
            )
        raise ExpressionError(f"unexpected {token.text!r} at character {token.position + 1}")


def compile_expression(source: str) -> Expression:
    """Parse `source`, or raise ExpressionError saying what is wrong."""
    source = (source or "").strip()
    if not source:
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    parser = _Parser(source)
    try:
        tree = parser.parse()
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None
    return Expression(source=source, tree=tree, references=frozenset(parser.references))


# --- values -------------------------------------------------------------------------------------


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        if float(value).is_integer():
            return str(int(value))
        return repr(float(value))
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return " ".join(to_string(item) for item in value)
    return str(value)


def to_number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime.date):
        return float((value - _EPOCH).days)
    text = to_string(value).strip()
    try:
        return float(text)
    except ValueError:
        return math.nan


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return not math.isnan(value) and value != 0
    if isinstance(value, datetime.date):
        return True
    if isinstance(value, list | tuple):
        return len(value) > 0
    return len(to_string(value)) > 0


def to_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isnan(value) or math.isinf(value):
            return None
        return _EPOCH + datetime.timedelta(days=int(value))
    try:
        return datetime.date.fromisoformat(to_string(value).strip()[:10])
    except ValueError:
        return None


def _selection(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [to_string(item) for item in value]
    return to_string(value).split()


def _compare(operator: str, left: Any, right: Any) -> bool:
    if isinstance(left, datetime.date) or isinstance(right, datetime.date):
        left_day, right_day = to_date(left), to_date(right)
        a = to_number(left_day) if left_day else math.nan
        b = to_number(right_day) if right_day else math.nan
    elif operator in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            same = to_boolean(left) == to_boolean(right)
            return same if operator == "=" else not same
        if isinstance(left, int | float) or isinstance(right, int | float):
            a, b = to_number(left), to_number(right)
        else:
            same = to_string(left) == to_string(right)
            return same if operator == "=" else not same
    else:
        a, b = to_number(left), to_number(right)
    if operator == "=":
        return a == b
    if operator == "!=":
        return a != b
    if operator == "<":
        return a < b
    if operator == "<=":
        return a <= b
    if operator == ">":
        return a > b
    return a >= b


def _arithmetic(operator: str, left: Any, right: Any) -> float:
    a, b = to_number(left), to_number(right)
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        return a * b
    if operator == "div":
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
        return a / b
    if b == 0:  # mod
        return math.nan
    return math.fmod(a, b)


def _evaluate(node: Node, context: Context) -> Any:
    kind = node.kind
    if kind in ("number", "string"):
        return node.value
    if kind == "ref":
        value = context.values.get(node.value, "")
        return "" if value is None else value
    if kind == "current":
        return "" if context.current is None else context.current
    if kind == "negate":
        return -to_number(_evaluate(node.children[0], context))
    if kind == "binary":
        operator = node.value
        left_node, right_node = node.children
        if operator == "and":
            return to_boolean(_evaluate(left_node, context)) and to_boolean(
                _evaluate(right_node, context)
            )
        if operator == "or":
            return to_boolean(_evaluate(left_node, context)) or to_boolean(
                _evaluate(right_node, context)
            )
        left, right = _evaluate(left_node, context), _evaluate(right_node, context)
        if operator in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(operator, left, right)
        return _arithmetic(operator, left, right)
    if kind == "call":
        function = FUNCTIONS[node.value]
        if node.value == "if":  # evaluate only the branch taken
            condition, then, otherwise = node.children
            chosen = then if to_boolean(_evaluate(condition, context)) else otherwise
            return _evaluate(chosen, context)
        arguments = [_evaluate(child, context) for child in node.children]
        if node.value == "today":
            return context.today
        return function.apply(*arguments)
    raise ExpressionError(f"unknown node {kind}")  # pragma: no cover - the parser makes no others


# --- functions ----------------------------------------------------------------------------------


def _regex(value: Any, pattern: Any) -> bool:
    try:
        return re.search(to_string(pattern), to_string(value)) is not None
    except re.error:
        return False


def _round(value: Any, places: Any = 0) -> float:
    number = to_number(value)
    if math.isnan(number) or math.isinf(number):
        return number
    digits = int(to_number(places)) if not math.isnan(to_number(places)) else 0
    scale = 10.0**digits
    return math.floor(number * scale + 0.5) / scale


def _int(value: Any) -> float:
    number = to_number(value)
    if math.isnan(number) or math.isinf(number):
        return number
    return float(math.trunc(number))


def _selected_at(value: Any, index: Any) -> str:
    items = _selection(value)
    position = to_number(index)
    if math.isnan(position) or not 0 <= int(position) < len(items):
        return ""
    return items[int(position)]


def _coalesce(*values: Any) -> Any:
    for value in values:
        if to_string(value) != "":
            return value
    return ""


def _date(value: Any) -> Any:
    return to_date(value) or ""


FUNCTIONS: dict[str, Function] = {
    "true": Function(0, 0, lambda: True),
    "false": Function(0, 0, lambda: False),
    "not": Function(1, 1, lambda value: not to_boolean(value)),
    "boolean": Function(1, 1, to_boolean),
    "number": Function(1, 1, to_number),
    "int": Function(1, 1, _int),
    "round": Function(1, 2, _round),
    "string": Function(1, 1, to_string),
    "string-length": Function(1, 1, lambda value: float(len(to_string(value)))),
    "concat": Function(1, None, lambda *values: "".join(to_string(v) for v in values)),
    "contains": Function(2, 2, lambda a, b: to_string(b) in to_string(a)),
    "starts-with": Function(2, 2, lambda a, b: to_string(a).startswith(to_string(b))),
    "ends-with": Function(2, 2, lambda a, b: to_string(a).endswith(to_string(b))),
    "regex": Function(2, 2, _regex),
    "selected": Function(2, 2, lambda value, choice: to_string(choice) in _selection(value)),
    "count-selected": Function(1, 1, lambda value: float(len(_selection(value)))),
    "selected-at": Function(2, 2, _selected_at),
    "if": Function(3, 3, lambda condition, then, otherwise: then),  # see _evaluate
    "coalesce": Function(2, 2, _coalesce),
    "today": Function(0, 0, lambda: None),  # see _evaluate: the context's today
    "date": Function(1, 1, _date),
}


def supported_functions() -> Sequence[str]:
    return sorted(FUNCTIONS)


@functools.lru_cache(maxsize=4096)
def compiled(source: str) -> Expression:
    """`compile_expression`, remembered: a form's rules are parsed once per process."""
    return compile_expression(source)
