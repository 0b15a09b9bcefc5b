"""Verdicts on the notebooks people actually have: a corpus, one notebook per family, on real kernels.

Two kinds of case, as a user meets them:

* **saved here**: the notebook is executed the way JupyterLab does it (the kernel seeded by the
  extension, errors allowed, every cell run top to bottom) and saved, then verified in the very same
  environment. Each must verify as reproducible: anything else is a false alarm.
* **as published**: the saved outputs were made elsewhere (another library version, an unseeded
  kernel, a machine with the data or the network). They are written by hand here, imitating what an
  old library printed; each case names the verdict and the cause kinds every bad cell must get.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import build_notebook
from nbclient import NotebookClient

from jupyter_repro.runner import RunOptions
from jupyter_repro.verify import Verification, VerifyOptions, verify_notebook

pytestmark = pytest.mark.kernel


def stream(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def result(text: str, count: int = 1) -> dict[str, Any]:
    return {
        "output_type": "execute_result",
        "execution_count": count,
        "metadata": {},
        "data": {"text/plain": text},
    }


def error(ename: str, evalue: str) -> dict[str, Any]:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


def code(
    source: str, *outputs: dict[str, Any], tags: Sequence[str] = (), count: int | None = 1
) -> dict[str, Any]:
    """A code cell as saved: its outputs and an execution count (None: never executed)."""
    return {
        "cell_type": "code",
        "source": source,
        "metadata": {"tags": list(tags)} if tags else {},
        "outputs": list(outputs),
        "execution_count": count,
    }


def markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "source": text, "metadata": {}}


# -------------------------------------------------------------------------------------- saved here


def show_pager_inline(cell: Any, cell_index: int, execute_reply: dict[str, Any], **_: Any) -> None:
    """What JupyterLab's output area does with a ``page`` payload (``%prun``, ``obj?``): show it inline."""
    for payload in execute_reply["content"].get("payload", []):
        if payload.get("source") == "page":
            cell.outputs.append(nbformat.v4.new_output("display_data", data=payload["data"], metadata={}))
            return


