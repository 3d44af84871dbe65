"""Every CSV file the site writes goes through here: a school opens them in a spreadsheet,
which runs a cell that begins like a formula (a student named =HYPERLINK(...) would be a live
link that sends the neighbouring cells away). Each starts with a byte-order mark: without it Excel
on Windows reads UTF-8 as the local code page and garbles accented names."""

import csv

from django.http import HttpResponse

# What Excel, LibreOffice and Google Sheets read as the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value):
    """The value as a spreadsheet shows it as text: a leading apostrophe before a formula start.
    Numbers are left as numbers; a negative one is not a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_download(filename, header, rows):
    """An attachment CSV of the header and rows, every cell inert."""
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    for row in [header, *rows]:
        writer.writerow([inert_cell(cell) for cell in row])
    return response
