"""Causes of one differing or failing cell, read from its own evidence (pure: no I/O).

A verdict nobody can act on is a bug, so every cell that differs or fails gets at least one cause,
each with a one-line hint of what to do. The evidence, most telling first:

* the new error's traceback: a missing module, an exception raised inside an installed package (an
  API a newer version removed), an attribute a library no longer has, a missing data file, a network
  failure;
* the comparison itself: formatting-only changes of known library families, the same items in
  another order (hash ordering), figures rendered at another size;
* the cell's code: randomness drawn without a seed when the saved outputs were not made under this
  project's seeding, clocks, timings and object ids, URLs read from the network;
* what the notebook records: the Python version in ``metadata.language_info``.

When nothing explains a difference, the cause says so and how to find out (``--runs 2``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_repro.compare.formatting import explain_formatting, formatting_families, rewrite
from jupyter_repro.randomness import RANDOM_CALLS, SEEDING
from jupyter_repro.results import Cause

# -------------------------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class NotebookEvidence:
    """What is known about the notebook and the environment the headless run used."""

    packages: Mapping[str, str] = field(default_factory=dict)
    """Installed distribution -> version, in the kernel's environment."""
    module_distributions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Top-level module -> the distributions that provide it (``importlib.metadata``)."""
    python_version: str | None = None
    """The kernel's Python version."""
    saved_python_version: str | None = None
    """The Python version the notebook says its outputs were made with (``language_info.version``)."""
    seeded: bool = False
    """The saved outputs were made under this project's seeding (a seed is recorded, or the notebook
    loads the extension): unseeded randomness then reproduces."""
    runs: int = 1
    saved_missing_modules: Mapping[int, str] = field(default_factory=dict)
    """Cell -> module its *saved* outputs say was missing (``ModuleNotFoundError: No module named``)."""
    volatile_names: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    """Name -> (cell, call) for names a cell set from a clock or a random draw (:func:`volatile_names`),
    so a later cell that only prints the value is traced to where it was made."""


@dataclass(frozen=True)
class CellEvidence:
    """One cell that differs or failed, with what the run and the comparison saw of it."""

    index: int
    step: str | None
    source: str
    error: Mapping[str, Any] | None = None
    """The new execution's error (``ename``, ``evalue``, ``traceback``) when it raised."""
    saved_text: str = ""
    new_text: str = ""
    formatting: tuple[str, ...] = ()
    """Formatting-only families the comparison recognised (see :mod:`jupyter_repro.compare`)."""
    stable_across_runs: bool = False
    """``--runs N`` ran it N times and every run agreed: the difference is drift, not chance."""
    network: tuple[str, ...] = ()
    """What the cell's step read from the network, as the kernel's audit hook saw it."""


# ------------------------------------------------------------------------------------------ the rules


def cell_causes(cell: CellEvidence, notebook: NotebookEvidence) -> list[Cause]:
    """Every cause this cell's own evidence supports (possibly none: see :func:`fallback_cause`)."""
    causes: list[Cause] = []
    if cell.error is not None:
        causes.extend(_error_causes(cell, notebook))
    causes.extend(_installed_since(cell, notebook))
    causes.extend(_formatting_causes(cell, notebook))
    causes.extend(_order_causes(cell, notebook))
    causes.extend(_code_causes(cell, notebook))
    return causes


