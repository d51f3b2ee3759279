"""The core library is plain Python that knows no Airflow; the Airflow glue lives in governance.airflow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "plugins" / "governance"
CORE = sorted(path for path in LIBRARY.glob("*.py"))


def airflow_imports(path: Path) -> list[str]:
    """Every `import airflow...` or `from airflow... import` in a file, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found += [f"{path.name}:{node.lineno} imports {name}" for name in names
                  if name == "airflow" or name.startswith(("airflow.", "governance.airflow"))]
    return found


def test_no_core_module_imports_airflow_even_inside_a_function():
    """policy, ledger, lifecycle, purge, erasure, media, reports and the rest import nothing from Airflow."""
    assert CORE, "no core modules found"
    assert [line for path in CORE for line in airflow_imports(path)] == []


def test_importing_the_whole_core_library_loads_no_airflow_module():
    """Checked at run time too, in a fresh interpreter."""
    modules = [f"governance.{path.stem}" for path in CORE if path.stem != "__init__"]
    code = (f"import importlib, sys\nfor name in {modules!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": str(Path(sys.executable).parent)})
    assert result.stdout.strip() == "[]"


def test_the_dags_reach_the_library_only_through_the_glue_and_the_policy():
    """DAG files import the glue (governance.airflow) and, to build their forms or validate them when parsed,
    the policy models (the retention policy, the recipient register); nothing else."""
    allowed = ("governance.airflow", "governance.policy", "governance.register")
    for dag_file in (ROOT / "dags").glob("*.py"):
        for node in ast.walk(ast.parse(dag_file.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("governance"):
                assert node.module.startswith(allowed), f"{dag_file.name}:{node.lineno} imports {node.module}"