def save_like_jupyterlab(path: Path) -> None:
    """Run every cell as JupyterLab does (kernel seeded by the extension, errors allowed), then save."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_executed=show_pager_inline,
    )
    with client.setup_kernel():
        seeding = nbformat.v4.new_code_cell("get_ipython().extension_manager.load_extension('jupyter_repro')")
        notebook.cells.append(seeding)  # silently, as the frontend does: no history, removed again
        client.execute_cell(seeding, len(notebook.cells) - 1, store_history=False)
        notebook.cells.pop()
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
    nbformat.write(notebook, path)


SAVED_HERE: dict[str, list[Any]] = {
    "intended-errors": [
        markdown("# Errors and exceptions\nDividing by zero raises:"),
        code("1 / 0", count=None),
        code("values = [1, 2, 3]\nvalues[10]", count=None),
        code("print('the chapter goes on', sum(values))", count=None),
        code("print(undefined_name)", count=None),
        code("import numpy as np\nnp.ones(3) + np.ones(4)", count=None),
    ],
    "ipython-syntax": [
        code("%matplotlib inline\nimport sys", count=None),
        code("files = !echo one two\nprint(files)", count=None),
        code("!echo shell out", count=None),
        code("%%capture captured\nprint('hidden')", count=None),
        code("print(captured.stdout.strip())", count=None),
        code("len?", count=None),
    ],
    "profiling-and-help": [
        code("def work(n):\n    return sorted(range(n), key=lambda i: -i)", count=None),
        code("%prun work(20000)", count=None),
        code("%prun -l 3 -s cumulative work(20000)", count=None),
        code("%pinfo work", count=None),
        code("work??", count=None),
    ],
    "modern-randomness": [
        code("import numpy as np\nrng = np.random.default_rng()\nprint(rng.random(3))", count=None),
        code("gen = np.random.Generator(np.random.PCG64())\nprint(gen.integers(0, 100, 5))", count=None),
        code("import random\nprint(random.random())", count=None),
    ],
    "timings": [
        code("%timeit sum(range(1000))", count=None),
        code("%%time\ntotal = sum(range(100000))", count=None),
        code("%timeit -n 10 -r 3 sorted(range(500))\n%timeit -n 10 -r 3 list(range(500))", count=None),
    ],
    "plots": [
        code(
            "import matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n%matplotlib inline",
            count=None,
        ),
        code("plt.plot([1, 3, 2])\nplt.title('a line')", count=None),
        code("fig, ax = plt.subplots(figsize=(3, 2))\nax.bar(['a', 'b'], [1, 2])\nplt.show()", count=None),
    ],
    "pandas-tour": [
        code("import pandas as pd\nimport numpy as np", count=None),
        code("df = pd.DataFrame({'a': [1.5, 2.25, np.nan], 'b': list('xyz')})\ndf", count=None),
        code("df.describe()", count=None),
        code("df.info()", count=None),
        code("df['b'].dtype, type(df)", count=None),
        code(
            "np.linalg.inv(np.array([[4.0, 7.0], [2.0, 6.0]])) @ np.array([[4.0, 7.0], [2.0, 6.0]])",
            count=None,
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(SAVED_HERE))
def test_a_notebook_saved_here_verifies(name: str, tmp_path: Path) -> None:
    path = write(tmp_path, SAVED_HERE[name])
    save_like_jupyterlab(path)
    saved = path.read_bytes()
    verification = verify(path)
    assert verification.verdict == "reproducible", bad_cells(verification)
    assert path.read_bytes() == saved  # the user's notebook is never written by verify


def test_what_the_pager_showed_is_compared(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [code("def work(n):\n    'Sort backwards.'\n    return n", count=None), code("work?", count=None)],
    )
    save_like_jupyterlab(path)
    saved = nbformat.read(path, as_version=4)
    assert "Sort backwards." in saved.cells[1].outputs[0]["data"]["text/plain"]  # JupyterLab's inline pager
    saved.cells[0].source = saved.cells[0].source.replace("Sort backwards.", "Sort forwards.")
    nbformat.write(saved, path)
    verification = verify(path)
    assert verification.verdict == "diverged"
    assert [cell.index for cell in verification.result.cells if cell.status == "differ"] == [1]


def test_a_notebook_naming_a_kernel_this_machine_lacks_runs_in_python3_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, [code("print(6 * 7)", stream("42\n"))], {"kernelspec": {"name": "Python [Root]"}})
    verification = verify(path)
    assert verification.verdict == "reproducible"
    assert any("'Python [Root]', which is not installed here" in note for note in verification.result.notes)


def test_a_notebook_without_code_cells_verifies_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, [markdown("# Prose only"), markdown("Nothing to run here.")])
    verification = verify(path)
    assert verification.verdict == "reproducible"
    assert verification.exit_code == 0
    assert verification.result.notes
    assert "no code cell" in verification.result.notes[0]


def test_an_old_nbformat_minor_with_cell_ids_is_read(tmp_path: Path) -> None:
    """Current Jupyter writes cell ids even into a 4.4 file, which nbformat's 4.4 schema refuses."""
    notebook = build_notebook([code("print(2 + 2)", stream("4\n"))])
    notebook["nbformat_minor"] = 4
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    before = path.read_bytes()
    verification = verify(path)
    assert verification.verdict == "reproducible", bad_cells(verification)
    assert path.read_bytes() == before


def test_a_cell_that_cannot_be_parsed_is_executed_and_compared(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            code("print('before')", count=None),
            code("def broken(:\n    pass", count=None),  # the chapter on syntax errors
            code("print('after')", count=None),
        ],
    )
    save_like_jupyterlab(path)
    verification = verify(path)
    assert verification.verdict == "reproducible", bad_cells(verification)


# ----------------------------------------------------------------------------------- as published


