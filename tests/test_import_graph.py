"""Imports run one way: no module of the project imports itself back through others (an import
inside a function counts too: it hides a circle, it does not break it); recognition uses
students, never the reverse, and the policy both use (access: roles and device login) uses
neither, so nothing students imports reaches recognition by any path (docs/architecture.md,
"Who owns what"); and no app's API or view module imports the other app's API or view module."""

import ast

from tests.conftest import REPO_ROOT

APPS = ("access", "students", "recognition", "attendance_site")
ENTRY_POINTS = ("api", "views")


def module_name(path):
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for app in APPS
    for path in (REPO_ROOT / app).rglob("*.py")
    if "migrations" not in path.parts
}


def imported_modules(name):
    """The project's modules that module `name` imports, anywhere in it."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # `from .x import name`: the module is .x
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


GRAPH = {name: set(imported_modules(name)) for name in MODULES}


def circles():
    found, on_path, done = [], [], set()

    def visit(name):
        on_path.append(name)
        for imported in sorted(GRAPH[name]):
            if imported in on_path:
                found.append(on_path[on_path.index(imported) :] + [imported])
            elif imported not in done:
                visit(imported)
        on_path.pop()
        done.add(name)

    for name in sorted(GRAPH):
        if name not in done:
            visit(name)
    return found


def test_no_module_imports_itself_back():
    assert GRAPH["students.tasks"] >= {"students.sheets"}  # the graph sees relative imports
    assert circles() == []


def test_no_api_or_view_module_imports_another_apps_api_or_view_module():
    def entry_point(name):
        app, _, module = name.partition(".")
        return module in ENTRY_POINTS

    crossings = [
        (name, imported)
        for name in GRAPH
        if entry_point(name)
        for imported in GRAPH[name]
        if entry_point(imported) and imported.partition(".")[0] != name.partition(".")[0]
    ]
    assert crossings == []


def app_of(name):
    return name.partition(".")[0]


def reached_from(app):
    """Every module that the modules of `app` import, directly or through others."""
    seen, todo = set(), [name for name in GRAPH if app_of(name) == app]
    while todo:
        for imported in GRAPH[todo.pop()]:
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen


def imports_between(importer, imported_app):
    return sorted(
        (name, imported)
        for name in GRAPH
        if app_of(name) == importer
        for imported in GRAPH[name]
        if app_of(imported) == imported_app
    )


def test_students_never_imports_recognition():
    assert imports_between("students", "recognition") == []
    assert {app_of(name) for name in reached_from("students")} <= {"students", "access", "attendance_site"}


def test_access_stands_below_both_apps():
    assert {app_of(name) for name in reached_from("access")} <= {"access", "attendance_site"}
