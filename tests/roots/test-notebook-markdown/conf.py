# A tiny book for tests/test_notebook_markdown.py: one executed page that uses every piece of
# MyST the downloaded notebook turns into plain Markdown, numbered unlike the chapter.
project = "tiny"
language = "zh_CN"
extensions = [
    "myst_nb",
    "sphinx_design",
    "sphinx_exercise",
    "sphinxcontrib.bibtex",
    "notebook_download",
]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
nb_execution_mode = "force"
numfig = True
math_numfig = True
numfig_secnum_depth = 0
bibtex_bibfiles = ["refs.bib"]
exclude_patterns = ["_build"]
