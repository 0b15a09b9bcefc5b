"""What of a cell's output is the result, and what is the moment, machine or library that printed it.

Pure: no file or network I/O. Saved and new outputs are nbformat output dicts; both sides go through
the same normalisation (:func:`normalise_outputs`), then :mod:`jupyter_repro.compare` compares them
output by output. Every rule below exists because the raw text differs between two honest runs of the
same code, and each can be turned off by name (:class:`CompareOptions`), so a user who cares about one
of these details can ask for it. Each rule is also a promise the other way: a real difference next to
the noise it removes is still reported (``tests/test_compare*.py`` holds one case of each kind).

Rules (names accepted by ``CompareOptions(disabled=...)``):

``streams``
    Consecutive stream outputs are merged; within such a run stdout comes before stderr (the two pipes
    race, so their interleaving is not part of the result), but text never moves between them.
``carriage_returns``
    ``\\r`` progress bars are collapsed: each line keeps the text after its last ``\\r``, as a terminal
    shows it; a backspace (``\\x08``, Keras' progress bar) erases the character before it, as JupyterLab
    does before it saves a stream. (``\\r\\n`` is always read as ``\\n``.)
``progress``
    Progress meters keep their description, ``n/total`` and postfix (``loss=0.12``) but lose bar,
    percentage, elapsed and remaining times, rates and the padding after them: tqdm text (also the
    text of a tqdm widget, and inside HTML), fastprogress' HTML ``[10/10 00:02&lt;00:00]`` and Keras'
    ``10/10 [====] - 1s 5ms/step`` / ``10/10 ━━━━ 1s 5ms/step``.
``ansi``
    ANSI colour codes are dropped (colour depends on whether a terminal is attached).
``addresses``
    ``0x7f...`` memory addresses (6+ hex digits) become ``0xADDR``.
``datetimes``
    Date-times (``2024-01-02T03:04:05``, ``2024-01-02 03:04:05.123456``, logging's ``,123``), clock
    times ``03:04:05``, ``time.ctime()`` strings and ``datetime.datetime(...)`` reprs become placeholders.
    Bare dates (``2024-01-02``) are kept: they are usually data, not the moment of the run.
``durations``
    ``%time``'s ``CPU times:`` / ``Wall time:`` lines and "took/elapsed 1.2 s" become placeholders;
    ``%timeit`` results in every IPython form (``1.28 ms ± 159 μs per loop (mean ± std. dev. of 7 runs,
    1,000 loops each)`` with µ or μ, ``+-``, ``1min 5s``, one run / one loop, the ``<TimeitResult : ...>``
    repr of ``-o``, and the old ``100 loops, best of 3: 2.5 ms per loop``) become one ``<TIMEIT>``, so a
    notebook saved by IPython 4 matches today's form (runs and loops are part of the timing). Lines IPython
    prints only when a timing crosses a threshold (``The slowest run took ...``, ``Compiler time:``,
    ``Compiler :``, ``Parser   :``) are dropped.
``profiles``
    cProfile tables (``%prun``, ``cProfile.run``): the times go, the call counts and functions stay.
    ``N function calls in X seconds`` loses ``X``; each row keeps ``ncalls`` and
    ``file.py:lineno(function)`` (the file without its folder, which is where the interpreter is
    installed) and the rows are sorted (a time ordering is timing; any other ordering is derived from
    what the rows show). When a time-ordered list is cut (``List reduced from 50 to 10``) which rows
    survive is timing too, so only the counts are compared.
``temp_paths``
    IPython's cell files (``/tmp/ipykernel_1234/567.py``) and ``tempfile`` names (``/tmp/tmpab12cd34``);
    ``%%writefile``'s ``Writing F`` / ``Overwriting F`` (the file name is still compared).
``warning_paths``
    In stderr only: ``File "...", line N`` and ``path.py:N: SomeWarning:`` prefixes lose path and line
    (they change with the interpreter location and library versions, the warning itself does not).
``ids``
    Random identifiers: UUIDs, pandas Styler table ids (``T_1a2b3``), matplotlib SVG element ids.
``widgets``
    Widget views (ipywidgets, tqdm.notebook bars, any ``application/vnd.jupyter.widget-view+json``) are
    compared without their ``model_id``, which is random per kernel; everything else in them is compared.
``reprs``
    A text that parses as a Python literal (``ast.literal_eval``) containing a dict or set is compared
    with keys and members sorted; text that does not parse is compared as text (ambiguous otherwise).
``floats``
    Texts are compared token by token: the non-number parts must be equal, and numbers written with a
    decimal point or exponent must agree within ``float_rtol``/``float_atol``. Integers are exact. In a
    NumPy/torch array repr, an HTML table or an aligned text table (pandas, ``print(array)``), a number's
    absolute tolerance is also ``float_rtol`` times the largest magnitude among its neighbours (the
    whole 1-D array, else its column): ``-1.30367773e-15`` against ``-9.75918483e-16`` next to
    ``1.61168440e+01`` is the same eigenvalue from another BLAS (see :mod:`jupyter_repro.compare.numeric`).
``layout``
    pandas' ``<style scoped>`` block is dropped from ``text/html``; in an output that shows an array or
    table of numbers, whitespace is compared by presence only and is optional next to brackets, commas,
    tags and numbers (alignment padding changes whenever a number's printed width does, and NumPy
    re-wraps long arrays).
``images``
    ``image/png`` and ``image/jpeg`` are decoded (over a white background) and compared pixel by
    pixel within the image tolerances, never as base64 text.
``rendered_images``
    An image whose output also carries the text it was rendered from (``text/latex``, ``text/html``,
    ``text/markdown`` or ``image/svg+xml``; e.g. a SymPy formula) matches when that text matches and
    the image sizes agree within ``rendered_size_tolerance`` (a formula one pixel shorter is another
    LaTeX/font install, not another formula). ``text/plain`` is never such evidence: matplotlib's
    ``<Figure size 640x480 with 1 Axes>`` says nothing about what the figure shows.

Always, without a rule: execution counts and output metadata are ignored, and ``execute_result`` and
``display_data`` are the same kind of output.

Which representation of a rich output is compared: the first of :data:`MIME_PREFERENCE` that both
sides have. Images win (an image that turns into text differs); ``text/html`` is compared when both have
it (it is what the user sees; pandas' HTML is deterministic once Styler ids are normalised). Vendor
payloads (``application/vnd.*``, including ``application/vnd.jupyter-repro.*``; e.g. plotly, vega,
bokeh) come after ``text/plain``: they carry renderer-specific ids and versions, so when a bundle also
has ``text/plain`` that is what is compared. Errors are compared by ``ename`` and ``evalue``, not by
traceback text.

Differences no rule tolerates but that are only formatting of a known library (NumPy 2 scalar reprs,
pandas' string dtype, ...) are recognised after the comparison by :mod:`jupyter_repro.compare.formatting`.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

Rule = Literal[
    "streams",
    "carriage_returns",
    "progress",
    "ansi",
    "addresses",
    "datetimes",
    "durations",
    "profiles",
    "temp_paths",
    "warning_paths",
    "ids",
    "widgets",
    "reprs",
    "floats",
    "layout",
    "images",
    "rendered_images",
]
RULES: Final[frozenset[str]] = frozenset(get_args(Rule))

WIDGET_MIME: Final = "application/vnd.jupyter.widget-view+json"
IMAGE_MIMES: Final = ("image/png", "image/jpeg")
MIME_PREFERENCE: Final = (
    WIDGET_MIME,
    *IMAGE_MIMES,
    "text/html",
    "image/svg+xml",
    "text/markdown",
    "text/latex",
    "application/json",
    "text/plain",
)
_MAX_FIXPOINT_PASSES: Final = 4
_MAX_LITERAL_CHARS: Final = 200_000


@dataclass(frozen=True)
class CompareOptions:
    """Tolerances and switched-off rules; the defaults are what ``verify`` uses.

    Image tolerances are on the 0-255 scale of each RGB channel. A pixel "differs" when one of its
    channels moves by more than ``image_pixel_threshold``; images match when the mean absolute channel
    difference is at most ``image_mean_tolerance`` and at most ``image_max_differing_fraction`` of the
    pixels differ. The defaults absorb anti-aliasing and JPEG noise but catch a changed tick label on a
    640x480 figure (about 70 pixels, 2e-4 of it). Images of different sizes always differ, except under
    ``rendered_images``: there each dimension may differ by ``rendered_size_tolerance`` of the larger
    (at least 2 pixels) when the text the image renders matches.
    """

    float_rtol: float = 1e-6
    float_atol: float = 0.0
    image_mean_tolerance: float = 2.0
    image_pixel_threshold: int = 32
    image_max_differing_fraction: float = 1e-4
    rendered_size_tolerance: float = 0.05
    max_diff_lines: int = 200
    disabled: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        unknown = set(self.disabled) - RULES
        if unknown:
            raise ValueError(f"unknown comparison rule(s) {sorted(unknown)}; known: {sorted(RULES)}")
        tolerances = (
            self.float_rtol,
            self.float_atol,
            self.image_mean_tolerance,
            self.rendered_size_tolerance,
        )
        if min(tolerances) < 0:
            raise ValueError("tolerances must be >= 0")
        if not 0 <= self.image_pixel_threshold <= 255:
            raise ValueError("image_pixel_threshold must be within 0..255")
        if not 0 <= self.image_max_differing_fraction <= 1:
            raise ValueError("image_max_differing_fraction must be within 0..1")
        if self.max_diff_lines < 1:
            raise ValueError("max_diff_lines must be >= 1")

    def uses(self, rule: Rule) -> bool:
        """Whether ``rule`` is on."""
        return rule not in self.disabled


DEFAULT_OPTIONS: Final = CompareOptions()


@dataclass(frozen=True)
class NormalisedOutput:
    """One output after normalisation: what is compared, and what a report shows side by side.

    ``kind`` is ``stream`` (``label`` stdout/stderr), ``data`` (``label`` execute_result/display_data)
    or ``error``. ``data`` maps each mimetype to its normalised text; images keep their base64 payload
    (without whitespace) since they are compared decoded. ``key`` is the preferred mimetype.
    """

    kind: Literal["stream", "data", "error"]
    label: str
    data: Mapping[str, str]
    key: str

    @property
    def text(self) -> str:
        """The preferred representation as text (a placeholder for images)."""
        return self.render(self.key)

    def render(self, mime: str) -> str:
        """Representation ``mime`` as text; images become ``<image/png>``."""
        return f"<{mime}>" if mime in IMAGE_MIMES else self.data[mime]


def ranked(data: Mapping[str, str]) -> list[str]:
    """The mimetypes of a bundle, most preferred first (see :data:`MIME_PREFERENCE`)."""
    preferred = [mime for mime in MIME_PREFERENCE if mime in data]
    return preferred + sorted(mime for mime in data if mime not in MIME_PREFERENCE)


def joined(value: object) -> str:
    """nbformat multiline strings may be stored as lists of lines."""
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return str(value)


# ------------------------------------------------------------------------------------------ outputs


def normalise_outputs(
    outputs: Sequence[Mapping[str, Any]], options: CompareOptions = DEFAULT_OPTIONS
) -> list[NormalisedOutput]:
    """Normalise a cell's nbformat outputs; empty stream outputs disappear."""
    normalised: list[NormalisedOutput] = []
    for group in _stream_runs(outputs, options):
        if group[0].get("output_type") == "stream":
            normalised.extend(_normalise_streams(group, options))
        else:
            normalised.append(_normalise_rich(group[0], options))
    return normalised


