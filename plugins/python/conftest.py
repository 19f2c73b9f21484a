"""pytest for the Python strategies: the SDK (sdk-python) on the path, so
`python3 -m pytest plugins/python` runs every strategy's tests from the
repository, with no install."""

import sys
from pathlib import Path

SDK = Path(__file__).resolve().parents[2] / "sdk-python"
if str(SDK) not in sys.path:
    sys.path.insert(0, str(SDK))
