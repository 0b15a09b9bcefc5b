"""Write docs/cli.md from the argparse definitions, so the reference never drifts from --help.

python scripts/gen_cli_docs.py          # rewrite docs/cli.md
python scripts/gen_cli_docs.py --check  # exit 1 if docs/cli.md is out of date (used by the tests)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "cli.md"

INTRO = """# Command-line reference

`jupyter repro COMMAND ...` (also `jupyter-repro COMMAND ...`). Generated from `--help` by
`scripts/gen_cli_docs.py`; the JSON shapes are at the end.

Exit codes: `0` success (for `verify`: reproducible); `1` the notebook ran but diverged, or a step
failed; `2` the input is unusable (missing or malformed notebook, bad tags, cycle, unknown parameter,
unknown run id): one line on stderr naming the file, cell or tag and what to do, never a traceback.

`--json` output goes to stdout only; progress goes to stderr when stderr is a terminal.
Every command takes `--home DIR` (the repro home; default: the nearest `.repro/` above the notebook,
else a new one beside it; environment variable `JUPYTER_REPRO_HOME`).
"""

JSON_SHAPES = """## JSON output

Keys may be added in later versions, never removed or renamed.

`steps --json`:

```text
{"notebook": str, "steps": [{"name": str, "cells": [int], "after": [str], "depends_on": [str],
  "inputs": [{"name": str, "from": str}], "outputs": [str], "parameters": [str], ...}],
 "cells": [{"index": int, "role": str, "step": str|null, "reads": [str], "defines": [str]}],
 "parameters": {name: value}, "setup_cells": [int],
 "hidden_state": [{"cell": int, "name": str, "defined_in": int|null, "kind": str,
                   "step": str|null, "description": str}], ...}
```

`cells[]` gives every notebook cell's role (`step`, `setup`, `parameters`, `injected-parameters`,
`skip`, `text`) and step: what the JupyterLab badges show. `reads` and `defines` (sorted) are the
names the static analysis finds in the cell: read before the cell binds them (builtins only when a
cell rebinds them), and bound or mutated, except by `import` (re-running an import binds the same
module again). Text cells have none; skipped cells are analysed too (they run interactively). A cell
using `exec`, a star import or `%run` lists only the names the analysis can see. JupyterLab's "out of
order" marks compare them with the execution counts (docs/frontend.md).

`run --json` and `verify --json`:

```text
{"run_id": str, "kind": "run"|"verify", "notebook": str, "status": "ok"|"failed",
 "verdict": "reproducible"|"diverged"|"failed"|null,
 "seed": int, "parameters": {...}, "environment_hash": str,
 "steps": [{"name": str, "status": "executed"|"cached"|"failed"|"skipped", "cache_key": str,
            "duration_s": float, "reads": [{"path": str, "hash": str}],
            "writes": [{"path": str, "hash": str}], "network": [str], "error": {...}|null,
            "from": "local"|"remote" (cached steps only), ...}],
 "cells": [{"index": int, "step": str, "status": "match"|"differ"|"error"|"unverified"|"ignored",
            "diff": str|null, "reason": str}],
 "causes": [{"kind": "code"|"data"|"environment"|"nondeterminism"|"hidden-state"|"error",
             "step": str|null, "cell": int|null, "detail": str, "hint": str|null, ...}],
 "notes": [str], "executed_notebook": str, "report": str,
 "isolated": {"build_s": float, "packages": int, "lock_hash": str,
              "lock_source": "notebook"|"here", "python": str} (verify --isolated only),
 "evidence": {"here": EVIDENCE, "recorded": EVIDENCE|null} (verify only)}
```

`EVIDENCE` is what `verify --stamp` writes into `metadata.jupyter_repro.certificate.evidence`
(docs/verify.md, "Sharing a notebook"): `{"python": str, "implementation": str, "platform": str,
"environment_hash": str, "seed": int, "packages": {distribution: version}, "data": {step: {path: hash}},
"cells": {index: source_hash}, "lock": {"hash", "requirements", "text"} (when compiled)}`.

Every cell whose status is `differ` or `error` has at least one cause whose `cell` is its index;
`cell` is null for a cause of the whole run. Evidence keys may follow (`distribution`, `installed`,
`module`, `path`, `urls`, `call`, `formatting`, `changes`); the catalogue is in `docs/verify.md`.
`steps[].network` lists what a step read from the network (URLs, `host:port`).

`log --json`: `{"runs": [{"run_id", "kind", "notebook", "started_at", "status", "verdict",
"imported_from", ...}]}`, newest first (`imported_from`: the remote of a colleague's run imported by
`log --remote`, else null). `show --json`: the run's recorded document with its steps, cells and environment.
`diff --json`: changes by category (parameters, seed, notebook, code, data, packages, environment).
`export --json`: `{"files": [str]}`.

`fix --json` (the fixes for the notebook's last verification; docs/verify.md, "Fixing what breaks
reproducibility"):

```text
{"notebook": str, "run_id": str, "verdict": str, "verified_now": bool,
 "fixes": [{"id": str, "kind": "seed"|"reorder"|"pin"|"ignore-output"|"vendor-data",
            "choice": "outputs"|"cell"|"requirements"|"lock"|null, "cell": int|null,
            "cause_kind": str, "description": str, "preview": str (unified diff),
            "available": bool, "reason": str|null, "edits": [EDIT], "pending": [str],
            "files": [{"path": str, "action": "write"|"download", "url": str (downloads)}]}]}
```

`fix --apply ID --json` (also with `--edits-only`, which writes the side files but not the notebook):

```text
{"notebook": str, "target": "file"|"model", "run_id": str,
 "applied": [{"id": str, "kind": str, "description": str, "changed": str}],
 "backup": str|null, "edits": [EDIT], "files": [{"path": str, "action": str, ...}]}
```

`EDIT` is one of `{"op": "insert_cell", "index", "cell"}`, `{"op": "move_cell", "from", "to"}`,
`{"op": "set_source", "cell", "source"}`, `{"op": "set_cell_metadata", "cell", "key", "value"}`,
`{"op": "set_outputs", "cell", "outputs", "execution_count"}`, `{"op": "set_notebook_metadata",
"key", "value"}`, applied in order (each sees the notebook after the previous one; cell indices count
every cell, markdown included; a `null` value deletes the key). `files[].path` is relative to the
notebook's folder. `pending` says what applying still computes: `outputs` (it re-executes the
notebook), `download`, `lock` (pip-compile). An id that names no fix is exit code 2 with the valid ids.
"""


def render() -> str:
    os.environ["COLUMNS"] = "100"  # stable wrapping of argparse help
    sys.path.insert(0, str(ROOT))
    from jupyter_repro.cli import SUBCOMMANDS, build_parser

    parts = [INTRO, "## jupyter repro\n", "```text\n" + build_parser(None).format_help() + "```\n"]
    for name in SUBCOMMANDS:
        parser = build_parser(name)
        action = next(a for a in parser._actions if a.dest == "command")
        sub = action.choices[name]  # type: ignore[index]
        parts.append(f"## jupyter repro {name}\n")
        parts.append("```text\n" + sub.format_help() + "```\n")
    parts.append(JSON_SHAPES)
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print("docs/cli.md is out of date: run python scripts/gen_cli_docs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