def _stream_runs(
    outputs: Sequence[Mapping[str, Any]], options: CompareOptions
) -> Iterator[list[Mapping[str, Any]]]:
    """Consecutive stream outputs as one group (when merging), every other output alone."""
    run: list[Mapping[str, Any]] = []
    for output in outputs:
        if output.get("output_type") == "stream" and options.uses("streams"):
            run.append(output)
            continue
        if run:
            yield run
            run = []
        yield [output]
    if run:
        yield run


def _normalise_streams(group: Sequence[Mapping[str, Any]], options: CompareOptions) -> list[NormalisedOutput]:
    names = list(dict.fromkeys(_stream_name(output) for output in group))
    names.sort(key=lambda name: (name != "stdout", name != "stderr", name))
    merged: list[NormalisedOutput] = []
    for name in names:
        raw = "".join(joined(output.get("text", "")) for output in group if _stream_name(output) == name)
        text = normalise_text(raw, options, stderr=name == "stderr", literals=True)
        if text:
            merged.append(NormalisedOutput("stream", name, {"text/plain": text}, "text/plain"))
    return merged


def _stream_name(output: Mapping[str, Any]) -> str:
    return str(output.get("name", "stdout"))


def _normalise_rich(output: Mapping[str, Any], options: CompareOptions) -> NormalisedOutput:
    output_type = str(output.get("output_type", ""))
    if output_type == "error":
        ename = normalise_text(str(output.get("ename", "")), options)
        evalue = normalise_text(joined(output.get("evalue", "")), options)
        return NormalisedOutput("error", "error", {"text/plain": f"{ename}: {evalue}"}, "text/plain")
    bundle = output.get("data")
    if not isinstance(bundle, Mapping):
        bundle = {"text/plain": _canonical_json(_without(output, ("execution_count", "metadata")))}
    data = {str(mime): _normalise_value(str(mime), value, options) for mime, value in bundle.items()}
    if not data:
        data = {"text/plain": ""}
    return NormalisedOutput("data", output_type, data, ranked(data)[0])


