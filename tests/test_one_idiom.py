"""One idiom per concern, kept (docs/architecture.md, "One idiom per concern"): a second way of
doing one of these fails here, naming the file and line.

- a session's time is written by students/times.py: no strftime, and no date filter on a
  session's start or end in a template;
- a person's name by students/names.py: no get_full_name() anywhere else, templates included;
- an e-mail goes out through students/mail.py: nothing else builds or sends one;
- a view or the API fetches one object through the named helpers of the permissions modules,
  never get_object_or_404 on a queryset of its own;
- a Celery worker, a free port and a process's end in tests and benchmarks come from
  tests/processes.py.
"""

import re

import pytest

from tests.conftest import REPO_ROOT

PRODUCT = ("access", "students", "recognition", "attendance_site")


def lines_of(folders, suffix, allowed=()):
    for folder in folders:
        for path in sorted((REPO_ROOT / folder).rglob(f"*{suffix}")):
            name = str(path.relative_to(REPO_ROOT))
            if "migrations" in path.parts or name in allowed:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                yield f"{name}:{number}", line


def found(pattern, folders, suffix=".py", allowed=()):
    return [
        f"{where}: {line.strip()}" for where, line in lines_of(folders, suffix, allowed) if re.search(pattern, line)
    ]


RULES = {
    "a session's time written on its own": (r"\.strftime\(", PRODUCT, ".py", ("students/times.py",)),
    "a session's time written by a template of its own": (
        r"\b(starts_at|ends_at)\|(date|time)\b",
        ["templates"],
        ".html",
        (),
    ),
    "a person's name made on its own": (r"get_full_name", PRODUCT, ".py", ("students/names.py",)),
    "a person's name made by a template of its own": (r"get_full_name", ["templates"], ".html", ()),
    "an e-mail sent another way": (
        r"(?<!def )\b(send_mail|send_mass_mail|EmailMessage|EmailMultiAlternatives)\(",
        PRODUCT,
        ".py",
        ("students/mail.py",),
    ),
    "an object fetched around the access helpers": (r"get_object_or_404", PRODUCT, ".py", ()),
    "a worker started another way": (
        r"contrib\.testing\.worker|\"celery\", \"-A\"",
        ["tests", "bench"],
        ".py",
        ("tests/processes.py", "tests/test_one_idiom.py"),
    ),
    "a free port found another way": (
        r"\.bind\(\(.*, 0\)\)",
        ["tests", "bench"],
        ".py",
        ("tests/processes.py", "tests/test_one_idiom.py", "tests/test_health.py"),
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_one_idiom(rule):
    pattern, folders, suffix, allowed = RULES[rule]
    assert found(pattern, folders, suffix, allowed) == []


def test_the_rules_see_what_they_look_for():
    # Each rule's pattern finds its one allowed place (or an example), so an empty answer means
    # nothing was found, not that nothing was read.
    assert found(r"\.strftime\(|date_format\(", ["students"], ".py") != []
    assert found(r"get_full_name", ["students"], ".py") != []
    assert found(r"EmailMessage\(", ["students"], ".py") != []
    assert found(r"start_worker\(", ["tests"], ".py") != []
