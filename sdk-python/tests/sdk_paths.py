"""Where the SDK's tests find the repository: the SDK, the golden vectors, the plugins."""

from pathlib import Path

SDK = Path(__file__).resolve().parents[1]
REPO = SDK.parent
VECTORS = REPO / "vectors"
PLUGINS = REPO / "plugins"