def _normalise_value(mime: str, value: object, options: CompareOptions) -> str:
    if mime in IMAGE_MIMES and isinstance(value, (str, list)):
        return "".join(joined(value).split())
    if mime == WIDGET_MIME and isinstance(value, Mapping) and options.uses("widgets"):
        value = _without(value, ("model_id",))
    is_json = mime == "application/json" or mime.endswith("+json")
    text = _canonical_json(value) if is_json or not isinstance(value, (str, list)) else joined(value)
    if mime == "text/html" and options.uses("layout"):
        text = _sub_if(("<style scoped",), _SCOPED_STYLE, "", text)
    normalised = normalise_text(text, options, literals=mime == "text/plain")
    if mime == "image/svg+xml" and options.uses("ids"):
        normalised = _SVG_ID.sub(r"\1\2<ID>", normalised)
    return normalised


def _without(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: item for key, item in mapping.items() if key not in keys}


def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, default=str)


# ---------------------------------------------------------------------------------------- text rules

ANSI: Final = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CR_BEFORE_NEWLINE = re.compile(r"\r+(?=\n|\Z)")
_BACKSPACED = re.compile(r"[^\n\x08]\x08")
_SIZE = r"[\d.]+[kMGTP]?"
_END_PADDING = r"(?:[ \t]+(?=\n|\Z))?"
_TQDM_TOTAL = re.compile(
    rf"\d{{1,3}}%\|[^|\n]*\|\s*(?P<n>{_SIZE})/(?P<total>{_SIZE})\s*\[(?P<inside>[^\]\n]*)\]{_END_PADDING}"
)
_TQDM_OPEN = re.compile(
    rf"(?<![\w.])(?P<n>{_SIZE})(?P<unit>[A-Za-z]*) \[(?P<inside>\d+:\d\d(?::\d\d)?, [^\]\n]*?/(?:s|it)\b"
    rf"[^\]\n]*)\]{_END_PADDING}"
)
_FASTPROGRESS = re.compile(
    r"(?:\d{1,3}(?:\.\d+)?% )?\[(?P<n>\d+)/(?P<total>\d+) (?:\d+:)?\d\d:\d\d(?:&lt;|<)(?:\d+:)?\d\d:\d\d"
    r"(?P<postfix>[^\]\n]*)\]"
)
_KERAS_STEP = r"\d+(?:\.\d+)?(?:s|ms|us|µs|μs)/(?:step|sample)"
_KERAS = re.compile(
    rf"(?P<n>\d+/\d+) (?:\[[=>.]*\]|━+)(?: - ETA: [\dhms:]+| (?:- )?\d+(?:s|ms|us|min)(?: {_KERAS_STEP})?"
    rf"| {_KERAS_STEP})?"
)
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
_CELL_FILE = re.compile(r"""(?:[A-Za-z]:)?[^\s"'<>:]*ipykernel_\d+[/\\]\d+\.py""")
_TEMP_NAME = re.compile(
    r"(?:/tmp|/var/tmp|(?:/private)?/var/folders/[\w-]+/[\w-]+/T|[A-Za-z]:\\(?:[^\s\"'\\]+\\)*?Temp)"
    r"[/\\]tmp[a-z0-9_]{8}\b"
)
_FILE_LINE = re.compile(r'^(\s*)File "[^"\n]*", line \d+', re.MULTILINE)
_WARNING_PREFIX = re.compile(
    r"^(?:[A-Za-z]:)?[^\s:][^:\n]*\.pyx?:\d+: (?=\w*(?:Warning|Error)\b)", re.MULTILINE
)
_IPYTHON_CELL = re.compile(r"\b(Cell In|Input In) ?\[\d*\], line \d+")
_DATETIME = re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z\b|[+-]\d\d:?\d\d\b)?(?!\d)")
_CTIME = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[ \d]\d \d\d:\d\d:\d\d \d{4}\b"
)
_CLOCK = re.compile(r"(?<![\d.])(?<!\d:)\d{1,2}:\d\d:\d\d(?:[.,]\d+)?(?![\d:])")
_DATETIME_REPR = re.compile(
    r"datetime\.(datetime|time)\(\d+(?:, \d+)*(?:, (?:tzinfo|fold)=[^()\n]*(?:\([^()\n]*\))?)*\)"
)
_MAGIC_TIMES = re.compile(r"^(\s*)(Wall time|CPU times):.*$", re.MULTILINE)
# IPython's _format_time: "%.3g <unit>" with µ/μ/u, or "1h 2min 3s" from a minute on
_SPAN = r"(?:\d+(?:\.\d+)?(?:e[-+]?\d+)? ?(?:ns|[µμu]s|ms|s)\b|\d+(?:d|h|min|s)(?: \d+(?:d|h|min|s))*\b)"
_PLUS_MINUS = r"(?:±|\+-)"
_TIMEIT = re.compile(
    rf"{_SPAN} {_PLUS_MINUS} {_SPAN} per loop \(mean {_PLUS_MINUS} std\. dev\. of (?P<runs>[\d,]+) runs?, "
    rf"[\d,]+ loops? each\)|[\d,]+ loops?, best of (?P<best>\d+): {_SPAN} per loop"
)
_TIMING_ONLY_LINES = re.compile(
    r"^(?:The slowest run took [\d.]+ times longer than the fastest\. This could mean that an "
    rf"intermediate result is being cached\.|Compiler time: [\d.]+ s|(?:Compiler|Parser) *: {_SPAN})"
    r"[ \t]*(?:\n|\Z)",
    re.MULTILINE,
)
_TOOK = re.compile(
    r"(?i)\b(took|elapsed(?: time)?|duration|time taken|run ?time)(:?\s+)"
    r"\d+(?:\.\d+)?\s*(?:ns|[µμu]s|ms|s|secs?|seconds?|min|minutes?)\b"
)
_TOOK_HINT = re.compile(r"(?i)took|elapsed|duration|time taken|run ?time")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_STYLER_ID = re.compile(r"\bT_[0-9a-f]{5}(?![0-9a-zA-Z])")
_SVG_ID = re.compile(r"""(id="|#)([A-Za-z])[0-9a-f]{10}(?=["')])""")
_SCOPED_STYLE = re.compile(r"<style scoped>.*?</style>[ \t]*\n?", re.DOTALL)


