"""The README and docs/ say only what the code does, and cannot drift from it unseen: every
command they name exists, every setting docs/configuration.md lists is read by the settings and
every variable the settings read is listed there, every name in capitals they quote is a setting
or a name in the code, every file they point to is there, and every link lands on a file and
heading that exist. The README stays a README."""

import ast
import re

import pytest
from django.core.management import get_commands

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = sorted((REPO_ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
SETTINGS = REPO_ROOT / "attendance_site" / "settings.py"
# The project's own folders: a path the docs quote in one of them must exist (var/ is made at run
# time; a URL path such as /api/captures/ starts with a slash and is not a file).
PROJECT_FOLDERS = {
    "access",
    "students",
    "recognition",
    "attendance_site",
    "bench",
    "tests",
    "docs",
    "static",
    "templates",
    "locale",
}
# The functions settings.py reads a variable with; the variable's name is their first argument.
READERS = {"get", "env_bool", "env_int", "env_float", "env_list", "env_value", "env_choice", "config"}


def text(page):
    return page.read_text()


def quoted(page):
    """What the page quotes as code: `inline` spans and the lines of fenced blocks."""
    body = text(page)
    fenced = re.findall(r"^```[a-z]*\n(.*?)^```", body, flags=re.S | re.M)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", body, flags=re.S | re.M))
    return inline + [line for block in fenced for line in block.splitlines()]


def variables_the_settings_read():
    names = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if isinstance(node, ast.Call):
            function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            arguments = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "env")]
            if function in READERS:
                names |= {a.value for a in arguments if isinstance(a, ast.Constant) and isinstance(a.value, str)}
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            names.add(node.slice.value)
    return {name for name in names if re.fullmatch(r"[A-Z][A-Z0-9_]+", name)}


def variables_documented():
    """The variables in the first column of docs/configuration.md's table."""
    rows = [line for line in text(REPO_ROOT / "docs" / "configuration.md").splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def names_in_the_code():
    return {
        name
        for folder in ("access", "students", "recognition", "attendance_site", "bench", "tests")
        for path in (REPO_ROOT / folder).rglob("*.py")
        for name in re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", path.read_text())
    }


def test_the_readme_is_a_readme():
    lines = text(README).splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: the manual belongs in docs/"
    for page in DOCS:
        assert f"(docs/{page.name})" in text(README), f"the README does not lead to docs/{page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_command_named_exists(page):
    commands = get_commands()
    named = {name for line in quoted(page) for name in re.findall(r"manage\.py (\w+)", line)}
    named |= set(re.findall(r"`manage\.py (\w+)", text(page)))
    assert sorted(named - set(commands)) == []
    targets = set(re.findall(r"^([a-z]+):", (REPO_ROOT / "Makefile").read_text(), flags=re.M))
    made = {name for line in quoted(page) for name in re.findall(r"\bmake (\w+)", line)}
    assert sorted(made - targets) == []


def test_every_setting_documented_is_read_and_every_one_read_is_documented():
    read, documented = variables_the_settings_read(), variables_documented()
    assert {"DEBUG", "DATABASE_URL", "LOGIN_RATE_LIMIT", "S3_BUCKET"} <= read  # the reader finds them
    assert sorted(documented - read) == [], "documented in docs/configuration.md, read nowhere"
    assert sorted(read - documented) == [], "read by attendance_site/settings.py, missing from docs/configuration.md"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_name_in_capitals_the_docs_quote_is_a_setting_or_in_the_code(page):
    known = variables_the_settings_read() | names_in_the_code()
    quoted_names = {name for span in quoted(page) for name in re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", span)}
    assert sorted(quoted_names - known) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_file_the_docs_point_to_is_there(page):
    paths = {
        match
        for span in quoted(page)
        for match in re.findall(r"(?<![\w/.<>-])((?:[a-z_]+/)+[\w.]*)", span)
        if match.split("/")[0] in PROJECT_FOLDERS
    }
    missing = [path for path in sorted(paths) if not (REPO_ROOT / path).exists()]
    assert missing == []


def anchor(heading):
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_lands_on_a_file_and_heading_that_exist(page):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text(page)):
        if target.startswith(("http://", "https://")):
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(target)
        elif fragment and fragment not in {anchor(h) for h in re.findall(r"^#+ (.+)$", text(linked), flags=re.M)}:
            broken.append(target)
    assert broken == []


def test_the_outside_sketch_is_cited_nowhere():
    citing = [
        str(path.relative_to(REPO_ROOT))
        for folder in ("access", "students", "recognition", "attendance_site", "bench", "tests", "docs")
        for path in (REPO_ROOT / folder).rglob("*")
        if path.suffix in (".py", ".md", ".html") and path.name != "test_docs.py" and "DESIGN.md" in path.read_text()
    ]
    assert citing == []
