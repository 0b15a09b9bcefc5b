"""The tag grammar: which cells form which step, and what every other tag means.  (pure)

This module reads cell tags (ours, Kale's and nbval's, never rewriting them) and lays the notebook out
as steps of contiguous code cells, plus setup, parameter, skip and ignore-output cells. It knows
nothing about Python code beyond nbval's marker comments: data flow is :mod:`jupyter_repro.dataflow`.
Every mistake becomes a :class:`TagError` naming the notebook, the cell and the tag, because a tag
silently ignored is a pipeline silently wrong.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from jupyter_repro.errors import TagError
from jupyter_repro.model import MAIN_STEP, PARAMETERS_PROVIDER, Cell, CellRole

STEP_NAME = re.compile(r"[a-z_][a-z0-9_-]*")
RESERVED_STEP_NAMES = frozenset({PARAMETERS_PROVIDER, "setup"})
"""``inputs[].from`` says ``"parameters"`` for a parameter; a step of that name would be ambiguous."""

KALE_METRICS_STEP = "pipeline-metrics"
"""Kale's ``pipeline-metrics`` cells become a final step of this name (they print metric variables)."""

# tag -> role; Kale's roles are "sticky": untagged cells that follow continue them (Kale semantics).
_ROLE_TAGS: dict[str, tuple[CellRole, bool]] = {
    "parameters": ("parameters", False),
    "pipeline-parameters": ("parameters", True),
    "injected-parameters": ("injected-parameters", False),
    "setup": ("setup", False),
    "imports": ("setup", True),
    "functions": ("setup", True),
    "skip": ("skip", False),
    "nbval-skip": ("skip", False),
}
_FLAG_TAGS = {
    "no-cache": "no_cache",
    "ignore-output": "ignore_output",
    "nbval-ignore-output": "ignore_output",
    "raises-exception": "raises_exception",  # nbclient's and nbval's tag: the cell is meant to raise
}
_STEP_PREFIXES = ("step", "block")  # Kale writes block:NAME (older) or step:NAME
_AFTER_PREFIXES = ("after", "prev")  # Kale's prev:NAME is our after:NAME
_KNOWN_PLAIN = (*_ROLE_TAGS, *_FLAG_TAGS, KALE_METRICS_STEP)
_KNOWN_PREFIXES = (*_STEP_PREFIXES, *_AFTER_PREFIXES)
_NEAR_MISS_PLAIN = 0.85
_NEAR_MISS_PREFIX = 0.75

NBVAL_IGNORE_OUTPUT = "NBVAL_IGNORE_OUTPUT"
NBVAL_SKIP = "NBVAL_SKIP"
NBVAL_RAISES_EXCEPTION = "NBVAL_RAISES_EXCEPTION"
_NBVAL_MARKERS = frozenset(
    {NBVAL_IGNORE_OUTPUT, "PYTEST_VALIDATE_IGNORE_OUTPUT", NBVAL_SKIP, NBVAL_RAISES_EXCEPTION}
)


class RawCell(NamedTuple):
    """What the tag layer needs from a notebook cell (extracted by :mod:`jupyter_repro.pipeline`)."""

    cell_type: str
    source: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class CellTags:
    """The meaning of one code cell's tags and nbval comments."""

    step: str | None = None
    after: tuple[str, ...] = ()
    role: CellRole = "step"
    sticky: bool = False
    no_cache: bool = False
    ignore_output: bool = False
    raises_exception: bool = False
    """Tagged ``raises-exception`` or marked ``# NBVAL_RAISES_EXCEPTION``: an error is expected."""
    step_tag: str | None = None
    """The tag that named :attr:`step`, as written (for error messages)."""
    after_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepLayout:
    """One step as the tags lay it out, before data flow is known."""

    name: str
    start_cell: int
    """Where the step starts: its ``step:`` cell, or the first cell of the implicit ``main`` step."""
    cells: tuple[int, ...]
    after: tuple[tuple[str, int, str], ...]
    """Explicit dependencies as (step name, cell index of the tag, tag text)."""
    no_cache: bool