def normalise_text(
    text: str, options: CompareOptions = DEFAULT_OPTIONS, *, stderr: bool = False, literals: bool = False
) -> str:
    """Apply the text rules until nothing changes (so the result is a fixed point: idempotent).

    ``stderr`` adds the warning/traceback path rule; ``literals`` the dict/set rule (for plain text).
    """
    for _ in range(_MAX_FIXPOINT_PASSES):
        again = _normalise_once(text, options, stderr=stderr, literals=literals)
        if again == text:
            break
        text = again
    return text


def _normalise_once(text: str, options: CompareOptions, *, stderr: bool, literals: bool) -> str:
    text = text.replace("\r\n", "\n")
    for rule, transform in _text_rules(stderr=stderr, literals=literals):
        if options.uses(rule):
            text = transform(text)
    return text


def _text_rules(*, stderr: bool, literals: bool) -> list[tuple[Rule, Callable[[str], str]]]:
    rules: list[tuple[Rule, Callable[[str], str]]] = [
        ("ansi", strip_ansi),
        ("carriage_returns", _collapse_carriage_returns),
        ("progress", _normalise_progress),
        ("addresses", _normalise_addresses),
    ]
    if stderr:
        rules.append(("warning_paths", _normalise_warning_paths))
    rules += [
        ("temp_paths", _normalise_temp_paths),
        ("durations", _normalise_durations),
        ("profiles", _normalise_profiles),
        ("datetimes", _normalise_datetimes),
        ("ids", _normalise_ids),
    ]
    if literals:
        rules.append(("reprs", canonical_literals))
    return rules


