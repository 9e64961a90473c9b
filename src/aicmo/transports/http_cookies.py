"""The cookies of a :class:`~aicmo.transports.safe_http.SafeHttpClient` session, kept by host name.

The SSRF guard connects to the IP address it checked, so the URL httpx sees carries the IP,
not the name: httpx's own jar would key cookies on that IP and mix up sites served from one
address. The client therefore gives httpx a jar that keeps nothing
(:func:`cookie_free_jar`) and keeps cookies itself in a small RFC 6265-ish
:class:`CookieStore` keyed by the host name.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookiejar import Cookie, CookieJar, CookiePolicy
from http.cookies import CookieError, SimpleCookie
from typing import Any, Protocol

import httpx

__all__ = ["CookieStore", "CookieTarget", "cookie_free_jar"]


class CookieTarget(Protocol):
    """The destination of one request, as the store needs to see it."""

    @property
    def url(self) -> httpx.URL:
        """The URL with the host name (not the dialled IP)."""

    @property
    def host(self) -> str:
        """The ASCII host name, or the IP literal, without brackets."""

    @property
    def ip(self) -> object | None:
        """The IP address when the host is an IP literal, else None."""


class _NoCookiesPolicy(CookiePolicy):
    """httpx's own jar would key cookies on the IP it connects to; it must keep none."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


@dataclass
class _StoredCookie:
    name: str
    value: str
    domain: str
    host_only: bool
    path: str
    secure: bool
    expires: float | None  # time.time() seconds; None for a session cookie


def _path_matches(request_path: str, cookie_path: str) -> bool:
    if request_path == cookie_path:
        return True
    if not request_path.startswith(cookie_path):
        return False
    return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"


def _default_path(request_path: str) -> str:
    if not request_path.startswith("/") or request_path.count("/") == 1:
        return "/"
    return request_path[: request_path.rindex("/")]


class CookieStore:
    """A small RFC 6265-ish cookie store keyed by host name (never by the dialled IP)."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], _StoredCookie] = {}

    def store(self, target: CookieTarget, set_cookie_headers: Sequence[str]) -> None:
        now = time.time()
        for header in set_cookie_headers:
            parsed: SimpleCookie = SimpleCookie()
            try:
                parsed.load(header)
            except CookieError:
                continue
            for name, morsel in parsed.items():
                cookie = self._from_morsel(target, name, morsel, now)
                if cookie is None:
                    continue
                key = (cookie.domain, cookie.path, cookie.name)
                if cookie.expires is not None and cookie.expires <= now:
                    self._cookies.pop(key, None)
                else:
                    self._cookies[key] = cookie

    @staticmethod
    def _from_morsel(
        target: CookieTarget, name: str, morsel: Any, now: float
    ) -> _StoredCookie | None:
        host = target.host
        domain_attr = str(morsel["domain"]).strip().lstrip(".").lower()
        if domain_attr and target.ip is None:
            if "." not in domain_attr:  # a bare TLD; no public-suffix list, so refuse it
                return None
            if host != domain_attr and not host.endswith("." + domain_attr):
                return None
            domain, host_only = domain_attr, False
        else:
            domain, host_only = host, True
        path = str(morsel["path"]) or ""
        if not path.startswith("/"):
            path = _default_path(target.url.path)
        expires: float | None = None
        max_age = str(morsel["max-age"]).strip()
        if max_age:
            try:
                expires = now + int(max_age)
            except ValueError:
                expires = None
        elif morsel["expires"]:
            try:
                expires = parsedate_to_datetime(str(morsel["expires"])).timestamp()
            except (TypeError, ValueError):
                expires = None
        return _StoredCookie(
            name=name,
            value=str(morsel.value),
            domain=domain,
            host_only=host_only,
            path=path,
            secure=bool(morsel["secure"]),
            expires=expires,
        )

    def header_for(self, target: CookieTarget) -> str | None:
        now = time.time()
        host, path = target.host, target.url.path or "/"
        matching = [
            cookie
            for cookie in self._cookies.values()
            if (cookie.expires is None or cookie.expires > now)
            and (
                host == cookie.domain
                or (not cookie.host_only and host.endswith("." + cookie.domain))
            )
            and _path_matches(path, cookie.path)
            and (not cookie.secure or target.url.scheme == "https")
        ]
        matching.sort(key=lambda cookie: -len(cookie.path))  # longer paths first (RFC 6265)
        return "; ".join(f"{c.name}={c.value}" for c in matching) or None

    def as_dict(self, host: str) -> dict[str, str]:
        host = host.lower()
        return {
            c.name: c.value
            for c in self._cookies.values()
            if host == c.domain or (not c.host_only and host.endswith("." + c.domain))
        }


def cookie_free_jar() -> CookieJar:
    return CookieJar(policy=_NoCookiesPolicy())
