"""A local stand-in for Google: the OAuth2 token endpoint (service-account JWT bearer grant, with
the signature checked against the test's public key) and the Sheets v4 endpoints a sync uses.

Spreadsheets live in memory as {title: {(row, column): text}} with a grid size per worksheet,
and Google's rules that a sync depends on are kept: writes outside the grid are refused, a batch
is all or nothing, and a spreadsheet not shared with the service account answers 403.
"""

import base64
import json
import re
import secrets
import time
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.helpers import LocalHTTPServer

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Google's token endpoint is the audience of every grant, wherever the token_uri points.
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
SPREADSHEET_PATH = re.compile(r"^/v4/spreadsheets/([^/:]+)(:batchUpdate)?$")


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def api_error(status, message, reason):
    return status, {"error": {"code": status, "message": message, "status": reason}}


class Worksheet:
    def __init__(self, sheet_id, title, rows, columns):
        self.sheet_id, self.title, self.rows, self.columns = sheet_id, title, rows, columns
        self.cells = {}

    def properties(self, index):
        grid = {"rowCount": self.rows, "columnCount": self.columns}
        return {"sheetId": self.sheet_id, "title": self.title, "index": index, "gridProperties": grid}

    def resize(self, rows, columns):
        self.rows, self.columns = rows, columns
        self.cells = {(r, c): text for (r, c), text in self.cells.items() if r < rows and c < columns}

    def replace_cells(self, rows):
        if len(rows) > self.rows or any(len(row["values"]) > self.columns for row in rows):
            raise BadRequest(400, f"Range ('{self.title}') exceeds grid limits.")
        self.cells = {}
        for r, row in enumerate(rows):
            for c, value in enumerate(row["values"]):
                text = value.get("userEnteredValue", {}).get("stringValue", "")
                if text:
                    self.cells[(r, c)] = text

    def table(self):
        """The contents as rows of text, trimmed to the last row and column that hold anything."""
        if not self.cells:
            return []
        height = max(r for r, _ in self.cells) + 1
        width = max(c for _, c in self.cells) + 1
        return [[self.cells.get((r, c), "") for c in range(width)] for r in range(height)]