@dataclass(frozen=True)
class Published:
    """A notebook as published, the verdict it must get and the cause kinds each bad cell must get."""

    cells: list[Any]
    verdict: str
    causes: dict[int, set[str]]
    words: dict[int, Sequence[str]] = field(default_factory=dict)
    """Words the cell's causes must mention (the distribution, the path, the call)."""
    files: dict[str, str] = field(default_factory=dict)


PUBLISHED: dict[str, Published] = {
    "missing-distribution": Published(
        [code("import notarealpackage_xyz\nprint('loaded')", stream("loaded\n"))],
        "failed",
        {0: {"environment"}},
        {0: ["notarealpackage_xyz", "pip install"]},
    ),
    "removed-matplotlib-style": Published(
        [code("import matplotlib.pyplot as plt\nplt.style.use('seaborn-whitegrid')")],
        "failed",
        {0: {"environment"}},
        {0: ["matplotlib"]},
    ),
    "removed-pandas-append": Published(
        [
            code("import pandas as pd\ndf = pd.DataFrame({'a': [1]})"),
            code("df = df.append({'a': 2}, ignore_index=True)\nprint(len(df))", stream("2\n"), count=2),
        ],
        "failed",
        {1: {"environment"}},
        {1: ["pandas"]},
    ),
    "invalid-frequency-alias": Published(
        [
            code(
                "import pandas as pd\nprint(len(pd.date_range('2020-01-01', periods=3, freq='H')))",
                stream("3\n"),
            )
        ],
        "failed",
        {0: {"environment"}},
        {0: ["pandas"]},
    ),
    "network-dataset": Published(
        [
            code(
                "import urllib.request\n"
                "data = urllib.request.urlopen('http://127.0.0.1:9/iris.csv', timeout=5).read()\n"
                "print(len(data))",
                stream("4551\n"),
            )
        ],
        "failed",
        {0: {"data"}},
        {0: ["http://127.0.0.1:9/iris.csv"]},
    ),
    "missing-data-file": Published(
        [code("rows = open('data/measurements.csv').read().splitlines()\nprint(len(rows))", stream("120\n"))],
        "failed",
        {0: {"data"}},
        {0: ["data/measurements.csv"]},
    ),
    "unseeded-randomness": Published(
        [
            code(
                "import numpy as np\nprint(np.random.rand(3))", stream("[0.417022   0.72032449 0.00011437]\n")
            )
        ],
        "diverged",
        {0: {"nondeterminism"}},
        {0: ["np.random.rand"]},
    ),
    "numpy2-scalar-reprs": Published(
        [code("import numpy as np\nnp.arange(10).max()", result("9"))],
        "diverged",
        {0: {"environment"}},
        {0: ["formatting"]},
    ),
    "printed-version": Published(
        [code("import pandas as pd\nprint(pd.__version__)", stream("1.5.3\n"))],
        "diverged",
        {0: {"environment"}},
    ),
    "saved-while-a-module-was-missing": Published(
        [
            code("import numpy as np", error("ModuleNotFoundError", "No module named 'numpy'")),
            code("print(np.arange(3))", error("NameError", "name 'np' is not defined"), count=2),
        ],
        "diverged",
        {0: {"environment"}, 1: {"environment"}},
        {0: ["numpy", "installed here"], 1: ["numpy"]},
    ),
    "name-removed-from-a-library": Published(
        [code("from IPython.display import set_matplotlib_formats\nset_matplotlib_formats('svg')")],
        "failed",
        {0: {"environment"}},
        {0: ["ipython"]},
    ),
    "pandas-1-index-repr": Published(
        [code("import pandas as pd\npd.Index([1, 3, 5])", result("Int64Index([1, 3, 5], dtype='int64')"))],
        "diverged",
        {0: {"environment"}},
        {0: ["Int64Index", "pandas"]},
    ),
    "clock-read-in-an-earlier-cell": Published(
        [
            code("from datetime import datetime\nstarted = datetime.now()"),
            code("print('month', started.month + 12 * started.year)", stream("month 24231\n"), count=2),
            code("elapsed = datetime.now() - started\nelapsed.days", result("0"), count=3),
        ],
        "diverged",
        {1: {"nondeterminism"}},
        {1: ["started", "datetime.now"]},
    ),
    "drift-without-evidence": Published(
        [code("print(sum([1, 2, 3]))", stream("7\n"))],
        "diverged",
        {0: {"nondeterminism"}},
        {0: ["--runs 2"]},
    ),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_a_published_notebook_gets_a_cause_for_every_bad_cell(name: str, tmp_path: Path) -> None:
    case = PUBLISHED[name]
    for relative, text in case.files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    path = write(tmp_path, case.cells)
    verification = verify(path)
    document = verification.result.to_json()
    assert verification.verdict == case.verdict, bad_cells(verification)
    bad = {cell["index"] for cell in document["cells"] if cell["status"] in ("differ", "error")}
    assert bad == set(case.causes), bad_cells(verification)
    for index, kinds in case.causes.items():
        own = [cause for cause in document["causes"] if cause["cell"] == index]
        assert kinds <= {cause["kind"] for cause in own}, own
        assert all(cause["hint"] for cause in own), own
        text = " ".join(f"{cause['detail']} {cause['hint']} {cause.get('formatting', '')}" for cause in own)
        for word in case.words.get(index, ()):
            assert word in text, own


def test_data_fetched_from_the_network_is_named_from_what_the_kernel_saw(tmp_path: Path) -> None:
    """The URL is built at run time, so only the kernel's audit hook can name it."""
    import http.server
    import threading

    served = tmp_path / "served"
    served.mkdir()
    (served / "data.txt").write_text("new reading\n", encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    fetch = (
        "import urllib.request\n"
        f"host, port = '127.0.0.1', {port}\n"
        "url = 'http' + '://' + host + f':{port}/data.txt'\n"
        "print(urllib.request.urlopen(url, timeout=10).read().decode())"
    )
    try:
        verification = verify(write(tmp_path, [code(fetch, stream("old reading\n\n"))]))
    finally:
        server.shutdown()
        server.server_close()
    document = verification.result.to_json()
    assert verification.verdict == "diverged", bad_cells(verification)
    assert f"127.0.0.1:{port}" in " ".join(document["steps"][0]["network"])
    data = [cause for cause in document["causes"] if cause["kind"] == "data" and cause["cell"] == 0]
    assert data, document["causes"]
    assert f"http://127.0.0.1:{port}/data.txt" in data[0]["detail"]


def test_an_intended_name_error_is_not_called_hidden_state(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            code("print(undefined_name)", error("NameError", "name 'undefined_name' is not defined")),
            code("print('next')", stream("next\n"), count=2),
        ],
    )
    verification = verify(path)
    assert verification.verdict == "reproducible", bad_cells(verification)
    assert not [cause for cause in verification.causes if cause.kind == "hidden-state"]


def test_an_unexpected_error_still_fails_its_step_and_names_the_cell(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            code("x = 1", tags=["step:first"]),
            code("raise RuntimeError('boom')", stream("fine\n"), tags=["step:second"], count=2),
            code("print('later')", stream("later\n"), tags=["step:third", "after:second"], count=3),
        ],
    )
    verification = verify(path)
    assert verification.verdict == "failed"
    document = verification.result.to_json()
    assert {step["name"]: step["status"] for step in document["steps"]} == {
        "first": "executed",
        "second": "failed",
        "third": "skipped",
    }
    assert any(cause["kind"] == "error" and cause["cell"] == 1 for cause in document["causes"])