@dataclass(frozen=True)
class Layout:
    """The notebook's cells and steps (in notebook order) as read from the tags."""

    cells: tuple[Cell, ...]
    steps: tuple[StepLayout, ...]

    def indices(self, role: CellRole) -> tuple[int, ...]:
        """Indices of the cells with ``role``, in notebook order."""
        return tuple(cell.index for cell in self.cells if cell.role == role)

    @property
    def ignore_output_cells(self) -> tuple[int, ...]:
        """Code cells whose outputs verify does not compare."""
        return tuple(cell.index for cell in self.cells if cell.ignore_output)


def nbval_markers(source: str) -> frozenset[str]:
    """nbval's marker comments in ``source`` (any line ``# NBVAL_...``, as nbval itself finds them)."""
    found = set()
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = stripped.lstrip("#").strip()
            if comment in _NBVAL_MARKERS:
                found.add(comment if comment in (NBVAL_SKIP, NBVAL_RAISES_EXCEPTION) else NBVAL_IGNORE_OUTPUT)
    return frozenset(found)


def parse_cell_tags(tags: Iterable[str], source: str, *, notebook: str, cell: int) -> CellTags:
    """Read one code cell's tags (and nbval comments); raise :class:`TagError` for a mistake."""
    step: str | None = None
    step_tag: str | None = None
    after: list[str] = []
    after_tags: list[str] = []
    roles: dict[CellRole, tuple[str, bool]] = {}
    flags: set[str] = set()
    for raw in tags:
        tag = raw.strip()
        prefix, colon, value = tag.partition(":")
        if colon and prefix in _STEP_PREFIXES:
            if not value:  # Kale's UI can leave an empty "block:"; Kale treats it as no tag
                continue
            name = _checked_name(value, tag, notebook=notebook, cell=cell)
            if step is not None and name != step:
                raise TagError(
                    f"a cell can start only one step, found '{step_tag}' and '{tag}'",
                    notebook=notebook,
                    cell=cell,
                    tag=tag,
                )
            step, step_tag = name, tag
        elif colon and prefix in _AFTER_PREFIXES:
            after.append(_checked_name(value, tag, notebook=notebook, cell=cell))
            after_tags.append(tag)
        elif tag in _ROLE_TAGS:
            role, sticky = _ROLE_TAGS[tag]
            roles.setdefault(role, (tag, sticky))
        elif tag in _FLAG_TAGS:
            flags.add(_FLAG_TAGS[tag])
        elif tag == KALE_METRICS_STEP:
            if step is not None and step != KALE_METRICS_STEP:
                raise TagError(
                    f"a cell can start only one step, found '{step_tag}' and '{tag}'",
                    notebook=notebook,
                    cell=cell,
                    tag=tag,
                )
            step, step_tag = KALE_METRICS_STEP, tag
        else:
            _reject_near_miss(tag, notebook=notebook, cell=cell)
    markers = nbval_markers(source)
    if NBVAL_SKIP in markers:
        roles.setdefault("skip", (f"# {NBVAL_SKIP}", False))
    if NBVAL_IGNORE_OUTPUT in markers:
        flags.add("ignore_output")
    if NBVAL_RAISES_EXCEPTION in markers:
        flags.add("raises_exception")
    role, sticky = _single_role(roles, step_tag, notebook=notebook, cell=cell)
    return CellTags(
        step=step,
        after=tuple(after),
        role=role,
        sticky=sticky,
        no_cache="no_cache" in flags,
        ignore_output="ignore_output" in flags,
        raises_exception="raises_exception" in flags,
        step_tag=step_tag,
        after_tags=tuple(after_tags),
    )


