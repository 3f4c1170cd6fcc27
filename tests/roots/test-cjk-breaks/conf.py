# A tiny book for tests/test_cjk_breaks.py (book/_ext is on the path from the test module).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

extensions = ["myst_parser", "sphinx.ext.autodoc", "cjk_breaks"]
language = "zh_CN"
myst_enable_extensions = ["dollarmath"]
exclude_patterns = ["_build"]
# Our own dict: myst-parser adds ".md" to the source_suffix it is given, and Sphinx's default
# is one dict shared by every app in the process, so later test apps (MyST-NB's) would find
# ".md" taken by "markdown".
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
