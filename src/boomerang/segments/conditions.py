"""A small, safe condition language over account facts.

    tier = 'enterprise' and health < 50 and renewal_in_days <= 120
    colour in ('red', 'yellow') or score.adoption_breadth < 40
    owner is null and not (stage = 'churned')

Grammar (keywords are case-insensitive)::

    condition := or
    or        := and ("or" and)*
    and       := not ("and" not)*
    not       := "not" not | comparison
    comparison:= operand (("=" | "!=" | "<" | "<=" | ">" | ">=") operand
                          | "not"? "in" "(" literal ("," literal)* ")"
                          | "is" "not"? "null")?
    operand   := field | literal | "(" condition ")"
    literal   := number | 'text' | true | false

A condition is at most :data:`MAX_LENGTH` characters long and nests ``not`` and parentheses
at most :data:`MAX_DEPTH` levels deep (a deeper one is refused by name, before the parser,
the checker or Ibis recurse that far). It is parsed into a tree, checked against the known
fields and their types (errors name the column and the problem), and compiled into an Ibis
expression: it is never pasted into SQL and never evaluated with ``eval``. Comparisons with
a missing value are false, as in SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from boomerang.errors import Invalid

Kind = Literal["number", "text", "bool"]
MAX_LENGTH = 2000
MAX_DEPTH = 32  # levels of "not" and "(" together; Ibis compiles ~90 nested "not" at most


class ConditionError(Invalid):
    """The condition cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Field:
    name: str
    pos: int


@dataclass(frozen=True)
class Value:
    value: float | str | bool
    pos: int

    @property
    def kind(self) -> Kind:
        if isinstance(self.value, bool):
            return "bool"
        return "number" if isinstance(self.value, float) else "text"


@dataclass(frozen=True)
class Compare:
    op: str
    left: Field | Value
    right: Field | Value
    pos: int