def _checked_name(value: str, tag: str, *, notebook: str, cell: int) -> str:
    if not STEP_NAME.fullmatch(value):
        lowered = re.sub(r"[^a-z0-9_-]+", "_", value.lower()).strip("_-") or "step_name"
        suggestion = lowered if STEP_NAME.fullmatch(lowered) else f"_{lowered}"
        raise TagError(
            f"invalid step name '{value}': use lowercase letters, digits, '_' and '-', "
            "starting with a letter or '_'",
            notebook=notebook,
            cell=cell,
            tag=tag,
            hint=f"e.g. '{tag.partition(':')[0]}:{suggestion}'",
        )
    if value in RESERVED_STEP_NAMES:
        raise TagError(
            f"'{value}' is reserved and cannot name a step",
            notebook=notebook,
            cell=cell,
            tag=tag,
            hint=f"to mark the cell itself, tag it '{value}'",
        )
    return value


def _reject_near_miss(tag: str, *, notebook: str, cell: int) -> None:
    """Other tools' tags pass; a tag that looks like a misspelt one of ours is an error."""
    prefix, colon, value = tag.partition(":")
    if colon:
        close = difflib.get_close_matches(prefix.lower(), _KNOWN_PREFIXES, n=1, cutoff=_NEAR_MISS_PREFIX)
        suggestion = f"{close[0]}:{value}" if close else None
    else:
        close = difflib.get_close_matches(tag.lower(), _KNOWN_PLAIN, n=1, cutoff=_NEAR_MISS_PLAIN)
        suggestion = close[0] if close else None
    if suggestion is not None:
        raise TagError(
            "unknown jupyter-repro tag (tags are case-sensitive)",
            notebook=notebook,
            cell=cell,
            tag=tag,
            hint=f"did you mean '{suggestion}'?",
        )


def _single_role(
    roles: dict[CellRole, tuple[str, bool]], step_tag: str | None, *, notebook: str, cell: int
) -> tuple[CellRole, bool]:
    """``skip`` wins over everything; otherwise a cell has at most one role."""
    if "skip" in roles:
        return "skip", False
    if len(roles) > 1:
        first, second, *_ = sorted(tag for tag, _ in roles.values())
        raise TagError(
            f"tags '{first}' and '{second}' give the cell two roles",
            notebook=notebook,
            cell=cell,
            tag=second,
            hint="keep one of them",
        )
    if roles and step_tag is not None:
        ((tag, _),) = roles.values()
        raise TagError(
            f"a '{tag}' cell cannot also start a step",
            notebook=notebook,
            cell=cell,
            tag=step_tag,
            hint="put the step tag on the next cell",
        )
    if roles:
        ((role, (_, sticky)),) = roles.items()
        return role, sticky
    return "step", False


class _StepBuilder:
    """Accumulates one step while the layout walks the cells."""

    def __init__(self, name: str, start_cell: int) -> None:
        self.name = name
        self.start_cell = start_cell
        self.cells: list[int] = []
        self.after: list[tuple[str, int, str]] = []
        self.no_cache = False

    def build(self) -> StepLayout:
        return StepLayout(self.name, self.start_cell, tuple(self.cells), tuple(self.after), self.no_cache)


