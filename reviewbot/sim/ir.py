"""The sim IR: a function is a flat tuple of instructions with integer jump targets.

Instructions (tuples, first item the opcode, second the source line):
  (EVAL, line, expr)                      side-effecting expression (assignments)
  (CALL, line, dest, callee, args, text)  a call that is not evaluated inline
  (BR, line, cond, target_true, target_false)
  (JMP, line, target, back)
  (RET, line, expr_or_None)
"""
from __future__ import annotations

from dataclasses import dataclass

EVAL, CALL, BR, JMP, RET = "eval", "call", "br", "jmp", "ret"

# An expression is a tuple tagged by its first item ("const", "var", "name", "field", "bin",
# ...), as cfront.Lowerer.expr builds it; an instruction is one of the tuples above.
Expr = tuple
Instr = tuple


@dataclass(frozen=True)
class Func:
    name: str
    path: str
    line: int
    params: list
    slot_names: list
    code: tuple
    error: str | None = None
    last_line: int = 0
    spans: tuple = ()      # (first, last) lines of each statement: what "a line ran" means

    def span_of(self, line: int) -> tuple[int, int] | None:
        """The innermost statement span holding a source line, or None (braces, comments)."""
        best = None
        for a, b in self.spans:
            if a <= line <= b and (best is None or b - a < best[1] - best[0]):
                best = (a, b)
        return best

    @property
    def nslots(self) -> int:
        return len(self.slot_names)

    def branches(self) -> list[tuple[int, int]]:
        """(pc, line) of every conditional branch, for coverage reports."""
        return [(pc, ins[1]) for pc, ins in enumerate(self.code) if ins[0] == BR]