def _sub_if(markers: tuple[str, ...], pattern: re.Pattern[str], replacement: Any, text: str) -> str:
    """``pattern.sub`` only when a literal the pattern needs occurs: scanning megabytes of output with a
    dozen regexes is what makes normalisation slow, and most texts hold none of these markers."""
    if not any(marker in text for marker in markers):
        return text
    return pattern.sub(replacement, text)


def strip_ansi(text: str) -> str:
    """The text without ANSI colour and cursor codes."""
    return _sub_if(("\x1b",), ANSI, "", text)


def _collapse_carriage_returns(text: str) -> str:
    if "\x08" in text:
        erased = _BACKSPACED.sub("", text)
        while erased != text:
            text, erased = erased, _BACKSPACED.sub("", erased)
        text = text.replace("\x08", "")  # a backspace at a line start erases nothing
    if "\r" not in text:
        return text
    text = _CR_BEFORE_NEWLINE.sub("", text)
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def _postfix(inside: str) -> str:
    """tqdm's ``[elapsed<remaining, rate, postfix]``: the postfix is data (``loss=0.12``), the rest not."""
    parts = inside.split(",", 2)
    return f" [{parts[2].strip()}]" if len(parts) == 3 and parts[2].strip() else ""


def _normalise_progress(text: str) -> str:
    text = _sub_if(
        ("%|",),
        _TQDM_TOTAL,
        lambda found: f"<PROGRESS {found['n']}/{found['total']}>{_postfix(found['inside'])}",
        text,
    )
    text = _sub_if(
        ("/s", "/it"),
        _TQDM_OPEN,
        lambda found: f"<PROGRESS {found['n']}{found['unit']}>{_postfix(found['inside'])}",
        text,
    )
    text = _sub_if(
        ("&lt;", "<"),
        _FASTPROGRESS,
        lambda found: f"<PROGRESS {found['n']}/{found['total']}>{found['postfix']}",
        text,
    )
    return _sub_if(("━", "[=", "[.", "[>"), _KERAS, lambda found: f"<PROGRESS {found['n']}>", text)


