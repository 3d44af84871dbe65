"""A local stand-in for an OpenID Connect provider (the school's Google Workspace or Microsoft 365):
discovery document, JWKS, authorization endpoint, token endpoint and userinfo, over real HTTP.

Whoever the test put in `signed_in` is the person signed in at the provider: the authorization
endpoint sends the browser straight back with a one-time code for them, as the real ones do once
the person has chosen their account. The token endpoint checks the client's secret, the redirect
address and the PKCE verifier, and answers with an ID token signed RS256 by a key made for this
fake; `id_token_changes` alters the next tokens' claims (a token for another client, say).
"""

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import parse_qs, urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.helpers import LocalHTTPServer

KEY_ID = "fake-oidc-key-1"


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_int(number):
    return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


class FakeOpenIDProvider(LocalHTTPServer):
    def __init__(self, client_id, client_secret):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signed_in = None  # the claims of the person signed in at the provider
        self.id_token_changes = {}
        self.codes = {}  # code -> what the authorization request asked, for the token request
        self.access_tokens = {}  # access token -> claims, for userinfo

    # --- test controls ------------------------------------------------------------------

    def paths_requested(self):
        return [path for _, path in self.requests]

    # --- the endpoints ------------------------------------------------------------------

    def discovery(self):
        return 200, {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def jwks(self):
        numbers = self.private_key.public_key().public_numbers()
        key = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": KEY_ID,
            "n": b64url_int(numbers.n),
            "e": b64url_int(numbers.e),
        }
        return 200, {"keys": [key]}

    def authorize(self, query):
        """The address to send the browser back to, with a code or with an error."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return 400, {"error": "invalid_client"}
        back = {"state": query.get("state", "")}
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            back["error"] = "unsupported_response_type"
        elif self.signed_in is None:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "claims": dict(self.signed_in),
                "redirect_uri": redirect_uri,
                "code_challenge": query.get("code_challenge"),
                "nonce": query.get("nonce"),
            }
            back["code"] = code
        return 302, f"{redirect_uri}?{urlencode(back)}"

    def grant_token(self, form, authorization):
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        if grant["code_challenge"]:
            verifier = form.get("code_verifier", "").encode()
            if b64url(hashlib.sha256(verifier).digest()) != grant["code_challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        access_token = secrets.token_urlsafe(16)
        self.access_tokens[access_token] = grant["claims"]
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid email profile",
            "id_token": self.id_token(grant["claims"], grant["nonce"]),
        }

    def id_token(self, person, nonce):
        now = int(time.time())
        claims = {"iss": self.url, "aud": self.client_id, "iat": now, "exp": now + 3600, **person}
        if nonce:
            claims["nonce"] = nonce
        claims.update(self.id_token_changes)
        header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": KEY_ID}).encode())
        payload = b64url(json.dumps(claims).encode())
        signature = self.private_key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{b64url(signature)}"

    def userinfo(self, authorization):
        claims = self.access_tokens.get(authorization.removeprefix("Bearer "))
        if claims is None:
            return 401, {"error": "invalid_token"}
        return 200, claims

    # --- HTTP ---------------------------------------------------------------------------

    def route(self, method, path, query, raw, headers):
        authorization = headers.get("Authorization", "")
        if method == "GET" and path == "/.well-known/openid-configuration":
            return self.discovery()
        if method == "GET" and path == "/jwks":
            return self.jwks()
        if method == "GET" and path == "/authorize":
            return self.authorize(first_values(query))
        if method == "POST" and path == "/token":
            return self.grant_token(first_values(raw.decode()), authorization)
        if path == "/userinfo":
            return self.userinfo(authorization)
        return 404, {"error": "not_found"}


def first_values(query):
    return {key: values[0] for key, values in parse_qs(query).items()}
