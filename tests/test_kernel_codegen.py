"""The generated cells (bootstrap, prelude, epilogue) run in a REAL ipykernel kernel.

Each test starts kernels with jupyter_client the way the runner will: cwd = the notebook's folder,
``PYTHONHASHSEED`` in the environment. Paths hold spaces and quotes on purpose.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

from jupyter_repro import hashing
from jupyter_repro.cache import ArtifactStore, CacheEntry
from jupyter_repro.kernel import codegen
from jupyter_repro.kernel.runtime import RNG_STATE_NAME

pytestmark = pytest.mark.kernel

OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error", "update_display_data"}


@dataclass
class Executed:
    status: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    ename: str | None = None

    def text(self) -> str:
        return "".join(output["content"].get("text", "") for output in self.outputs)


class Kernel:
    """A real kernel and a blocking client; ``run`` returns a cell's reply status and outputs."""

    def __init__(self, cwd: Path, hashseed: str = "0") -> None:
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)

    def run(self, code: str) -> Executed:
        outputs: list[dict[str, Any]] = []

        def keep(message: dict[str, Any]) -> None:
            if message["msg_type"] in OUTPUT_TYPES:
                outputs.append({"type": message["msg_type"], "content": message["content"]})

        reply = self.client.execute_interactive(code, timeout=120, output_hook=keep)
        content = reply["content"]
        return Executed(content["status"], outputs, content.get("ename"))

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def start_kernel() -> Iterator[Callable[..., Kernel]]:
    started: list[Kernel] = []

    def start(cwd: Path, hashseed: str = "0") -> Kernel:
        kernel = Kernel(cwd, hashseed)
        started.append(kernel)
        return kernel

    yield start
    for kernel in started:
        kernel.close()


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """A notebook folder with a data file, and a repro home, both with awkward names."""
    notebook_dir = tmp_path / "my 'note\"books"
    notebook_dir.mkdir()
    (notebook_dir / "data.csv").write_text("a,b\n1,2\n")
    home = notebook_dir / ".repro"
    home.mkdir()
    return {"notebook_dir": notebook_dir, "home": home}


def prepare(kernel: Kernel, seed: int | None, home: Path, inputs: dict[str, Any] | None = None) -> None:
    """Run bootstrap and prelude, both of which must succeed silently."""
    for code in (codegen.bootstrap_source(), codegen.prelude_source(seed, inputs, [str(home)])):
        executed = kernel.run(code)
        assert (executed.status, executed.outputs) == ("ok", [])


USER_CODE = """\
import random
import numpy as np
with open("data.csv") as handle:
    text = handle.read()
arr = np.arange(5) * 2
with open("out put.txt", "w") as handle:
    handle.write(text.upper())
print("user says hi", random.random(), np.random.rand())
"""

HOSTILE_NAME = '"); import os; os.remove("data.csv"); ("'


def test_step_runs_silently_and_reports_files_and_variables(
    project: dict[str, Path], start_kernel: Callable[..., Kernel]
) -> None:
    notebook_dir, home = project["notebook_dir"], project["home"]
    kernel = start_kernel(notebook_dir, hashseed="7")
    prepare(kernel, 42, home)

    user = kernel.run(USER_CODE)
    assert user.status == "ok"
    assert [output["type"] for output in user.outputs] == ["stream"]
    assert user.text().startswith("user says hi ")

    dest = home / "run 1" / "art'ifacts"
    report_path = home / "run 1" / 'rep"ort.json'
    epilogue = codegen.epilogue_source(["arr", "text", "missing", HOSTILE_NAME], str(dest), str(report_path))
    executed = kernel.run(epilogue)
    assert (executed.status, executed.outputs) == ("ok", [])

    report = json.loads(report_path.read_text())
    assert report["reads"] == [str(notebook_dir / "data.csv")]
    assert report["writes"] == [str(notebook_dir / "out put.txt")]
    assert report["hashseed"] == "7"
    assert report["seed"] == 42
    assert "numpy" in report["seeded"]  # installed, imported only by the user's cell: seeded on import
    assert report["error"] is None
    manifest = report["outputs"]
    assert manifest["dir"] == str(dest)
    assert manifest["errors"] == {"missing": "not defined", HOSTILE_NAME: "not defined"}
    assert {name: record["serializer"] for name, record in manifest["variables"].items()} == {
        "arr": "npy",
        "text": "pickle",
        RNG_STATE_NAME: "pickle",  # where the generators stand after the step, for a cached replay
    }
    for record in manifest["variables"].values():
        assert record["hash"] == hashing.hash_file(dest / record["file"])
    assert (notebook_dir / "data.csv").exists()
    assert sorted(path.name for path in report_path.parent.iterdir()) == ["art'ifacts", 'rep"ort.json']

    leftovers = kernel.run(
        "import sys\n"
        "print(sorted(n for n in globals() if not n.startswith('_')"
        " and n not in ('In', 'Out', 'get_ipython', 'exit', 'quit', 'open')),"
        " 'jupyter_repro' in sys.modules, repr(_))"  # IPython's "last result" is still unset
    )
    assert leftovers.text().strip() == "['arr', 'handle', 'np', 'random', 'sys', 'text'] False ''"


