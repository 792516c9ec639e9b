import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The Pulumi program runs from the project root (its `components` and `k8s_lab` packages).
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture
def workspace_root(tmp_path: Path) -> str:
    root = tmp_path / "labs"
    root.mkdir()
    return str(root)


def tool_missing(*names: str) -> list[str]:
    return [name for name in names if shutil.which(name) is None]
