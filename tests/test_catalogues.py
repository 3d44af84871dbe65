"""The Vietnamese catalogue is complete and its compiled form is the committed one, checked with
Python alone (polib, Django's template lexer, the ast module): GNU gettext's xgettext and msgfmt
are not on a machine with only Python 3.11, and CI must fail there too when a string a person
reads was marked but never put in the catalogue.

The marked strings are found the way makemessages finds them: templates through Django's own
templatize (what makemessages hands to xgettext), Python through its syntax tree (calls of the
gettext family, as xgettext's keywords). `make messages` regenerates the catalogue and the .mo."""

import ast
import re
from pathlib import Path

import polib
import pytest
from django.utils.translation.template import templatize

from attendance_site.catalogues import catalogues, compiled

ROOT = Path(__file__).resolve().parent.parent
PYTHON_DIRS = ["access", "students", "recognition", "attendance_site"]
# The first argument is a context for the p- forms; the n- forms have a plural after the singular.
KEYWORDS = {
    "_": (False, False),
    "gettext": (False, False),
    "gettext_lazy": (False, False),
    "gettext_noop": (False, False),
    "ngettext": (False, True),
    "ngettext_lazy": (False, True),
    "pgettext": (True, False),
    "pgettext_lazy": (True, False),
    "npgettext": (True, True),
    "npgettext_lazy": (True, True),
}
STRING = r"""u?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
# The pages' scripts (static/*.js, the djangojs domain) call gettext("...") with a literal.
SCRIPT_CALL = re.compile(r'\bgettext\("((?:[^"\\]|\\.)*)"\)')
TEMPLATE_CALL = re.compile(rf"\b(n?p?gettext)\(((?:{STRING}\s*,\s*)*{STRING})(?:\s*,\s*count)?\)")


def message(name, strings):
    has_context, has_plural = KEYWORDS[name]
    context = strings.pop(0) if has_context else None
    return (context, strings[0], strings[1] if has_plural else None)


def template_messages(path):
    for name, arguments in TEMPLATE_CALL.findall(templatize(path.read_text(), origin=str(path))):
        yield message(name, list(ast.literal_eval(f"({arguments},)")))


def python_messages(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in KEYWORDS:
            continue
        strings = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        has_context, has_plural = KEYWORDS[name]
        if len(strings) >= 1 + has_context + has_plural:
            yield message(name, strings)


def script_messages():
    found = {}
    for path in sorted((ROOT / "static").glob("*.js")):
        found.update(((None, text, None), path) for text in SCRIPT_CALL.findall(path.read_text()))
    return found


def marked_messages(domain="django"):
    if domain == "djangojs":
        return script_messages()
    found = {}
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.suffix in (".html", ".txt"):
            found.update((key, path) for key in template_messages(path))
    for directory in PYTHON_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if "migrations" not in path.parts:
                found.update((key, path) for key in python_messages(path))
    return found


@pytest.fixture(scope="module", params=catalogues(), ids=lambda path: f"{path.parts[-3]}-{path.stem}")
def catalogue(request):
    return request.param


def test_there_is_a_vietnamese_catalogue():
    assert [(path.parts[-3], path.stem) for path in catalogues()] == [("vi", "django"), ("vi", "djangojs")]


def test_every_marked_string_is_in_the_catalogue(catalogue):
    entries = {(entry.msgctxt, entry.msgid, entry.msgid_plural or None) for entry in polib.pofile(str(catalogue))}
    marked = marked_messages(catalogue.stem)
    missing = {key: path.relative_to(ROOT) for key, path in marked.items() if key not in entries}
    assert not missing, f"not in {catalogue.relative_to(ROOT)} (run `make messages`, then translate): {missing}"


def test_the_scan_finds_what_the_pages_and_notices_say():
    # The scan itself must not find nothing: a template string, a plural, a context, a Python one.
    found = marked_messages()
    assert (None, "Log in", None) in found
    assert (None, "%(counter)s face", "%(counter)s faces") in found
    assert ("date format", "D j M Y", None) in found
    assert (None, "Absence: %(name)s, %(session)s", None) in found
    assert (None, "Camera off.", None) in marked_messages("djangojs")


def test_nothing_is_untranslated_fuzzy_or_obsolete(catalogue):
    po = polib.pofile(str(catalogue))
    assert not po.metadata_is_fuzzy
    assert not [entry.msgid for entry in po.untranslated_entries()]
    assert not [entry.msgid for entry in po.fuzzy_entries()]
    assert not [entry.msgid for entry in po.obsolete_entries()]
    assert po.percent_translated() == 100
    # makemessages' guesses leave "#|" lines (the old text) behind; msgfmt refuses them after a plural.
    assert "\n#| " not in catalogue.read_text()


def test_translations_keep_the_placeholders(catalogue):
    placeholder = re.compile(r"%(?:\([^)]+\))?[sdr]|%%|\{[a-z_]+\}")
    for entry in polib.pofile(str(catalogue)):
        source = set(placeholder.findall(entry.msgid_plural or entry.msgid))
        for translated in entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]:
            assert set(placeholder.findall(translated)) == source, (entry.msgid, translated)


def test_the_committed_mo_is_compiled_from_the_po(catalogue):
    mo = catalogue.with_suffix(".mo")
    assert mo.exists(), f"{mo.relative_to(ROOT)} missing: run `make messages`"
    assert mo.read_bytes() == compiled(catalogue), f"{mo.relative_to(ROOT)} is stale: run `make messages`"
