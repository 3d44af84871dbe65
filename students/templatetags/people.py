from django import template

register = template.Library()


@register.filter
def display_name(user):
    """What to call a person: the name on their login, else their student record's name (a
    student's login often has none of its own), else the user name; "" for no one."""
    if user is None:
        return ""
    student = getattr(user, "student", None)
    return user.get_full_name() or (student.full_name if student else "") or user.get_username()