def test_cells_after_an_unexpected_error_are_unverified_not_different(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            code("import missing_module_abc", stream("")),
            code("print('after')", stream("after\n"), count=2),
            code("x = input('your name? ')\nprint(x)", stream("your name? Ada\nAda\n"), count=3),
        ],
    )
    document = verify(path).result.to_json()
    assert document["verdict"] == "failed"
    assert {cell["index"]: cell["status"] for cell in document["cells"]} == {
        0: "error",
        1: "unverified",
        2: "unverified",
    }
    assert all(cause["cell"] in (0, None) for cause in document["causes"]), document["causes"]


def test_dict_order_saved_by_an_old_python_is_named_with_that_python(tmp_path: Path) -> None:
    saved = result("a    2\nb    1\ndtype: int64")  # Python 3.5's dict order, not insertion order
    path = write(
        tmp_path,
        [code("import pandas as pd\npd.Series({'b': 1, 'a': 2})", saved)],
        metadata={"language_info": {"name": "python", "version": "3.5.1"}},
    )
    document = verify(path).result.to_json()
    own = [cause for cause in document["causes"] if cause["cell"] == 0]
    assert [cause["kind"] for cause in own] == ["environment"], own
    assert "Python 3.5.1" in own[0]["detail"]


def test_an_unknown_magic_saved_as_a_usage_error_is_expected_and_an_unexpected_one_fails(
    tmp_path: Path,
) -> None:
    usage = {
        "output_type": "stream",
        "name": "stderr",
        "text": "UsageError: Line magic function `%lprun` not found.\n",
    }
    saved = write(
        tmp_path, [code("%lprun -f sum sum([1])", usage), code("print('on')", stream("on\n"), count=2)]
    )
    assert verify(saved).verdict == "reproducible"
    unexpected = write(
        tmp_path, [code("%notamagic", stream("fine\n")), code("print('on')", stream("on\n"), count=2)]
    )
    document = verify(unexpected).result.to_json()
    assert document["verdict"] == "failed"
    assert next((c["kind"], c["cell"]) for c in document["causes"] if c["kind"] == "error") == ("error", 0)
    assert "notamagic" in document["error"]
    # the cell's own line names the error too (IPython printed it on stderr, with no error output)
    assert document["cells"][0]["diff"] == "UsageError: Line magic function `%notamagic` not found."