def fallback_cause(cell: CellEvidence, notebook: NotebookEvidence) -> Cause:
    """The cause of a cell nothing else explains: say what is known and how to learn more."""
    if cell.error is not None:
        ename, evalue = cell.error.get("ename", ""), _first(cell.error.get("evalue", ""))
        return Cause(
            "error",
            cell.step,
            f"cell {cell.index} raised {ename}: {evalue}",
            cell=cell.index,
            hint="fix the cell, or tag it 'raises-exception' if the error is intended",
        )
    if (
        notebook.saved_python_version
        and notebook.python_version
        and _minor(notebook.saved_python_version) != _minor(notebook.python_version)
    ):
        return Cause(
            "environment",
            cell.step,
            f"the outputs were saved with Python {notebook.saved_python_version}, this kernel runs "
            f"Python {notebook.python_version}",
            cell=cell.index,
            hint="verify in the Python version the notebook was saved with (verify --isolated uses the lock)",
        )
    if cell.stable_across_runs:
        return Cause(
            "environment",
            cell.step,
            f"cell {cell.index} gives the same outputs in {notebook.runs} headless runs, but not the saved "
            "ones: they were made by another environment, code or data, and the notebook records nothing "
            "that tells which",
            cell=cell.index,
            hint="re-execute and save the notebook here, or stamp it (verify --stamp) where it reproduces",
        )
    return Cause(
        "nondeterminism",
        cell.step,
        f"cell {cell.index} differs and no recorded evidence explains it (no earlier run, no change of "
        "code, data or packages is known)",
        cell=cell.index,
        hint="run verify --runs 2 to tell nondeterminism (differs between runs) from drift",
    )


# ------------------------------------------------------------------------------------------ errors

_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_PACKAGE_FRAME = re.compile(r"(?:site|dist)-packages[/\\]([A-Za-z_][\w]*)[/\\.]")
_MISSING_FILE = re.compile(r"No such file or directory: '([^']+)'")
_MODULE_ATTRIBUTE = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
_OBJECT_ATTRIBUTE = re.compile(r"'(\w+)' object has no attribute '(\w+)'")
_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
_UNEXPECTED_KEYWORD = re.compile(r"\b(\w+)\.\w+\(\) got an unexpected keyword argument '\w+'")
_NETWORK_ERRORS = frozenset(
    {
        "URLError",
        "HTTPError",
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "gaierror",
        "TimeoutError",
        "SSLError",
        "ProxyError",
        "ConnectTimeout",
        "ReadTimeout",
        "RemoteDisconnected",
    }
)
_KNOWN_CLASSES = {
    "DataFrame": "pandas",
    "NDFrame": "pandas",
    "Series": "pandas",
    "Index": "pandas",
    "DatetimeIndex": "pandas",
    "Timestamp": "pandas",
    "ndarray": "numpy",
    "Figure": "matplotlib",
    "Axes": "matplotlib",
    "AxesSubplot": "matplotlib",
}
_MODULE_ALIASES = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
    "skimage": "scikit-image",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "Bio": "biopython",
    "mpl_toolkits": "matplotlib",
}
_SHELL_PACKAGES = frozenset({"IPython", "ipykernel", "traitlets", "zmq", "tornado", "nbclient"})
"""Packages whose frames every cell's traceback may hold (the shell that runs it): never the cause."""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _error_causes(cell: CellEvidence, notebook: NotebookEvidence) -> list[Cause]:
    assert cell.error is not None
    ename = str(cell.error.get("ename", ""))
    evalue = _first(str(cell.error.get("evalue", "")))
    traceback = _ANSI.sub("", "\n".join(str(line) for line in cell.error.get("traceback") or []))
    if ename == "StdinNotImplementedError":
        return [
            Cause(
                "error",
                cell.step,
                f"cell {cell.index} waits for input (input(), getpass, %debug or pdb), and a headless run "
                "has no one to answer it",
                cell=cell.index,
                hint="tag the cell 'skip' so that verify leaves it out, or drop the interactive call",
            )
        ]
    variable = evalue.strip("'\"")
    if ename == "KeyError" and re.search(
        rf"""environ\s*\[\s*['"]{re.escape(variable)}['"]\s*\]""", cell.source
    ):
        return [
            Cause(
                "environment",
                cell.step,
                f"cell {cell.index} reads the environment variable {variable}, which is not set here",
                cell=cell.index,
                evidence={"variable": variable},
                hint=f"set {variable} before starting Jupyter (or read it with os.environ.get and a default)",
            )
        ]
    missing = _NO_MODULE.search(evalue)
    if ename in ("ModuleNotFoundError", "ImportError") and missing:
        return [_missing_module(cell, missing.group(1))]
    if ename == "FileNotFoundError" and (path := _MISSING_FILE.search(evalue)):
        return [
            Cause(
                "data",
                cell.step,
                f"cell {cell.index} reads {path.group(1)}, which does not exist (paths are relative to the "
                "notebook's folder)",
                cell=cell.index,
                evidence={"path": path.group(1)},
                hint="restore the data file beside the notebook, or ship it with the notebook",
            )
        ]
    if ename in _NETWORK_ERRORS:
        urls = _urls(cell)
        where = f" reading {', '.join(urls)}" if urls else ""
        return [
            Cause(
                "data",
                cell.step,
                f"cell {cell.index} failed on the network{where} ({ename}: {evalue}); a network read is "
                "neither pinned nor hashed",
                cell=cell.index,
                evidence={"urls": urls} if urls else {},
                hint="download the data once into the project and read the local copy",
            )
        ]
    package = _package_of_error(ename, evalue, traceback, notebook)
    if package is not None:
        distribution, version = package
        installed = f" {version}" if version else ""
        return [
            Cause(
                "environment",
                cell.step,
                f"cell {cell.index} raised {ename} inside {distribution}{installed} (installed): {evalue}; "
                f"the notebook was written for another version of {distribution}",
                cell=cell.index,
                evidence={"distribution": distribution, "installed": version},
                hint=f"install the {distribution} version the notebook was written for, or update the code",
            )
        ]
    return []