def _normalise_addresses(text: str) -> str:
    return _sub_if(("0x",), _ADDRESS, "0xADDR", text)


def _normalise_warning_paths(text: str) -> str:
    text = _sub_if(('File "',), _FILE_LINE, r'\1File "<FILE>", line <N>', text)
    text = _sub_if((".py:", ".pyx:"), _WARNING_PREFIX, "<FILE>:<N>: ", text)
    return _sub_if(("In [", "In["), _IPYTHON_CELL, r"\1[<N>], line <N>", text)


_WRITEFILE = re.compile(r"^(?:Writing|Overwriting|Appending to) (?=\S)", re.MULTILINE)
"""``%%writefile``'s report, which says ``Overwriting`` once the file exists (it does after a save)."""


def _normalise_temp_paths(text: str) -> str:
    text = _sub_if(("ipykernel_",), _CELL_FILE, "<CELL>", text)
    text = _sub_if(("Writing ", "Overwriting ", "Appending to "), _WRITEFILE, "<WROTE> ", text)
    return _sub_if(("tmp",), _TEMP_NAME, "<TMP>", text)


def _timeit_placeholder(found: re.Match[str]) -> str:
    """One placeholder for every form: IPython < 5's "best of 3" and today's "mean ± std. dev. of 7 runs"
    report the same measurement, and which one a notebook shows depends only on the IPython that saved it
    (the number of runs is part of the timing's wording, not of what the cell computed)."""
    del found
    return "<TIMEIT>"


def _normalise_durations(text: str) -> str:
    text = _sub_if(("Wall time:", "CPU times:"), _MAGIC_TIMES, r"\1\2: <DURATION>", text)
    text = _sub_if(("per loop",), _TIMEIT, _timeit_placeholder, text)
    text = _sub_if(("slowest run", "Compiler", "Parser"), _TIMING_ONLY_LINES, "", text)
    if _TOOK_HINT.search(text) is None:
        return text
    return _TOOK.sub(r"\1\2<DURATION>", text)