def test_inputs_from_the_store_reach_a_fresh_kernel_with_the_same_randomness(
    project: dict[str, Path], start_kernel: Callable[..., Kernel]
) -> None:
    notebook_dir, home = project["notebook_dir"], project["home"]
    store = ArtifactStore(home)
    first = start_kernel(notebook_dir)
    prepare(first, 42, home)
    produced = first.run(USER_CODE + "f = lambda x: x + len(text)\n")
    report_path = home / "r1.json"
    assert (
        first.run(codegen.epilogue_source(["arr", "f"], str(home / "out1"), str(report_path))).status == "ok"
    )
    variables, unstored = store.ingest_outputs(json.loads(report_path.read_text())["outputs"])
    assert unstored == {}
    assert variables["f"]["serializer"] == "cloudpickle"

    second = start_kernel(notebook_dir)
    entry = CacheEntry(key="k", step="s", outputs={}, variables=variables)
    inputs = store.materialize_inputs(entry, ["arr", "f"], home / "in 2")
    assert inputs is not None
    prepare(second, 42, home, inputs)
    consumed = second.run(USER_CODE + "print(arr.tolist(), f(1))\n")
    assert consumed.status == "ok"
    lines = consumed.text().splitlines()
    assert lines[0] == produced.text().strip()  # same seed, same draws, in another process
    assert lines[1] == "[0, 2, 4, 6, 8] 9"
    report = second.run(codegen.epilogue_source([], str(home / "out2"), str(home / "r2.json")))
    assert report.status == "ok"
    assert json.loads((home / "r2.json").read_text())["loaded"] == ["arr", "f"]


def test_other_seed_other_draws_and_no_reseed_keeps_the_stream(
    project: dict[str, Path], start_kernel: Callable[..., Kernel]
) -> None:
    notebook_dir, home = project["notebook_dir"], project["home"]
    draw = "import random\nprint(random.random())"
    kernel = start_kernel(notebook_dir)
    prepare(kernel, 1, home)
    seeded_once = [kernel.run(draw).text(), kernel.run(draw).text()]
    prepare(kernel, 1, home)
    again = kernel.run(draw).text()
    prepare(kernel, None, home)  # a later step in the same kernel: the stream goes on
    later = kernel.run(draw).text()
    prepare(kernel, 2, home)
    other = kernel.run(draw).text()
    assert again == seeded_once[0]
    assert later == seeded_once[1]
    assert other != seeded_once[0]


def test_failed_input_load_fails_the_prelude_cell(
    project: dict[str, Path], start_kernel: Callable[..., Kernel]
) -> None:
    notebook_dir, home = project["notebook_dir"], project["home"]
    kernel = start_kernel(notebook_dir)
    assert kernel.run(codegen.bootstrap_source()).status == "ok"
    assert kernel.run(codegen.bootstrap_source()).outputs == []  # idempotent
    missing = {"dir": str(home), "variables": {"x": {"file": "gone.pkl", "serializer": "pickle"}}}
    executed = kernel.run(codegen.prelude_source(0, missing, [str(home)]))
    assert executed.status == "error"
    assert executed.ename == "InputLoadError"


def embedded_config(source: str) -> Any:
    """The one string literal a generated call carries, decoded; fails if the code has another shape."""
    (statement,) = ast.parse(source).body
    assert isinstance(statement, ast.Expr)
    call = statement.value
    assert isinstance(call, ast.Call)
    namespace, loads = call.args
    assert ast.unparse(namespace) == "globals()"
    assert isinstance(loads, ast.Call)
    assert ast.unparse(loads.func) == "__import__('json').loads"
    (literal,) = loads.args
    assert isinstance(literal, ast.Constant)
    assert isinstance(literal.value, str)
    return json.loads(literal.value)


def test_generated_code_embeds_values_only_as_data() -> None:
    manifest = {"dir": "a'b\"c\nd", "variables": {"x": {"file": "'); os.remove('y", "serializer": "pickle"}}}
    prelude = codegen.prelude_source(3, manifest, ["x'); import os #"])
    assert embedded_config(prelude) == {"seed": 3, "inputs": manifest, "ignore_dirs": ["x'); import os #"]}
    epilogue = codegen.epilogue_source(['a"); os.system("x'], "/d ir", "/r'e\"port.json", "sha256")
    assert embedded_config(epilogue) == {
        "outputs": ['a"); os.system("x'],
        "dest_dir": "/d ir",
        "report_path": "/r'e\"port.json",
        "algorithm": "sha256",
    }


def test_bootstrap_defines_the_runtime_without_the_package(tmp_path: Path) -> None:
    """In a namespace without jupyter_repro on the path, the bootstrap registers the runtime module."""
    script = tmp_path / "bootstrap.py"
    script.write_text(
        codegen.bootstrap_source()
        + "import sys\n"
        + "runtime = sys.modules['__jupyter_repro__']\n"
        + "print(sorted(n for n in globals() if 'jupyter_repro' in n), 'jupyter_repro' in sys.modules,"
        + " runtime.store_outputs.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(script)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.strip() == "[] False __jupyter_repro__"