def _missing_module(cell: CellEvidence, module: str) -> Cause:
    top = module.split(".")[0]
    distribution = _MODULE_ALIASES.get(top, top)
    return Cause(
        "environment",
        cell.step,
        f"cell {cell.index} imports {module}, but no installed distribution provides it "
        f"(distribution {distribution} is missing from the kernel's environment)",
        cell=cell.index,
        evidence={"module": module, "distribution": distribution},
        hint=f"pip install {distribution} in the kernel's environment",
    )


def _installed_since(cell: CellEvidence, notebook: NotebookEvidence) -> list[Cause]:
    """The saved outputs were made while a module was missing (an earlier cell shows the
    ModuleNotFoundError, later cells the NameErrors it caused), and it is installed now."""
    for saved_in, module in sorted(notebook.saved_missing_modules.items()):
        top = module.split(".")[0]
        if saved_in > cell.index or not notebook.module_distributions.get(top):
            continue
        distribution = _distribution_of(top, notebook)
        version = _version_of(distribution, notebook)
        return [
            Cause(
                "environment",
                cell.step,
                f"the saved outputs were made without {module} (cell {saved_in} shows ModuleNotFoundError: "
                f"No module named '{module}'); {distribution}{' ' + version if version else ''} is installed "
                "here, so this cell now computes what it could not then",
                cell=cell.index,
                evidence={"module": module, "distribution": distribution, "installed": version},
                hint="re-execute the notebook with it installed and save it, then verify",
            )
        ]
    return []


def _package_of_error(
    ename: str, evalue: str, traceback: str, notebook: NotebookEvidence
) -> tuple[str, str | None] | None:
    """The installed distribution an error comes from: its code raised it, or it lacks an attribute."""
    module: str | None = None
    frames = [frame for frame in _PACKAGE_FRAME.findall(traceback) if frame not in _SHELL_PACKAGES]
    if frames:
        module = frames[0]  # the outermost package frame: the API the cell called
    elif ename == "AttributeError":
        if found := _MODULE_ATTRIBUTE.search(evalue):
            module = found.group(1).split(".")[0]
        elif found := _OBJECT_ATTRIBUTE.search(evalue):
            module = _KNOWN_CLASSES.get(found.group(1))
    elif ename == "TypeError" and (found := _UNEXPECTED_KEYWORD.search(evalue)):
        module = _KNOWN_CLASSES.get(found.group(1))  # an argument a newer version removed
    elif ename == "ImportError" and (found := _CANNOT_IMPORT.search(evalue)):
        module = found.group(2).split(".")[0]  # a name the installed version no longer has
    if module is None:
        return None
    distribution = _distribution_of(module, notebook)
    return distribution, _version_of(distribution, notebook)


