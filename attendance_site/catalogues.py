"""The translation catalogues' compiled form, made with polib (pure Python) rather than GNU
msgfmt: the compiled locale/*/LC_MESSAGES/django.mo are committed, so that a machine with only
Python runs the site in every language, and tests/test_catalogues.py compiles each .po the same
way and fails when the committed .mo differs (a .po edited without `make messages`).

    python -m attendance_site.catalogues   # what `make messages` runs after makemessages
"""

from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogues():
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def compiled(po_path):
    """The .mo bytes of a .po file, as polib writes them."""
    return polib.pofile(str(po_path)).to_binary()


def compile_all():
    for po_path in catalogues():
        po_path.with_suffix(".mo").write_bytes(compiled(po_path))
        print(f"compiled {po_path.relative_to(LOCALE_DIR.parent)}")


if __name__ == "__main__":
    compile_all()