@dataclass(frozen=True)
class InList:
    operand: Field
    values: tuple[Value, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class IsNull:
    operand: Field
    negated: bool
    pos: int


@dataclass(frozen=True)
class BoolField:
    field: Field


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Junction:
    op: Literal["and", "or"]
    parts: tuple[Node, ...]


Node = Compare | InList | IsNull | BoolField | Not | Junction

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?)
      | (?P<text>'(?:[^']|'')*')
      | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # number, text, op, word, keyword, end
    text: str
    pos: int  # 1-based column


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            col = i + 1 + (len(text[i:]) - len(text[i:].lstrip()))
            snippet = text[col - 1 : col + 9]
            if snippet.startswith("'"):
                raise ConditionError(f"column {col}: text starting here is not closed with '")
            raise ConditionError(f"column {col}: unexpected {snippet!r}")
        kind = m.lastgroup or "op"
        value = m.group(kind)
        pos = m.start(kind) + 1
        if kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "keyword", value.lower()
        out.append(_Tok(kind, value, pos))
        i = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, text: str | None = None) -> _Tok | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, text: str, what: str) -> _Tok:
        tok = self.accept(kind, text)
        if tok is None:
            raise ConditionError(f"column {self.tok.pos}: expected {what}, found {_show(self.tok)}")
        return tok

    def condition(self) -> Node:
        node = self.junction("or")
        if self.tok.kind != "end":
            raise ConditionError(
                f"column {self.tok.pos}: expected and, or or the end, found {_show(self.tok)}"
            )
        return node

    def junction(self, op: Literal["and", "or"]) -> Node:
        parts = [self.junction("and") if op == "or" else self.negation()]
        while self.accept("keyword", op):
            parts.append(self.junction("and") if op == "or" else self.negation())
        return parts[0] if len(parts) == 1 else Junction(op, tuple(parts))

    def deeper(self, tok: _Tok) -> None:
        """One more level of nesting at ``tok``; ConditionError past :data:`MAX_DEPTH`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(
                f"column {tok.pos}: the condition is nested deeper than {MAX_DEPTH} levels "
                "(of not and parentheses)"
            )

    def negation(self) -> Node:
        tok = self.accept("keyword", "not")
        if tok is None:
            return self.comparison()
        self.deeper(tok)
        inner = self.negation()
        self.depth -= 1
        return Not(inner)

    def comparison(self) -> Node:
        start = self.tok
        if self.accept("op", "("):
            self.deeper(start)
            inner = self.junction("or")
            self.expect("op", ")", "')'")
            self.depth -= 1
            return inner
        left = self.operand()
        if self.tok.kind == "op" and self.tok.text in ("=", "!=", "<>", "<", "<=", ">", ">="):
            op = self.take().text
            right = self.operand()
            return Compare("!=" if op == "<>" else op, left, right, start.pos)
        negated = False
        if self.tok.kind == "keyword" and self.tok.text == "not":
            self.take()
            negated = True
            if not (self.tok.kind == "keyword" and self.tok.text == "in"):
                raise ConditionError(
                    f"column {self.tok.pos}: expected in after not, found {_show(self.tok)}"
                )
        if self.accept("keyword", "in"):
            field = self._field_operand(left, "in")
            self.expect("op", "(", "'(' and a list of values")
            values = [self.literal()]
            while self.accept("op", ","):
                values.append(self.literal())
            self.expect("op", ")", "')' to close the list")
            return InList(field, tuple(values), negated, start.pos)
        if self.accept("keyword", "is"):
            field = self._field_operand(left, "is null")
            not_null = self.accept("keyword", "not") is not None
            self.expect("keyword", "null", "null")
            return IsNull(field, not_null, start.pos)
        if isinstance(left, Field):
            return BoolField(left)
        raise ConditionError(
            f"column {self.tok.pos}: expected a comparison after {left.value!r}, "
            f"found {_show(self.tok)}"
        )

    def _field_operand(self, operand: Field | Value, what: str) -> Field:
        if not isinstance(operand, Field):
            raise ConditionError(f"column {operand.pos}: {what} needs a field on its left")
        return operand

    def operand(self) -> Field | Value:
        tok = self.tok
        if tok.kind == "word":
            self.take()
            return Field(tok.text.lower(), tok.pos)
        return self.literal()

    def literal(self) -> Value:
        tok = self.take()
        if tok.kind == "number":
            return Value(float(tok.text), tok.pos)
        if tok.kind == "text":
            return Value(tok.text[1:-1].replace("''", "'"), tok.pos)
        if tok.kind == "keyword" and tok.text in ("true", "false"):
            return Value(tok.text == "true", tok.pos)
        raise ConditionError(f"column {tok.pos}: expected a value, found {_show(tok)}")


def _show(tok: _Tok) -> str:
    return "the end" if tok.kind == "end" else repr(tok.text)


def parse(text: str, fields: dict[str, Kind]) -> Node:
    """Parse ``text`` and check it against ``fields`` (name -> kind); ConditionError else."""
    if not text.strip():
        raise ConditionError("the condition is empty")
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"the condition is longer than {MAX_LENGTH} characters")
    node = _Parser(text).condition()
    _check(node, fields)
    return node


def _kind_of(operand: Field | Value, fields: dict[str, Kind]) -> Kind:
    if isinstance(operand, Value):
        return operand.kind
    if operand.name not in fields:
        raise ConditionError(
            f"column {operand.pos}: unknown field {operand.name!r}; known fields: "
            + ", ".join(sorted(fields))
        )
    return fields[operand.name]


def _check(node: Node, fields: dict[str, Kind]) -> None:
    match node:
        case Junction(parts=parts):
            for part in parts:
                _check(part, fields)
        case Not(operand=inner):
            _check(inner, fields)
        case BoolField(field=f):
            if _kind_of(f, fields) != "bool":
                raise ConditionError(
                    f"column {f.pos}: {f.name} is a {fields[f.name]}, not a yes/no field: "
                    "compare it with something"
                )
        case IsNull(operand=f):
            _kind_of(f, fields)
        case InList(operand=f, values=values):
            kind = _kind_of(f, fields)
            for v in values:
                if v.kind != kind:
                    raise ConditionError(
                        f"column {v.pos}: {f.name} is a {kind}, and {_describe(v)} is a {v.kind}"
                    )
        case Compare(op=op, left=left, right=right, pos=pos):
            lk, rk = _kind_of(left, fields), _kind_of(right, fields)
            if lk != rk:
                raise ConditionError(
                    f"column {pos}: cannot compare a {lk} with a {rk} "
                    f"({_describe(left)} {op} {_describe(right)})"
                )
            if lk == "bool" and op not in ("=", "!="):
                raise ConditionError(f"column {pos}: yes/no values compare only with = or !=")


def _describe(operand: Field | Value) -> str:
    if isinstance(operand, Field):
        return operand.name
    value = operand.value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def fields_used(node: Node) -> set[str]:
    match node:
        case Junction(parts=parts):
            return set().union(*(fields_used(p) for p in parts))
        case Not(operand=inner):
            return fields_used(inner)
        case BoolField(field=f) | IsNull(operand=f) | InList(operand=f):
            return {f.name}
        case Compare(left=left, right=right):
            return {o.name for o in (left, right) if isinstance(o, Field)}
    return set()  # pragma: no cover


def to_ibis(node: Node, table: ir.Table) -> ir.BooleanValue:
    """The condition as a boolean column expression over ``table`` (missing = false)."""
    return _compile(node, table).fill_null(False)


def _operand(operand: Field | Value, table: ir.Table) -> ir.Value:
    if isinstance(operand, Field):
        return table[operand.name]
    return ibis.literal(operand.value)


def _compile(node: Node, t: ir.Table) -> ir.BooleanValue:
    match node:
        case Junction(op="and", parts=parts):
            out = _compile(parts[0], t).fill_null(False)
            for part in parts[1:]:
                out = out & _compile(part, t).fill_null(False)
            return out
        case Junction(parts=parts):
            out = _compile(parts[0], t).fill_null(False)
            for part in parts[1:]:
                out = out | _compile(part, t).fill_null(False)
            return out
        case Not(operand=inner):
            return ~_compile(inner, t).fill_null(False)
        case BoolField(field=f):
            return t[f.name].fill_null(False)
        case IsNull(operand=f, negated=negated):
            return t[f.name].notnull() if negated else t[f.name].isnull()
        case InList(operand=f, values=values, negated=negated):
            member = t[f.name].isin([v.value for v in values])
            return (~member if negated else member).fill_null(False)
        case Compare(op=op, left=left, right=right):
            a, b = _operand(left, t), _operand(right, t)
            result = {
                "=": lambda: a == b,
                "!=": lambda: a != b,
                "<": lambda: a < b,
                "<=": lambda: a <= b,
                ">": lambda: a > b,
                ">=": lambda: a >= b,
            }[op]()
            return result.fill_null(False)
    raise AssertionError(node)  # pragma: no cover