def _distribution_of(module: str, notebook: NotebookEvidence) -> str:
    provided = notebook.module_distributions.get(module)
    if provided:
        return str(provided[0])
    return _MODULE_ALIASES.get(module, module)


def _version_of(distribution: str, notebook: NotebookEvidence) -> str | None:
    wanted = _canonical(distribution)
    return next((v for name, v in notebook.packages.items() if _canonical(name) == wanted), None)


# --------------------------------------------------------------------------------------- formatting


def _formatting_causes(cell: CellEvidence, notebook: NotebookEvidence) -> list[Cause]:
    causes = []
    for family in cell.formatting:
        distribution = next((f.library for f in formatting_families() if f.name == family), "")
        what = explain_formatting(family)
        version = _version_of(distribution, notebook) if distribution else None
        installed = f" (installed: {distribution} {version})" if version else ""
        values = "" if family in ("figure-size", "version-string") else "the values are equal; "
        causes.append(
            Cause(
                "environment",
                cell.step,
                f"cell {cell.index}: {values}only the formatting changed: {what}{installed}",
                cell=cell.index,
                evidence={"formatting": family, **({"installed": version} if version else {})},
                hint="re-save the notebook with the installed versions, or verify with the versions it was "
                "saved with",
            )
        )
    return causes


def _order_causes(cell: CellEvidence, notebook: NotebookEvidence) -> list[Cause]:
    """The same items in another order: dicts before Python 3.7, or set iteration order (hashing)."""
    # in the spelling of one library version, so items reordered *and* re-typed still count as reordered
    saved, new = _tokens(rewrite(cell.saved_text)), _tokens(rewrite(cell.new_text))
    if not saved or saved == new or sorted(saved) != sorted(new):
        return []
    if notebook.saved_python_version and _version_tuple(notebook.saved_python_version) < (3, 7):
        return [
            Cause(
                "environment",
                cell.step,
                f"cell {cell.index} shows the same items in another order: the outputs were saved with "
                f"Python {notebook.saved_python_version}, whose dicts did not keep insertion order",
                cell=cell.index,
                hint="re-execute and save the notebook with a current Python",
            )
        ]
    return [
        Cause(
            "nondeterminism",
            cell.step,
            f"cell {cell.index} shows the same items in another order: set and dict-of-str iteration "
            "order depends on PYTHONHASHSEED, random in an interactive kernel and fixed here",
            cell=cell.index,
            hint="sort the items before printing them",
        )
    ]