class _Walker:
    """Walks the cells in order, keeping the current step and Kale's sticky role."""

    def __init__(self, notebook: str) -> None:
        self.notebook = notebook
        self.steps: list[_StepBuilder] = []
        self.current: _StepBuilder | None = None
        self.sticky_role: CellRole | None = None
        self.cells: list[Cell] = []
        self.parameters_at: dict[str, int] = {}

    def add(self, index: int, raw: RawCell) -> None:
        if raw.cell_type != "code":
            self.cells.append(Cell(index, raw.cell_type, raw.source, raw.tags, "text", None, False))
            return
        parsed = parse_cell_tags(raw.tags, raw.source, notebook=self.notebook, cell=index)
        if parsed.step is not None:
            self._start(parsed.step, index, parsed.step_tag or parsed.step)
        role = self._role(parsed)
        self._check_single(role, index)
        if role == "step":
            self._ensure_step(index).cells.append(index)
        self._attach_after(parsed, role, index)
        self._attach_no_cache(parsed, role, index)
        step = self.current.name if self.current is not None and role in ("step", "skip") else None
        self.cells.append(
            Cell(
                index,
                raw.cell_type,
                raw.source,
                raw.tags,
                role,
                step,
                parsed.ignore_output,
                raises_exception=parsed.raises_exception,
            )
        )

    def _role(self, parsed: CellTags) -> CellRole:
        if parsed.role == "skip":
            if parsed.step is not None:
                self.sticky_role = None  # a skipped cell that starts a step ends Kale's sticky role
            return "skip"  # otherwise a skipped cell does not interrupt it (as in Kale)
        if parsed.role != "step" or parsed.step is not None or parsed.after:
            self.sticky_role = parsed.role if parsed.sticky else None
            return parsed.role
        # an untagged cell (flags like no-cache do not count) continues Kale's sticky role
        if self.sticky_role is not None:
            return self.sticky_role
        return "step"

    def _start(self, name: str, index: int, tag: str) -> None:
        if self.current is not None and self.current.name == name:
            return  # the same step tagged again on a following cell: Kale style, fine
        earlier = next((step for step in self.steps if step.name == name), None)
        if earlier is not None:
            raise TagError(
                f"step '{name}' already started at cell {earlier.start_cell}; a step's cells must be "
                "contiguous",
                notebook=self.notebook,
                cell=index,
                tag=tag,
                hint="rename one of them or move the cells together",
            )
        self.current = _StepBuilder(name, index)
        self.steps.append(self.current)

    def _ensure_step(self, index: int) -> _StepBuilder:
        if self.current is None:  # code before the first step tag forms step "main"
            self._start(MAIN_STEP, index, MAIN_STEP)
        assert self.current is not None
        return self.current

    def _check_single(self, role: CellRole, index: int) -> None:
        if role != "injected-parameters":
            return
        if role in self.parameters_at:
            raise TagError(
                f"more than one '{role}' cell (the first is cell {self.parameters_at[role]})",
                notebook=self.notebook,
                cell=index,
                tag=role,
                hint="keep one of them",
            )
        self.parameters_at[role] = index

    def _attach_after(self, parsed: CellTags, role: CellRole, index: int) -> None:
        if not parsed.after:
            return
        if role not in ("step", "skip") or self.current is None:
            raise TagError(
                "this cell belongs to no step, so it cannot depend on one",
                notebook=self.notebook,
                cell=index,
                tag=parsed.after_tags[0],
                hint="put the after: tag on a cell of the dependent step",
            )
        for name, tag in zip(parsed.after, parsed.after_tags, strict=True):
            if all(existing != name for existing, _, _ in self.current.after):
                self.current.after.append((name, index, tag))

    def _attach_no_cache(self, parsed: CellTags, role: CellRole, index: int) -> None:
        if not parsed.no_cache or role == "skip":
            return
        if role != "step" or self.current is None:
            raise TagError(
                f"a {role} cell is not part of a step, so 'no-cache' has no effect on it",
                notebook=self.notebook,
                cell=index,
                tag="no-cache",
                hint="put 'no-cache' on a cell of the step that must always re-execute",
            )
        self.current.no_cache = True


def layout(cells: Sequence[RawCell], notebook: str) -> Layout:
    """Lay the notebook out as steps; raise :class:`TagError` for unusable tags.

    Cells before the first ``step:`` tag form step ``main``; a notebook without any step gets one
    (possibly empty) ``main`` step, so every notebook is a pipeline. ``after:`` names are checked here.
    """
    walker = _Walker(notebook)
    for index, raw in enumerate(cells):
        walker.add(index, raw)
    steps = [builder.build() for builder in walker.steps] or [StepLayout(MAIN_STEP, 0, (), (), False)]
    _check_after_targets(steps, notebook)
    return Layout(tuple(walker.cells), tuple(steps))


def _check_after_targets(steps: Sequence[StepLayout], notebook: str) -> None:
    names = [step.name for step in steps]
    for step in steps:
        for target, cell, tag in step.after:
            if target not in names:
                raise TagError(
                    f"no step named '{target}'",
                    notebook=notebook,
                    cell=cell,
                    tag=tag,
                    hint=f"steps: {', '.join(names)}",
                )
