"""Is a difference only how a known library prints the same values? Formatting families for verify.

Pure: no I/O. These differences are *not* tolerated: a notebook saved with NumPy 1 that prints
``9`` where NumPy 2 prints ``np.int64(9)`` does not reproduce its outputs as a reader sees them. But
"the values are equal and only the formatting changed" is a much better verdict than "differs", and
it points at the cause (the environment). So after the comparison says ``differ``, each family below
rewrites both sides to one canonical spelling; when the texts then agree (within the ``floats`` and
``layout`` rules), the families that were needed are named in ``CellComparison.formatting``.

The rewrites are only used for this diagnosis, never to decide a verdict, so they may be broad, but
each must keep every value: a family that made two different values look equal would name the wrong
cause. :func:`formatting_families` lists the families with a one-line explanation each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from jupyter_repro.compare.normalise import DEFAULT_OPTIONS, CompareOptions, canonical_literals
from jupyter_repro.compare.numeric import texts_equivalent


@dataclass(frozen=True)
class FormattingFamily:
    """One family of formatting-only differences.

    ``library`` is the distribution whose version decides the formatting ("" when it depends on the
    code: a printed version string). ``explanation`` is one line for a human.
    """

    name: str
    library: str
    explanation: str


FAMILIES: Final = (
    FormattingFamily(
        "numpy-scalar-repr",
        "numpy",
        "NumPy 2 shows scalars with their type (np.int64(9), np.float64(0.5), np.True_, np.str_('a')) "
        "where NumPy 1 showed the bare value",
    ),
    FormattingFamily(
        "class-path",
        "pandas",
        "a class is shown under another module path (<class 'pandas.DataFrame'> vs "
        "<class 'pandas.core.frame.DataFrame'>)",
    ),
    FormattingFamily(
        "pandas-string-dtype",
        "pandas",
        "pandas 3 shows text columns with dtype str where earlier versions showed object",
    ),
    FormattingFamily(
        "pandas-index-repr",
        "pandas",
        "pandas 2 shows every numeric index as Index([...], dtype='int64') where pandas 1 showed "
        "Int64Index, UInt64Index or Float64Index",
    ),
    FormattingFamily(
        "info-layout",
        "pandas",
        "DataFrame.info() lays out its table and memory usage differently",
    ),
    FormattingFamily(
        "sympy-latex",
        "sympy",
        "SymPy writes the same formula in other LaTeX markup ($\\displaystyle ...$ for $$...$$, "
        "\\left( for \\left ()",
    ),
    FormattingFamily(
        "inline-backend",
        "matplotlib-inline",
        "the notebook's inline plotting backend is named differently (module://ipykernel.pylab."
        "backend_inline, module://matplotlib_inline.backend_inline and inline are one backend)",
    ),
    FormattingFamily(
        "figure-size",
        "matplotlib",
        "the figure was rendered at another pixel size (DPI or figure size changed); images of "
        "different sizes cannot be compared pixel by pixel",
    ),
    FormattingFamily(
        "version-string",
        "",
        "the cell prints a version number, and another version is installed",
    ),
)
FAMILY_NAMES: Final = tuple(family.name for family in FAMILIES)


def formatting_families() -> tuple[FormattingFamily, ...]:
    """Every family, in the order they are reported."""
    return FAMILIES


def explain_formatting(name: str) -> str:
    """The one-line explanation of family ``name`` (the name itself, spelled out, if unknown)."""
    return next((family.explanation for family in FAMILIES if family.name == name), name.replace("-", " "))


# ------------------------------------------------------------------------------------------ rewrites

_NP_NUMBER = re.compile(
    r"\bnp\.(?P<kind>u?int(?:8|16|32|64|p|c)?|u?longlong|u?short|u?byte|float(?:16|32|64|96|128)|half|single|"
    r"double|longdouble|complex(?:64|128|192|256)|c?longdouble|csingle|cdouble)\("
    r"(?P<value>[^()]*|\([^()]*\))\)"
)
_NP_BOOL = re.compile(r"\bnp\.(True|False)_(?!\w)")
_NP_TEXT = re.compile(r"""\bnp\.(?:str_|bytes_)\((?P<value>b?'(?:[^'\\\n]|\\.)*'|b?"(?:[^"\\\n]|\\.)*")\)""")
_NP_TIME = re.compile(r"\bnp\.(datetime64|timedelta64)\(")
_QUOTED_NUMBER = re.compile(r"""^(['"])([-+.\deEinfa]+)\1$""")


