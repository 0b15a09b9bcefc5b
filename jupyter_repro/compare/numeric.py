"""Are two normalised texts the same text around numbers that agree? The ``floats`` and ``layout`` rules.

Pure: no I/O. Two honest runs print the same computation with different last digits (another BLAS,
another CPU's fused multiply-add, another summation order), and a library may pad or wrap the same
numbers differently. So texts are split into numbers and the structure between them; the structure
must be equal and the numbers close:

* a number written with a decimal point or exponent must agree within ``float_rtol`` (relative) or
  ``float_atol`` (absolute); integers are exact (counts, ids and indices are never noise);
* inside a table of numbers, a number's absolute tolerance is also ``float_rtol`` times the largest
  magnitude among its *neighbours*: the numbers of the same 1-D array, else of the same column of a
  2-D array, an HTML table or an aligned text table. Float noise is relative to the size of the
  computation, not to the result: the eigenvalues of ``[[1,2,3],[4,5,6],[7,8,9]]`` print as
  ``[1.61168440e+01, -1.11684397e+00, -1.30367773e-15]`` on one machine and end in ``-9.75918483e-16``
  on another; both say "zero, at the scale of 16". Columns and not rows, because the columns of a
  table are one quantity (one unit) while its rows mix quantities: a small probability next to a large
  price in one row must keep its own tolerance. This is a norm-wise comparison: a number that is a
  millionth of its column's largest is compared at that column's precision;
* ``layout``: in a text that holds such a table, whitespace counts by presence only and is optional next
  to brackets, commas, tags and numbers, because padding follows the widest number and NumPy re-wraps
  lines at 75 characters. Words keep their spaces (``New York`` is not ``NewYork``).

The strict comparison (structure exact, each number on its own) is tried first; tables are only looked
for when it fails, so the common case stays a regex split.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from jupyter_repro.compare.normalise import DEFAULT_OPTIONS, CompareOptions

NUMBER: Final = re.compile(r"((?:(?<![\w.)\]])[-+])?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)")
_ARRAY_PREFIXES: Final = ("array(", "tensor(", "Array(", "matrix(", "masked_array(")
_BRACKET = re.compile(r"[\[\]]")
_HTML_TABLE = re.compile(r"<table\b.*?</table>", re.DOTALL | re.IGNORECASE)
_HTML_ROW = re.compile(r"<tr\b.*?</tr>", re.DOTALL | re.IGNORECASE)
_HTML_CELL = re.compile(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", re.DOTALL | re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_OPTIONAL_SPACE = re.compile(r" ?([\[\](),<>]) ?")

Group = tuple[object, ...]


@dataclass(frozen=True)
class Tokens:
    """A text split at its numbers: ``parts`` has one more item than ``numbers``."""

    text: str
    parts: tuple[str, ...]
    numbers: tuple[str, ...]
    starts: tuple[int, ...]


def tokens(text: str) -> Tokens:
    """Split ``text`` into the structure between numbers and the numbers (with their offsets)."""
    parts: list[str] = []
    numbers: list[str] = []
    starts: list[int] = []
    last = 0
    for found in NUMBER.finditer(text):
        parts.append(text[last : found.start()])
        numbers.append(found.group())
        starts.append(found.start())
        last = found.end()
    parts.append(text[last:])
    return Tokens(text, tuple(parts), tuple(numbers), tuple(starts))


def is_float_text(token: str) -> bool:
    """A number written as a float (a point or an exponent): the only kind with a tolerance."""
    return any(marker in token for marker in ".eE")


def texts_equivalent(saved: str, new: str, options: CompareOptions = DEFAULT_OPTIONS) -> bool:
    """Equal text, or the same text around numbers that agree (``floats``, ``layout``)."""
    if saved == new:
        return True
    floats, layout = options.uses("floats"), options.uses("layout")
    if not (floats or layout):
        return False
    old, fresh = tokens(saved), tokens(new)
    if len(old.numbers) != len(fresh.numbers):
        return False
    if floats and old.parts == fresh.parts and _numbers_agree(old, fresh, options, None, None):
        return True
    old_groups, new_groups = neighbour_groups(old), neighbour_groups(fresh)
    if not (old_groups and new_groups):
        return False
    same_structure = all(map(_same_loosely, old.parts, fresh.parts)) if layout else old.parts == fresh.parts
    return same_structure and _numbers_agree(old, fresh, options, old_groups, new_groups)


def _same_loosely(saved: str, new: str) -> bool:
    return saved == new or _loose(saved) == _loose(new)


def _loose(part: str) -> str:
    return _OPTIONAL_SPACE.sub(r"\1", _WHITESPACE.sub(" ", part)).strip()


def _numbers_agree(
    old: Tokens,
    fresh: Tokens,
    options: CompareOptions,
    old_groups: dict[int, Group] | None,
    new_groups: dict[int, Group] | None,
) -> bool:
    if not options.uses("floats"):
        return old.numbers == fresh.numbers
    old_scale = _group_scales(old, old_groups)
    new_scale = _group_scales(fresh, new_groups)
    for index, (saved, new) in enumerate(zip(old.numbers, fresh.numbers, strict=True)):
        scale = max(old_scale.get(index, 0.0), new_scale.get(index, 0.0))
        if not numbers_close(saved, new, options, scale):
            return False
    return True


def numbers_close(
    saved: str, new: str, options: CompareOptions = DEFAULT_OPTIONS, scale: float = 0.0
) -> bool:
    """Two number tokens agree: equal, or both floats within tolerance (``scale``: the neighbours' largest
    magnitude, which widens the absolute tolerance to ``float_rtol * scale``)."""
    if saved == new:
        return True
    if not (is_float_text(saved) and is_float_text(new)):
        return False
    absolute = max(options.float_atol, options.float_rtol * scale)
    return math.isclose(float(saved), float(new), rel_tol=options.float_rtol, abs_tol=absolute)


def _group_scales(side: Tokens, groups: dict[int, Group] | None) -> dict[int, float]:
    """Number index -> the largest magnitude in its group (only numbers that are in a group)."""
    if not groups:
        return {}
    largest: dict[Group, float] = {}
    for index, group in groups.items():
        value = _magnitude(side.numbers[index])
        largest[group] = max(largest.get(group, 0.0), value)
    return {index: largest[group] for index, group in groups.items()}


def _magnitude(token: str) -> float:
    try:
        value = abs(float(token))
    except (ValueError, OverflowError):
        return 0.0
    return value if math.isfinite(value) else 0.0


# --------------------------------------------------------------------------------------- neighbours


def neighbour_groups(side: Tokens) -> dict[int, Group]:
    """Float number index -> its group of neighbours, for the numbers that are in a table.

    Arrays (``array([...])``, ``tensor([...])``, or bracketed without commas as ``print(array)`` shows
    them) group a 1-D array whole and a deeper one by column; HTML tables by column; runs of two or more
    consecutive lines with the same count of floats (pandas' text, aligned logs) by column.
    """
    indices = [index for index, token in enumerate(side.numbers) if is_float_text(token)]
    if not indices:
        return {}
    floats = _Floats(indices, [side.starts[index] for index in indices])
    groups: dict[int, Group] = {}
    for region, (start, end) in enumerate(_array_regions(side.text)):
        groups.update(_array_groups(side, floats, region, start, end))
    if "<t" in side.text:
        for table, found in enumerate(_HTML_TABLE.finditer(side.text)):
            groups.update(_table_groups(side, floats, table, found.start(), found.end()))
    groups.update(_line_groups(side, [index for index in indices if index not in groups]))
    return groups


def _array_regions(text: str) -> Iterator[tuple[int, int]]:
    """Top-level ``[...]`` spans that are arrays: after ``array(`` and friends, or without commas."""
    depth = 0
    start = 0
    for found in _BRACKET.finditer(text):
        if found.group() == "[":
            if depth == 0:
                start = found.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                end = found.end()
                if text[max(0, start - 14) : start].endswith(_ARRAY_PREFIXES) or "," not in text[start:end]:
                    yield start, end


@dataclass(frozen=True)
class _Floats:
    """The float tokens of one side (indices into ``Tokens.numbers``) and their offsets, both sorted."""

    indices: list[int]
    offsets: list[int]

    def within(self, start: int, end: int) -> list[int]:
        """The floats whose offset lies in ``[start, end)``, by bisection (a text may hold many arrays)."""
        return self.indices[bisect.bisect_left(self.offsets, start) : bisect.bisect_left(self.offsets, end)]


def _array_groups(side: Tokens, floats: _Floats, region: int, start: int, end: int) -> dict[int, Group]:
    inside = floats.within(start, end)
    if not inside:
        return {}
    events: list[tuple[int, int, str]] = [
        (found.start(), 0, found.group()) for found in _BRACKET.finditer(side.text, start, end)
    ]
    events += [(side.starts[index], 1, str(index)) for index in inside]
    events.sort()
    position: list[int] = []
    deepest = 0
    columns: dict[int, int] = {}
    for _, kind, value in events:
        if kind == 0 and value == "[":
            position.append(0)
            deepest = max(deepest, len(position))
        elif kind == 0:
            if position:
                position.pop()
        elif position:
            columns[int(value)] = position[-1]
            position[-1] += 1
    if deepest <= 1:
        return dict.fromkeys(columns, ("array", region))
    return {index: ("array", region, column) for index, column in columns.items()}


def _table_groups(side: Tokens, floats: _Floats, table: int, start: int, end: int) -> dict[int, Group]:
    spans: list[tuple[int, int, int]] = []
    for row in _HTML_ROW.finditer(side.text, start, end):
        for column, cell in enumerate(_HTML_CELL.finditer(side.text, row.start(), row.end())):
            spans.append((cell.start(1), cell.end(1), column))
    groups: dict[int, Group] = {}
    cell_starts = [span[0] for span in spans]
    for index in floats.within(start, end):
        offset = side.starts[index]
        at = bisect.bisect_right(cell_starts, offset) - 1
        if at >= 0 and spans[at][0] <= offset < spans[at][1]:
            groups[index] = ("table", table, spans[at][2])
    return groups


def _line_groups(side: Tokens, floats: list[int]) -> dict[int, Group]:
    """Runs of consecutive lines with the same number (>= 1) of floats, grouped by the float's place."""
    newlines = [found.start() for found in re.finditer("\n", side.text)]
    by_line: dict[int, list[int]] = {}
    for index in floats:
        by_line.setdefault(bisect.bisect_left(newlines, side.starts[index]), []).append(index)
    groups: dict[int, Group] = {}
    run: list[int] = []
    for line in sorted(by_line):
        if run and (line != run[-1] + 1 or len(by_line[line]) != len(by_line[run[0]])):
            groups.update(_run_groups(run, by_line))
            run = []
        run.append(line)
    groups.update(_run_groups(run, by_line))
    return groups


def _run_groups(run: list[int], by_line: dict[int, list[int]]) -> dict[int, Group]:
    if len(run) < 2:
        return {}
    return {index: ("lines", run[0], column) for line in run for column, index in enumerate(by_line[line])}
