"""Training tests run in the torch venv (Python 3.11) without Home Assistant: only the engine
package (plain Python + numpy) is put on the path, as training itself does."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "custom_components" / "needle"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