def test_a_cell_waiting_for_input_is_named_as_such(tmp_path: Path) -> None:
    path = write(tmp_path, [code("x = input('your name? ')\nprint(x)", stream("your name? Ada\nAda\n"))])
    document = verify(path).result.to_json()
    own = [cause for cause in document["causes"] if cause["cell"] == 0]
    assert any("waits for input" in cause["detail"] and "skip" in cause["hint"] for cause in own), own


def test_a_saved_error_that_became_another_error_differs_and_is_not_blamed_on_ipython(tmp_path: Path) -> None:
    path = write(tmp_path, [code("raise SyntaxError('Foo')", error("RuntimeError", "Foo"))])
    document = verify(path).result.to_json()
    assert document["verdict"] == "diverged", document["causes"]
    own = [cause for cause in document["causes"] if cause["cell"] == 0]
    assert own, document["causes"]
    assert not any("ipython" in cause["detail"].lower() for cause in own), own
    assert not any("saved outputs to compare" in cause["detail"] for cause in document["causes"])


def test_a_saved_error_that_no_longer_happens_differs(tmp_path: Path) -> None:
    path = write(tmp_path, [code("print(int('12'))", error("ValueError", "invalid literal for int()"))])
    verification = verify(path)
    assert verification.verdict == "diverged"
    assert {cause["cell"] for cause in verification.result.to_json()["causes"]} == {0}


# ------------------------------------------------------------------------------------------ helpers


def write(folder: Path, cells: list[Any], metadata: dict[str, Any] | None = None) -> Path:
    path = folder / "notebook.ipynb"
    path.write_text(json.dumps(build_notebook(cells, metadata), indent=1), encoding="utf-8")
    return path


def verify(path: Path) -> Verification:
    return verify_notebook(path, VerifyOptions(run=RunOptions(home=str(path.parent / ".repro"))))


def bad_cells(verification: Verification) -> list[Any]:
    document = verification.result.to_json()
    return [
        (cell["index"], cell["status"], cell["reason"], (cell["diff"] or "")[:400])
        for cell in document["cells"]
        if cell["status"] not in ("match", "ignored")
    ] + [("causes", document["causes"]), ("error", document["error"])]