def saved_missing_modules(cells: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Cell index -> the module its saved error output says was not installed."""
    found: dict[int, str] = {}
    for index, cell in enumerate(cells):
        for output in cell.get("outputs") or []:
            if output.get("output_type") == "error" and output.get("ename") in (
                "ModuleNotFoundError",
                "ImportError",
            ):
                missing = _NO_MODULE.search(str(output.get("evalue", "")))
                if missing:
                    found[index] = missing.group(1)
    return found


# --------------------------------------------------------------------------------------------- code

_CLOCK_CALLS = re.compile(
    r"\b(?:time\.(?:time|time_ns|perf_counter|monotonic|process_time|localtime|ctime|strftime)|"
    r"datetime\.(?:now|today|utcnow)|date\.today|Timestamp\.(?:now|today)|pd\.(?:Timestamp\.now|"
    r"to_datetime\(\s*['\"]now))\s*\(|%%?time(?:it)?\b"
)
_IDENTITY_CALLS = re.compile(r"(?<![\w.])(?:id|hash)\s*\(")
_URL = re.compile(r"""https?://[^\s'"<>)]+""")


def _code_causes(cell: CellEvidence, notebook: NotebookEvidence) -> list[Cause]:
    causes = []
    draws = RANDOM_CALLS.findall(cell.source)
    if draws and not notebook.seeded and not SEEDING.search(cell.source):
        call = re.sub(r"\s*\(.*$", "", draws[0])
        causes.append(
            Cause(
                "nondeterminism",
                cell.step,
                f"cell {cell.index} draws random numbers ({call}(...)) with no seed set earlier, and the "
                "saved outputs were not made under jupyter-repro's seeding",
                cell=cell.index,
                evidence={"call": call},
                hint="set a seed before drawing, or re-run the notebook with the extension loaded, and save",
            )
        )
    clock = _CLOCK_CALLS.search(cell.source)
    if clock is not None:
        causes.append(
            Cause(
                "nondeterminism",
                cell.step,
                f"cell {cell.index} shows a clock or a timing ({clock.group(0).strip().rstrip('(')}), which "
                "changes on every run",
                cell=cell.index,
                hint="tag the cell 'ignore-output', or print something that does not depend on time",
            )
        )
    causes.extend(_volatile_reads(cell, notebook, clock_shown=clock is not None, draws_shown=bool(draws)))
    if _IDENTITY_CALLS.search(cell.source):
        causes.append(
            Cause(
                "nondeterminism",
                cell.step,
                f"cell {cell.index} shows object ids or hashes (id() / hash()), which differ between "
                "processes",
                cell=cell.index,
                hint="do not print ids or hashes, or tag the cell 'ignore-output'",
            )
        )
    urls = _urls(cell)
    if urls and cell.error is None:
        causes.append(
            Cause(
                "data",
                cell.step,
                f"cell {cell.index} reads {', '.join(urls)} from the network: the data is neither pinned "
                "nor hashed, and may have changed since the outputs were saved",
                cell=cell.index,
                evidence={"urls": urls},
                hint="download the data once into the project and read the local copy",
            )
        )
    return causes


_ASSIGNED = re.compile(r"^[ \t]*([A-Za-z_]\w*)(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*[ \t]*=(?!=)(.*)$", re.MULTILINE)


def volatile_names(sources: Mapping[int, str], *, seeded: bool) -> dict[str, tuple[int, str]]:
    """Names assigned from a clock (or, when the outputs were not seeded, a random draw), by cell.

    A later assignment of the same name from anything else forgets it: ``volatile_names`` follows the
    notebook top to bottom as a reader would, not the data flow (this is wording for a cause, not a rule
    that decides a verdict).
    """
    found: dict[str, tuple[int, str]] = {}
    for index in sorted(sources):
        for assigned in _ASSIGNED.finditer(sources[index]):
            name, value = assigned.group(1), assigned.group(2)
            call = _CLOCK_CALLS.search(value) or (None if seeded else RANDOM_CALLS.search(value))
            if call is not None:
                found[name] = (index, re.sub(r"\s*\(.*$", "", call.group(0).strip()))
            else:
                found.pop(name, None)
    return found


def _volatile_reads(
    cell: CellEvidence, notebook: NotebookEvidence, *, clock_shown: bool, draws_shown: bool
) -> list[Cause]:
    """A cell showing a value an earlier cell took from a clock or an unseeded draw."""
    if clock_shown or draws_shown:
        return []  # the cell's own call is already named
    words = set(re.findall(r"[A-Za-z_]\w*", cell.source))
    for name, (where, call) in sorted(notebook.volatile_names.items()):
        if name in words and where < cell.index:
            return [
                Cause(
                    "nondeterminism",
                    cell.step,
                    f"cell {cell.index} shows '{name}', which cell {where} set from {call}(...): it changes "
                    "on every run",
                    cell=cell.index,
                    evidence={"name": name, "set_in": where, "call": call},
                    hint=f"tag cell {cell.index} 'ignore-output', or do not print a value that depends on "
                    f"{'time' if _CLOCK_CALLS.search(call + '(') else 'an unseeded draw'}",
                )
            ]
    return []


# ------------------------------------------------------------------------------------------- helpers


def _urls(cell: CellEvidence) -> list[str]:
    """URLs in the cell's code and what its step fetched (a bare ``host:port`` only when no URL
    names that host)."""
    urls = set(_URL.findall(cell.source)) | {address for address in cell.network if "://" in address}
    hosts = {address for address in cell.network if "://" not in address}
    named = " ".join(urls)
    urls |= {
        host for host in hosts if f"//{host}" not in named and f"//{host.rsplit(':', 1)[0]}/" not in named
    }
    return sorted(urls)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[^\s,{}\[\]()]+", text)


def _first(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else ""


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