def _numpy_scalars(text: str) -> str:
    if "np." not in text:
        return text
    text = _NP_NUMBER.sub(_bare_number, text)
    text = _NP_BOOL.sub(r"\1", text)
    text = _NP_TEXT.sub(r"\g<value>", text)
    return _NP_TIME.sub(r"numpy.\1(", text)


def _bare_number(found: re.Match[str]) -> str:
    value = found["value"]
    quoted = _QUOTED_NUMBER.match(value)
    if quoted is not None:  # np.longdouble('0.1')
        value = quoted.group(2)
    if found["kind"].startswith(("complex", "c")) and not value.startswith("("):
        return f"({value})"  # NumPy 1 printed complex scalars as Python does: (1+2j)
    return value


_CLASS_PATH = re.compile(r"<class '(?P<top>\w+)(?:\.\w+)+\.(?P<name>\w+)'>")
_OBJECT_PATH = re.compile(r"<(?P<top>\w+)(?:\.\w+)+\.(?P<name>\w+) object at ")


def _class_paths(text: str) -> str:
    text = _CLASS_PATH.sub(r"<class '\g<top>.\g<name>'>", text) if "<class '" in text else text
    return _OBJECT_PATH.sub(r"<\g<top>.\g<name> object at ", text) if " object at " in text else text


_STR_DTYPE = re.compile(r"(dtype: |dtype=')str\b")
_STR_COLUMN = re.compile(r"^(.*\S)( +)str(\(\d+\))?( *)$", re.MULTILINE)
_STR_COUNT = re.compile(r"\bstr(\(\d+\))")


def _string_dtype(text: str) -> str:
    if "str" not in text or "dtype" not in text:
        return text
    text = _STR_DTYPE.sub(r"\1object", text)
    text = _STR_COUNT.sub(r"object\1", text)
    return _STR_COLUMN.sub(r"\1\2object\3\4", text)


_NUMERIC_INDEX = re.compile(r"\b(?:Int64|UInt64|Float64)Index\(")
_WRAPPED = re.compile(r",\s+")
_PADDED_START = re.compile(r"\(\[\s+")


def _index_reprs(text: str) -> str:
    """``Int64Index([...])`` as ``Index([...])``, with the repr's wrapped lines joined and its padding
    dropped (the shorter name re-wraps the list at other items; pandas 2 pads the values to one width)."""
    if "Index(" not in text:
        return text
    return _PADDED_START.sub("([", _WRAPPED.sub(", ", _NUMERIC_INDEX.sub("Index(", text)))


_INFO_COLUMN = re.compile(r"^ *(?:\d+ +)?(?P<name>\S(?:.*?\S)?) +(?P<count>\d+) non-null +(?P<dtype>\S+) *$")
_INFO_RULES = re.compile(r"^ *(?:# +Column\b.*|-+(?: +-+)+ *)$")
_INFO_MEMORY = re.compile(r"^memory usage: .*$")


def _info_layout(text: str) -> str:
    if "non-null" not in text and "memory usage:" not in text:
        return text
    lines: list[str] = []
    for line in text.split("\n"):
        column = _INFO_COLUMN.match(line)
        if column is not None:
            lines.append(f"{column['name']} {column['count']} non-null {column['dtype']}")
        elif _INFO_MEMORY.match(line):
            lines.append("memory usage: <MEMORY>")
        elif _INFO_RULES.match(line) is None:
            lines.append(line)
    return "\n".join(lines)


_LATEX_WRAPPER = re.compile(r"^\s*\$\$(.*)\$\$\s*$|^\s*\$\\displaystyle\s*(.*)\$\s*$", re.DOTALL)
_LATEX_DELIMITER = re.compile(r"\\(left|right)\s+([()\[\]|.])")


