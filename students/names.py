"""Names of people: what to call a person wherever they are named (person_name, for pages through
the person_name filter, students/templatetags/people.py), and names as people write them: one
line of text. A line break, a tab or another control character in a name is never meant, and
breaks what the name is put into (an e-mail's subject refuses it, a CSV row or a log line
splits). Forms refuse them, saying so; whatever writes a name without a form (an import, a
script) has them replaced by a space as the row is saved (students/models.py)."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional
# overrides and isolates (which make a name display as another).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
NOT_ONE_LINE = _("Write it on one line: it has a line break, a tab or another control character.")


def person_name(user):
    """What to call a person: the name on their login, else their student record's name (a
    student's login often has none of its own), else the user name; "" for no one."""
    if user is None:
        return ""
    student = getattr(user, "student", None)
    return user.get_full_name() or (student.full_name if student else "") or user.get_username()


def person_label(user):
    """How a login is shown in a picker: the person's name, and the login to tell namesakes apart."""
    full_name = user.get_full_name()
    return f"{full_name} ({user.username})" if full_name else user.username


def has_control_characters(value):
    return bool(CONTROL_CHARACTERS.search(value or ""))


def refuse_control_characters(value):
    """A name field's validator."""
    if has_control_characters(value):
        raise ValidationError(NOT_ONE_LINE, code="control_characters")


def one_line(value):
    """The name with each run of control characters replaced by a space."""
    return CONTROL_CHARACTERS.sub(" ", value).strip() if has_control_characters(value) else value


def search_key(name):
    """A name folded for search: lower case, without tone marks or other diacritics, đ as d, one
    space between words. "Nguyễn Thị Ánh" and "nguyen thi anh" fold alike, so a search typed
    without Vietnamese input finds the name (students/search.py)."""
    decomposed = unicodedata.normalize("NFKD", one_line(name).casefold().replace("đ", "d"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


# Vietnamese letters in the order of the Vietnamese alphabet (a ă â b c d đ e ê ... o ô ơ ... u ư),
# each after its base letter; the five tones are a lesser difference, compared only between
# names that are otherwise the same (a, à, á, ả, ã, ạ: the dictionaries' order).
LETTER_ORDER = {"ă": "a1", "â": "a2", "đ": "d1", "ê": "e1", "ô": "o1", "ơ": "o2", "ư": "u1"}
TONE_ORDER = {"\u0300": "1", "\u0301": "2", "\u0309": "3", "\u0303": "4", "\u0323": "5"}


def _letters_and_tones(word):
    letters, tones = [], []
    for char in unicodedata.normalize("NFD", word.casefold()):
        if char in TONE_ORDER:
            tones[-1:] = [TONE_ORDER[char]]
        elif unicodedata.combining(char) and letters:
            # A letter's own mark (breve, circumflex, horn): recompose it with its base letter.
            base = unicodedata.normalize("NFC", letters[-1][0] + char)
            letters[-1] = LETTER_ORDER.get(base, letters[-1])
        else:
            letters.append(LETTER_ORDER.get(char, char + "0"))
            tones.append("0")
    return "".join(letters), "".join(tones)


def name_sort_key(full_name):
    """How a list of students is ordered: by the last word of the name, then the words before it,
    in the Vietnamese alphabet. A Vietnamese class list is ordered by given name, which is the
    last word (Nguyễn Văn An before Trần Thị Bình); an English one by family name, which is the
    last word too, so the one order suits both."""
    words = full_name.split()
    ordered = [*words[-1:], *words[:-1]]
    keys = [_letters_and_tones(word) for word in ordered]
    return [letters for letters, _tones in keys], [tones for _letters, tones in keys], full_name