class FakeGoogle(LocalHTTPServer):
    def __init__(self, service_account_email, public_key):
        super().__init__()
        self.service_account_email = service_account_email
        self.public_key = public_key
        self.spreadsheets = {}  # id -> {"shared": bool, "worksheets": [Worksheet]}
        self.tokens = set()
        self.failures = []  # statuses to answer the next Sheets requests with, in order

    # --- test controls ------------------------------------------------------------------

    def add_spreadsheet(self, spreadsheet_id, shared=True):
        self.spreadsheets[spreadsheet_id] = {"shared": shared, "worksheets": [Worksheet(0, "Sheet1", 1000, 26)]}

    def fail_next(self, *statuses):
        self.failures.extend(statuses)

    def table(self, spreadsheet_id, title):
        return self.worksheet(spreadsheet_id, title).table()

    def worksheet(self, spreadsheet_id, title):
        return next(ws for ws in self.spreadsheets[spreadsheet_id]["worksheets"] if ws.title == title)

    def sheets_requests(self):
        return [request for request in self.requests if request[1].startswith("/v4/")]

    # --- the token endpoint -------------------------------------------------------------

    def grant_token(self, form):
        if form.get("grant_type") != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = self.verified_claims(form.get("assertion", ""))
        except (ValueError, InvalidSignature):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        if claims["iss"] != self.service_account_email or claims["aud"] != TOKEN_AUDIENCE:
            return 400, {"error": "invalid_grant", "error_description": "Invalid issuer or audience."}
        if claims["exp"] < time.time() or SHEETS_SCOPE not in claims.get("scope", "").split():
            return 400, {"error": "invalid_grant", "error_description": "Expired or without the Sheets scope."}
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def verified_claims(self, assertion):
        header, payload, signature = assertion.split(".")
        if json.loads(b64url_decode(header))["alg"] != "RS256":
            raise ValueError("not RS256")
        self.public_key.verify(
            b64url_decode(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return json.loads(b64url_decode(payload))

    # --- the Sheets API -----------------------------------------------------------------

    def sheets_call(self, method, spreadsheet_id, is_batch_update, authorization, body):
        if authorization.removeprefix("Bearer ") not in self.tokens:
            return api_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        if self.failures:
            status = self.failures.pop(0)
            return api_error(
                status, f"Injected failure {status}.", "RESOURCE_EXHAUSTED" if status == 429 else "UNAVAILABLE"
            )
        spreadsheet = self.spreadsheets.get(spreadsheet_id)
        if spreadsheet is None:
            return api_error(404, "Requested entity was not found.", "NOT_FOUND")
        if not spreadsheet["shared"]:
            return api_error(403, "The caller does not have permission", "PERMISSION_DENIED")
        if method == "GET" and not is_batch_update:
            sheets = [{"properties": ws.properties(i)} for i, ws in enumerate(spreadsheet["worksheets"])]
            return 200, {"spreadsheetId": spreadsheet_id, "sheets": sheets}
        if method == "POST" and is_batch_update:
            return self.batch_update(spreadsheet, spreadsheet_id, body["requests"])
        return api_error(400, "Not served by the fake.", "INVALID_ARGUMENT")

    def batch_update(self, spreadsheet, spreadsheet_id, requests):
        # All or nothing, as at Google: apply to copies, keep them only if every request worked.
        worksheets = [self.copy_worksheet(ws) for ws in spreadsheet["worksheets"]]
        try:
            for request in requests:
                self.apply(worksheets, request)
        except BadRequest as error:
            return api_error(error.status, str(error), "INVALID_ARGUMENT")
        spreadsheet["worksheets"] = worksheets
        return 200, {"spreadsheetId": spreadsheet_id, "replies": [{} for _ in requests]}

    @staticmethod
    def copy_worksheet(ws):
        copy = Worksheet(ws.sheet_id, ws.title, ws.rows, ws.columns)
        copy.cells = dict(ws.cells)
        return copy

    @staticmethod
    def apply(worksheets, request):
        by_id = {ws.sheet_id: ws for ws in worksheets}
        ((kind, body),) = request.items()
        if kind == "addSheet":
            props = body["properties"]
            if props["sheetId"] in by_id or any(ws.title == props["title"] for ws in worksheets):
                raise BadRequest(400, f"A sheet with the id or name {props['title']!r} already exists.")
            grid = props["gridProperties"]
            worksheets.append(Worksheet(props["sheetId"], props["title"], grid["rowCount"], grid["columnCount"]))
        elif kind == "updateSheetProperties":
            ws = by_id[body["properties"]["sheetId"]]
            grid = body["properties"]["gridProperties"]
            ws.resize(grid["rowCount"], grid["columnCount"])
        elif kind == "updateCells":
            if set(body["range"]) != {"sheetId"} or body["fields"] != "userEnteredValue":
                raise BadRequest(400, "The fake serves whole-sheet userEnteredValue updates only.")
            if body["range"]["sheetId"] not in by_id:
                raise BadRequest(400, f"No grid with id: {body['range']['sheetId']}")
            by_id[body["range"]["sheetId"]].replace_cells(body["rows"])
        else:
            raise BadRequest(400, f"Request {kind} is not served by the fake.")

    # --- HTTP ---------------------------------------------------------------------------

    def route(self, method, path, query, raw, headers):
        if method == "POST" and path == "/token":
            form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
            return self.grant_token(form)
        match = SPREADSHEET_PATH.match(path)
        if match is None:
            return api_error(404, "No such endpoint.", "NOT_FOUND")
        body = json.loads(raw) if raw else None
        return self.sheets_call(method, match[1], bool(match[2]), headers.get("Authorization", ""), body)


def new_service_account_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_info(private_key, email, token_uri):
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "rollcall-test",
        "private_key_id": "test-key",
        "private_key": pem,
        "client_email": email,
        "client_id": "1",
        "token_uri": token_uri,
    }