def _normalise_datetimes(text: str) -> str:
    text = _sub_if(("time(",), _DATETIME_REPR, r"datetime.\1(<DATETIME>)", text)
    if ":" not in text:  # every other form has a clock time
        return text
    text = _sub_if(("-",), _DATETIME, "<DATETIME>", text)
    return _CLOCK.sub("<TIME>", _CTIME.sub("<DATETIME>", text))


def _normalise_ids(text: str) -> str:
    text = _sub_if(("-",), _UUID, "<UUID>", text)
    return _sub_if(("T_",), _STYLER_ID, "T_<ID>", text)


# ------------------------------------------------------------------------------------ cProfile tables

_PROFILE_HEADER = re.compile(r"^ *ncalls +tottime +percall +cumtime +percall +filename:lineno\(function\) *$")
_PROFILE_ROW = re.compile(r"^ *(?P<calls>\d+(?:/\d+)?)(?: +\d+\.\d+){2,4} +(?P<where>\S.*?) *$")
_PROFILE_TOTAL = re.compile(
    r"^( *\d+ function calls(?: \(\d+ primitive calls\))? in )\d+(?:\.\d+)?( seconds)", re.MULTILINE
)
_PROFILE_FOLDER = re.compile(r"^[^{].*[/\\](?=[^/\\]*:\d+\()")
_TIME_ORDERS = ("internal time", "cumulative time", "tottime", "cumtime", "time", "cumulative")


def _normalise_profiles(text: str) -> str:
    if "filename:lineno(function)" not in text:
        return text
    text = _PROFILE_TOTAL.sub(r"\1<DURATION>\2", text)
    lines = text.split("\n")
    kept: list[str] = []
    number = 0
    while number < len(lines):
        line = lines[number]
        kept.append(line)
        number += 1
        if _PROFILE_HEADER.match(line) is None:
            continue
        rows: list[str] = []
        while number < len(lines) and (row := _PROFILE_ROW.match(lines[number])) is not None:
            rows.append(f"{row['calls']:>9} {_PROFILE_FOLDER.sub('', row['where'])}")
            number += 1
        if rows and _cut_by_time(kept[-6:-1]):
            kept.append(f"<{len(rows)} rows chosen by their times>")
        else:
            kept.extend(sorted(rows, key=lambda row: (row.split(" ", 1)[-1].lstrip(), row)))
    return "\n".join(kept)


def _cut_by_time(preamble: list[str]) -> bool:
    """Whether the lines above a table say it was cut to the slowest rows (which rows is timing)."""
    text = "\n".join(preamble)
    if "List reduced from" not in text:
        return False
    order = next((line.split("Ordered by:", 1)[1] for line in preamble if "Ordered by:" in line), "")
    return any(key.strip() in _TIME_ORDERS for key in order.split(","))


# ------------------------------------------------------------------------------------ dict/set reprs


def canonical_literals(text: str) -> str:
    """The whole text, else each line, re-rendered with sorted dict keys and set members when it is an
    unambiguous Python literal that holds a dict or set."""
    whole = _canonical_literal(text.strip())
    if whole is not None:
        return whole + ("\n" if text.endswith("\n") else "")
    return "\n".join(_canonical_line(line) for line in text.split("\n"))


def _canonical_line(line: str) -> str:
    body = line.strip()
    canonical = _canonical_literal(body)
    if canonical is None:
        return line
    indent = line[: len(line) - len(line.lstrip())]
    return indent + canonical + line[len(line.rstrip()) :]


def _canonical_literal(candidate: str) -> str | None:
    if not candidate.startswith(("{", "[", "(", "set(")) or len(candidate) > _MAX_LITERAL_CHARS:
        return None
    if "{" not in candidate and "set(" not in candidate:
        return None
    try:
        value = ast.literal_eval(candidate)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not _holds_unordered(value):
        return None
    try:
        return _canonical_repr(value)
    except RecursionError:
        return None


def _holds_unordered(value: object) -> bool:
    if isinstance(value, (dict, set, frozenset)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_unordered(item) for item in value)
    return False


def _canonical_repr(value: object) -> str:
    if isinstance(value, dict):
        items = sorted(f"{_canonical_repr(key)}: {_canonical_repr(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_canonical_repr(item) for item in value)) + "}" if value else "set()"
    if isinstance(value, list):
        return "[" + ", ".join(_canonical_repr(item) for item in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_canonical_repr(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)