def _sympy_latex(text: str) -> str:
    """A formula in one LaTeX spelling: SymPy >= 1.4 writes ``$\\displaystyle x$`` where older
    versions wrote ``$$x$$``, and ``\\left(`` where they wrote ``\\left (``."""
    wrapped = _LATEX_WRAPPER.match(text)
    if wrapped is None:
        return text
    formula = wrapped.group(1) if wrapped.group(1) is not None else wrapped.group(2)
    return "$" + _LATEX_DELIMITER.sub(r"\\\1\2", formula.strip()) + "$"


_INLINE_BACKEND = re.compile(r"module://(?:ipykernel\.pylab|matplotlib_inline)\.backend_inline\b")


def _inline_backend(text: str) -> str:
    return _INLINE_BACKEND.sub("inline", text) if "backend_inline" in text else text


_FIGURE_SIZE = re.compile(r"(<Figure size |Figure\()\d+x\d+")


def _figure_sizes(text: str) -> str:
    return _FIGURE_SIZE.sub(r"\1<SIZE>", text) if "Figure" in text else text


# a version has three parts, or two in a version context: a bare 0.5 is a float, not a version
_SUFFIX = r"(?:(?:a|b|rc|\.post|\.dev)\d+)*(?:\+[\w.]+)?"
_VERSION = rf"\d+\.\d+(?:\.\d+)*{_SUFFIX}"
_THREE_PARTS = rf"\d+\.\d+\.\d+(?:\.\d+)*{_SUFFIX}"
_LONG_VERSION = re.compile(rf"(?<![\w.]){_THREE_PARTS}(?![\w.])")
_LABELLED_VERSION = re.compile(rf"(__version__|\b[Vv]ersion|==)(\W{{0,4}}?)(?<![\w.]){_VERSION}(?![\w.])")
_WHOLE_VERSION = re.compile(rf"^\s*(?:(['\"]){_VERSION}\1|{_THREE_PARTS})\s*$")


def _version_strings(text: str) -> str:
    if _WHOLE_VERSION.match(text):
        return "<VERSION>"
    text = _LABELLED_VERSION.sub(r"\1\2<VERSION>", text)
    return _LONG_VERSION.sub("<VERSION>", text)


_REWRITES: Final[dict[str, Callable[[str], str]]] = {
    "numpy-scalar-repr": _numpy_scalars,
    "class-path": _class_paths,
    "pandas-string-dtype": _string_dtype,
    "pandas-index-repr": _index_reprs,
    "info-layout": _info_layout,
    "sympy-latex": _sympy_latex,
    "inline-backend": _inline_backend,
    "figure-size": _figure_sizes,
    "version-string": _version_strings,
}
_SPACES = re.compile(r"[ \t]+")


def rewrite(
    text: str, families: Sequence[str] = FAMILY_NAMES, options: CompareOptions = DEFAULT_OPTIONS
) -> str:
    """``text`` in the canonical spelling of ``families``, with runs of spaces as one space (a changed
    width re-pads a whole table) and dict/set literals re-sorted (a rewritten literal may parse now)."""
    for name in FAMILY_NAMES:
        if name in families:
            text = _REWRITES[name](text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return canonical_literals(text) if options.uses("reprs") else text


def text_formatting(saved: str, new: str, options: CompareOptions = DEFAULT_OPTIONS) -> frozenset[str] | None:
    """The families that make two differing texts agree, or None when no family explains the difference.

    A family is named only when it is needed: rewriting with every other family is not enough.
    A difference in spacing alone is not a family (the ``layout`` rule decides about spacing).
    """
    touched = [
        name for name in FAMILY_NAMES if _REWRITES[name](saved) != saved or _REWRITES[name](new) != new
    ]
    if not touched or _agree(saved, new, (), options) or not _agree(saved, new, touched, options):
        return None
    needed = frozenset(
        name
        for name in touched
        if not _agree(saved, new, [other for other in touched if other != name], options)
    )
    return needed or frozenset(touched)


def _agree(saved: str, new: str, families: Sequence[str], options: CompareOptions) -> bool:
    return texts_equivalent(rewrite(saved, families, options), rewrite(new, families, options), options)
