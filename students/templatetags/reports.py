"""The charts of the course and student pages, each a figure with its table (students/reports.py
counts them): {% course_charts sessions rows %} and {% student_charts student course scripts=... %}."""

from django import template

from students import reports

register = template.Library()


@register.inclusion_tag("students/_course_charts.html")
def course_charts(sessions, rows):
    """sessions, rows: the course page's held sessions and its students' rows (overview.py)."""
    weeks = reports.weekly_status_counts(sessions, rows)
    return {
        "weeks": weeks,
        "week_rows": list(zip(weeks["labels"], *(series["counts"] for series in weeks["series"]), strict=True)),
        "students": reports.student_percentages(rows),
        "rows": rows,
    }


@register.inclusion_tag("students/_student_charts.html")
def student_charts(student, course, scripts=True):
    """scripts: whether to load the chart scripts; once a page, where it draws several courses."""
    report = reports.student_course_report(student, course)
    return {
        "course": course,
        "scripts": scripts,
        "trend_id": f"trend-{course.pk}",
        "trend": report.trend,
        "trend_rows": list(zip(report.trend["labels"], report.trend["values"], strict=True)),
        "strip": report.strip,
    }
