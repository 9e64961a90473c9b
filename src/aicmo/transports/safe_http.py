"""Fetch and post to arbitrary websites (leads' contact forms) without becoming an SSRF proxy.

A lead's website is untrusted input: its URL, its DNS answers and its redirects may all
point at the machine aicmo runs on, at the private network around it, or at a cloud
metadata endpoint. :class:`SafeHttpClient` therefore, for every hop (the first request and
each redirect, followed by hand):

1. parses the URL: ``http``/``https`` only, no userinfo, a well-formed host. Numeric host
   spellings that browsers and ``inet_aton`` read as IPv4 addresses (``2130706433``,
   ``0177.0.0.1``, ``0x7f.1``, ``127.1``) are read the same way, so they are checked as the
   address they denote and never handed to a resolver as names;
2. refuses reserved names (RFC 2606 / RFC 6761: ``*.example``, ``*.test``, ``*.invalid``,
   ``*.localhost``, ``example.com`` …) without resolving them;
3. resolves the name once and refuses the hop if *any* address is loopback, private,
   link-local (169.254.0.0/16, cloud metadata), CGNAT, multicast, reserved, unspecified,
   or an IPv6 form of those (IPv4-mapped, NAT64, 6to4, Teredo, ULA, site-local …);
4. connects to the address it checked — the request goes to the IP, with the original
   ``Host`` header and the original name as TLS SNI, so the certificate is verified for
   the real name and a second DNS answer (DNS rebinding) is never used.

Loopback is allowed only through ``allow_loopback=True`` (tests, a site on the same
machine); private ranges stay refused even then. The name and address rules are
:mod:`aicmo.transports.netguard`'s, shared with the mail transports.

Bodies are streamed and cut at ``max_bytes``; every hop has connect/read timeouts and an
overall deadline. robots.txt is honoured (``urllib.robotparser``, user-agent token
``aicmo``) and fetched through the same guard. Cookies are kept per host name by the client
itself, because the connection-level URL carries the IP, not the name.

A :class:`SafeHttpClient` is a session (cookies, robots cache); it is not thread-safe.
"""

from __future__ import annotations

import codecs
import ipaddress
import json
import re
import secrets
import socket
import time
import urllib.parse
import urllib.robotparser
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Final

import httpx

from aicmo.errors import (
    PermanentChannelError,
    TransientChannelError,
    ValidationError,
)
from aicmo.transports.closing import ClosesOnExit
from aicmo.transports.http_cookies import CookieStore, cookie_free_jar
from aicmo.transports.netguard import (
    IPAddress,
    Resolver,
    address_refusal,
    is_reserved_name,
    system_resolver,
)

__all__ = [
    "DEFAULT_USER_AGENT",
    "ROBOTS_AGENT",
    "FetchError",
    "FileValue",
    "FormData",
    "FormFiles",
    "ResponseTooLargeError",
    "RobotsDisallowedError",
    "SafeHttpClient",
    "SafeResponse",
    "TooManyRedirectsError",
    "UnsafeUrlError",
    "check_address",
    "default_resolver",
    "parse_ipv4_number_host",
]

FileValue = tuple[str, bytes] | tuple[str, bytes, str]
"""A file field: ``(filename, content)`` or ``(filename, content, content_type)``."""

FormData = Mapping[str, str] | Sequence[tuple[str, str]]
FormFiles = Mapping[str, FileValue] | Sequence[tuple[str, FileValue]]

ROBOTS_AGENT: Final = "aicmo"

URLENCODED: Final = "application/x-www-form-urlencoded"
MULTIPART: Final = "multipart/form-data"

_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_ROBOTS_MAX_BYTES: Final = 512_000


def _package_version() -> str:
    try:
        return metadata.version("aicmo")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0"


DEFAULT_USER_AGENT: Final = (
    f"{ROBOTS_AGENT}/{_package_version()} (+contact-form outreach; respects robots.txt)"
)


# --- errors -----------------------------------------------------------------------------------


class UnsafeUrlError(ValidationError):
    """The URL or the address it leads to is refused by the SSRF guard; nothing was sent."""


class FetchError(TransientChannelError):
    """The website could not be reached (DNS, connection, timeout); it may work later.

    ``sent`` says whether the request may have reached the site (a timeout or a dropped
    connection after it was written, or a failure on a later redirect hop): a form
    submission that failed that way must not be repeated blindly.
    """

    def __init__(self, message: str | None = None, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class ResponseTooLargeError(PermanentChannelError):
    """The response is larger than the size cap; reading stopped there."""


class TooManyRedirectsError(PermanentChannelError):
    """The website redirected more times than allowed."""


class RobotsDisallowedError(PermanentChannelError):
    """The site's robots.txt disallows this URL for aicmo; it was not fetched."""


# --- address checks ---------------------------------------------------------------------------


def check_address(ip: IPAddress, *, allow_loopback: bool = False) -> None:
    """Raise :class:`UnsafeUrlError` unless ``ip`` is a public address aicmo may connect to."""
    reason = address_refusal(ip, allow_loopback=allow_loopback)
    if reason is not None:
        raise UnsafeUrlError(f"refused: {ip} is {reason}", field="url")


# --- host parsing -----------------------------------------------------------------------------

_DIGITS: Final = {8: re.compile(r"[0-7]*"), 10: re.compile(r"[0-9]+"), 16: re.compile(r"[0-9a-f]*")}
_HOST_LABEL: Final = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 host as the WHATWG URL standard (and ``inet_aton``) reads it."""
    if not part:
        return None
    base = 10
    if part[:2] in ("0x", "0X"):
        part, base = part[2:].lower(), 16
    elif len(part) > 1 and part[0] == "0":
        part, base = part[1:], 8
    if not _DIGITS[base].fullmatch(part):
        return None
    return int(part, base) if part else 0


def _ends_in_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if not last:
        return False
    return (last.isascii() and last.isdigit()) or _ipv4_number(last) is not None


def parse_ipv4_number_host(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a numeric host denotes (``2130706433``, ``0177.0.0.1``, ``0x7f.1``,
    ``127.1``), None if ``host`` is a name.

    Browsers and ``inet_aton`` accept these spellings, so the guard must read them as the
    address they are rather than pass them to a resolver. A host that ends in a number but
    is not a valid IPv4 address (``1.2.3.4.5``, ``0189.1``) raises :class:`UnsafeUrlError`.
    """
    host = host.rstrip(".") if host != "." else host
    if not host or not _ends_in_number(host):
        return None
    parts = host.split(".")
    numbers = [_ipv4_number(part) for part in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise UnsafeUrlError(f"refused: {host!r} is not a valid IPv4 address", field="url")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise UnsafeUrlError(f"refused: {host!r} is out of the IPv4 range", field="url")
    address = values[-1]
    for index, n in enumerate(values[:-1]):
        address += n << (8 * (3 - index))
    return ipaddress.IPv4Address(address)


@dataclass(frozen=True)
class _Target:
    """One hop's destination: the URL as the user sees it, and what the guard checks."""

    url: httpx.URL  # canonical host (IDNA ASCII, no trailing dot, numeric IPv4 canonicalised)
    host: str  # ASCII host without brackets
    port: int
    ip: IPAddress | None  # set when the host is an IP literal

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.url.scheme, self.host, self.port)

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")


def _unsafe(message: str) -> UnsafeUrlError:
    return UnsafeUrlError(message, field="url")


def _parse_url(raw: str | httpx.URL, base: httpx.URL | None = None) -> _Target:
    text = str(raw)
    try:
        url = base.join(text) if base is not None else httpx.URL(text)
    except httpx.InvalidURL as exc:
        # httpx rejects dotted forms such as 0177.0.0.1; say which address they denote.
        try:
            joined = urllib.parse.urljoin(str(base), text) if base is not None else text
            host = urllib.parse.urlsplit(joined).hostname or ""
            denoted = parse_ipv4_number_host(host)
        except ValueError:
            denoted = None
        if denoted is not None:
            reason = address_refusal(denoted, allow_loopback=False)
            detail = f"denotes {denoted}" + (f", {reason}" if reason else "")
            raise _unsafe(f"refused: the host {host!r} {detail}; use the plain form") from exc
        raise _unsafe(f"refused: invalid URL {text!r} ({exc})") from exc
    scheme = url.scheme
    if scheme not in ("http", "https"):
        raise _unsafe(f"refused: {text!r} is not an http(s) URL")
    if url.userinfo:
        raise _unsafe("refused: URLs with a user name or password are not fetched")
    host = url.raw_host.decode("ascii").lower()
    if host.endswith(".") and host != ".":
        host = host.rstrip(".")
        url = url.copy_with(host=host)
    if not host or host == ".":
        raise _unsafe(f"refused: {text!r} has no host")
    port = url.port if url.port is not None else (443 if scheme == "https" else 80)
    if not 0 < port < 65536:
        raise _unsafe(f"refused: port {port} is not valid")
    ip: IPAddress | None
    if ":" in host:
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise _unsafe(f"refused: {host!r} is not a valid IPv6 address") from exc
    else:
        ip = parse_ipv4_number_host(host)
        if ip is not None:
            if str(ip) != host:
                url = url.copy_with(host=str(ip))
            host = str(ip)
        elif not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")) or (
            len(host) > 253
        ):
            raise _unsafe(f"refused: {host!r} is not a valid host name")
    return _Target(url=url.copy_with(fragment=None), host=host, port=port, ip=ip)


def default_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (``socket.getaddrinfo``), in the system's order."""
    try:
        return system_resolver(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"could not resolve {host}: {exc}") from exc


# --- request bodies ---------------------------------------------------------------------------


def _pairs(data: FormData | None) -> list[tuple[str, str]]:
    if data is None:
        return []
    if isinstance(data, Mapping):
        return [(str(k), str(v)) for k, v in data.items()]
    return [(str(k), str(v)) for k, v in data]


def _file_pairs(files: FormFiles | None) -> list[tuple[str, FileValue]]:
    if files is None:
        return []
    if isinstance(files, Mapping):
        return list(files.items())
    return list(files)


def _quote_multipart(value: str) -> str:
    """Escape a field or file name as browsers do (WHATWG multipart/form-data)."""
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def _encode_body(
    data: FormData | None, files: FormFiles | None, enctype: str | None
) -> tuple[bytes | None, str | None]:
    """The body and Content-Type of a form submission, as a browser would send it."""
    fields, file_fields = _pairs(data), _file_pairs(files)
    if enctype is None:
        if data is None and files is None:
            return None, None
        enctype = MULTIPART if file_fields else URLENCODED
    enctype = enctype.split(";", 1)[0].strip().lower()
    if enctype == URLENCODED:
        if file_fields:
            raise ValidationError("files need enctype multipart/form-data", field="enctype")
        return urllib.parse.urlencode(fields).encode("ascii"), URLENCODED
    if enctype != MULTIPART:
        raise ValidationError(f"unsupported form enctype {enctype!r}", field="enctype")
    boundary = f"----aicmoFormBoundary{secrets.token_hex(12)}"
    chunks: list[bytes] = []
    for name, value in fields:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote_multipart(name)}"'
            f"\r\n\r\n".encode()
            + value.encode()
            + b"\r\n"
        )
    for name, file_value in file_fields:
        filename, content = file_value[0], file_value[1]
        content_type = file_value[2] if len(file_value) == 3 else "application/octet-stream"
        content_type = re.sub(r"[\r\n]", "", content_type)  # no header injection in the part
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote_multipart(name)}"; '
            f'filename="{_quote_multipart(filename)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"{MULTIPART}; boundary={boundary}"


# --- responses --------------------------------------------------------------------------------

_CHARSET: Final = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class SafeResponse:
    """A fully read response. ``url`` is the final URL with the host name (not the IP)."""

    status_code: int
    url: str
    headers: httpx.Headers
    content: bytes
    redirects: list[str] = field(default_factory=list)  # URLs that answered with a redirect
    address: str = ""  # the IP address the final response came from

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def encoding(self) -> str:
        match = _CHARSET.search(self.headers.get("content-type", ""))
        if match:
            try:
                return codecs.lookup(match.group(1)).name
            except LookupError:
                pass
        return "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with the declared charset (else UTF-8), bad bytes replaced."""
        return self.content.decode(self.encoding, errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.text)


# --- the client -------------------------------------------------------------------------------


class SafeHttpClient(ClosesOnExit):
    """An HTTP session to untrusted websites that refuses every non-public destination.

    ``resolver`` and ``transport`` are injectable so tests never dial anything: a
    ``httpx.MockTransport`` records what would have been sent. ``timeout`` is the read
    timeout (connect: at most 5 s); ``deadline`` bounds one hop from connect to last byte.
    """

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        resolver: Resolver | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str | None = None,
        max_bytes: int = 2_000_000,
        max_redirects: int = 5,
        timeout: float = 10.0,
        deadline: float = 20.0,
        respect_robots: bool = True,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.user_agent = user_agent or DEFAULT_USER_AGENT
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.deadline = deadline
        self.respect_robots = respect_robots
        self._resolver: Resolver = resolver or default_resolver
        self._transport = transport
        self._timeout = httpx.Timeout(timeout, connect=min(5.0, timeout), pool=min(5.0, timeout))
        self._client: httpx.Client | None = None
        self._cookies = CookieStore()
        self._robots: dict[tuple[str, str, int], urllib.robotparser.RobotFileParser | bool] = {}

    # -- session -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the transport (and the injected one, as httpx does)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def cookies(self, host: str) -> dict[str, str]:
        """The cookies this session would send to ``host`` (name → value), for inspection."""
        return self._cookies.as_dict(host)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                transport=self._transport,
                follow_redirects=False,
                timeout=self._timeout,
                trust_env=False,  # no proxies or .netrc from the environment
                cookies=cookie_free_jar(),
                headers={"User-Agent": self.user_agent},
            )
        return self._client

    # -- the guard ---------------------------------------------------------------------------

    def check_url(self, url: str | httpx.URL) -> list[IPAddress]:
        """Validate ``url`` and resolve its host; return the addresses a request would use.

        Raises :class:`UnsafeUrlError` when the URL or any address is refused (a reserved
        name is refused without resolving it), :class:`FetchError` when it does not resolve.
        Connects to nothing.
        """
        return self._checked_addresses(_parse_url(url))

    def _checked_addresses(self, target: _Target) -> list[IPAddress]:
        if target.ip is not None:
            reason = address_refusal(target.ip, allow_loopback=self.allow_loopback)
            if reason is not None:
                raise _unsafe(f"refused: {target.ip} is {reason}")
            return [target.ip]
        if is_reserved_name(target.host) and not (
            self.allow_loopback and target.host == "localhost"
        ):
            raise _unsafe(f"refused: {target.host} is a reserved name (RFC 2606/6761)")
        answers = self._resolver(target.host, target.port)
        if not answers:
            raise FetchError(f"could not resolve {target.host}: no addresses")
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                ip = ipaddress.ip_address(answer)
            except ValueError as exc:
                raise _unsafe(f"refused: {target.host} resolved to {answer!r}") from exc
            reason = address_refusal(ip, allow_loopback=self.allow_loopback)
            if reason is not None:
                raise _unsafe(f"refused: {target.host} resolves to {ip}, {reason}")
            if ip not in addresses:
                addresses.append(ip)
        return addresses

    # -- robots.txt --------------------------------------------------------------------------

    def robots_allows(self, url: str | httpx.URL) -> bool:
        """Whether the site's robots.txt lets aicmo fetch ``url`` (fetched once per origin).

        No robots.txt (a 4xx other than 429) allows everything; a server error, 429, a
        network failure or an oversized file disallows everything, to be safe.
        """
        target = _parse_url(url)
        self._checked_addresses(target)
        return self._robots_allow(target)

    def _robots_allow(self, target: _Target) -> bool:
        origin = target.origin
        if origin not in self._robots:
            self._robots[origin] = self._fetch_robots(target)
        rules = self._robots[origin]
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(ROBOTS_AGENT, str(target.url))

    def _fetch_robots(self, target: _Target) -> urllib.robotparser.RobotFileParser | bool:
        robots_url = target.url.copy_with(raw_path=b"/robots.txt", fragment=None)
        try:
            response = self._request(
                "GET",
                robots_url,
                headers=None,
                content=None,
                content_type=None,
                check_robots=False,
                max_bytes=min(self.max_bytes, _ROBOTS_MAX_BYTES),
            )
        except (FetchError, ResponseTooLargeError, TooManyRedirectsError):
            return False
        status = response.status_code
        if 200 <= status < 300:
            parser = urllib.robotparser.RobotFileParser(str(robots_url))
            parser.parse(response.content.decode("utf-8", errors="replace").splitlines())
            return parser
        return 400 <= status < 500 and status != 429

    # -- requests ----------------------------------------------------------------------------

    def get(
        self, url: str | httpx.URL, *, headers: Mapping[str, str] | None = None
    ) -> SafeResponse:
        """GET ``url`` through the guard, following redirects (each one checked again)."""
        return self.request("GET", url, headers=headers)

    def post(
        self,
        url: str | httpx.URL,
        *,
        data: FormData | None = None,
        files: FormFiles | None = None,
        headers: Mapping[str, str] | None = None,
        enctype: str | None = None,
    ) -> SafeResponse:
        """Submit a form: urlencoded, or multipart when ``files`` are given or ``enctype``
        says ``multipart/form-data`` (pass the form's own enctype to match the browser)."""
        return self.request("POST", url, data=data, files=files, headers=headers, enctype=enctype)

    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        data: FormData | None = None,
        files: FormFiles | None = None,
        headers: Mapping[str, str] | None = None,
        enctype: str | None = None,
    ) -> SafeResponse:
        """Send one request through the guard and return the final, fully read response.

        Raises :class:`UnsafeUrlError` (nothing sent to that destination),
        :class:`RobotsDisallowedError`, :class:`FetchError`, :class:`ResponseTooLargeError`
        or :class:`TooManyRedirectsError`.
        """
        content, content_type = _encode_body(data, files, enctype)
        return self._request(
            method.upper(),
            url,
            headers=headers,
            content=content,
            content_type=content_type,
            check_robots=self.respect_robots,
            max_bytes=self.max_bytes,
        )

    def post_bytes(
        self,
        url: str | httpx.URL,
        content: bytes,
        *,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> SafeResponse:
        """POST a body as is, to one checked address, following no redirect.

        For webhooks out: the URL is resolved and every answer checked right before the
        request (as for every hop of :meth:`request`); a 3xx is returned as the answer, not
        followed, so a receiver cannot bounce the delivery to another host. robots.txt
        does not apply (the operator registered the URL to receive these posts).
        """
        target = _parse_url(url)
        addresses = self._checked_addresses(target)
        status, response_headers, body, address = self._send_hop(
            "POST",
            target,
            addresses,
            httpx.Headers(headers or {}),
            content,
            content_type,
            self.max_bytes if max_bytes is None else max_bytes,
        )
        return SafeResponse(
            status_code=status,
            url=str(target.url),
            headers=response_headers,
            content=body,
            address=address,
        )

    def _request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        content_type: str | None,
        check_robots: bool,
        max_bytes: int,
    ) -> SafeResponse:
        target = _parse_url(url)
        extra = httpx.Headers(headers or {})
        chain: list[str] = []
        for hop in range(self.max_redirects + 1):
            addresses = self._checked_addresses(target)  # before anything is sent there
            if check_robots and not self._robots_allow(target):
                raise RobotsDisallowedError(f"robots.txt of {target.host} disallows {target.url}")
            try:
                status, response_headers, body, address = self._send_hop(
                    method, target, addresses, extra, content, content_type, max_bytes
                )
            except FetchError as err:
                if hop > 0 and not err.sent:  # the first request already went through
                    raise FetchError(err.message, sent=True) from err
                raise
            location = response_headers.get("location")
            if status not in _REDIRECT_STATUSES or location is None:
                return SafeResponse(
                    status_code=status,
                    url=str(target.url),
                    headers=response_headers,
                    content=body,
                    redirects=chain,
                    address=address,
                )
            if hop == self.max_redirects:
                break
            chain.append(str(target.url))
            next_target = _parse_url(location.strip(), base=target.url)
            if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                method, content, content_type = "GET", None, None
                for name in ("content-type", "content-length", "transfer-encoding"):
                    extra.pop(name, None)
            if next_target.origin != target.origin:
                for name in ("authorization", "cookie", "proxy-authorization"):
                    extra.pop(name, None)
            target = next_target
        raise TooManyRedirectsError(
            f"more than {self.max_redirects} redirects, starting at {chain[0] if chain else url}"
        )

    def _send_hop(
        self,
        method: str,
        target: _Target,
        addresses: list[IPAddress],
        extra: httpx.Headers,
        content: bytes | None,
        content_type: str | None,
        max_bytes: int,
    ) -> tuple[int, httpx.Headers, bytes, str]:
        """Send to the first checked address that accepts a connection; read the body."""
        headers = httpx.Headers(extra)
        headers["Host"] = target.host_header
        # The pool is keyed by IP: a kept-alive TLS connection verified for one name must never
        # carry a request for another name served from the same address. One request, one
        # connection (contact forms need a handful per site).
        headers["Connection"] = "close"
        if content_type is not None:
            headers["Content-Type"] = content_type
        jar_cookies = self._cookies.header_for(target)
        if jar_cookies:
            own = headers.get("cookie")
            headers["Cookie"] = f"{own}; {jar_cookies}" if own else jar_cookies
        extensions: dict[str, Any] = {}
        if target.url.scheme == "https" and target.ip is None:
            extensions["sni_hostname"] = target.host  # TLS verifies the name, not the IP
        client = self._http()
        last_error: httpx.TransportError | None = None
        for ip in addresses:
            request = client.build_request(
                method,
                target.url.copy_with(host=str(ip)),
                headers=headers,
                content=content,
                extensions=extensions,
            )
            started = time.monotonic()
            try:
                response = client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last_error = exc  # nothing was sent; try the next checked address
                continue
            except httpx.TimeoutException as exc:
                raise FetchError(
                    f"{target.host} timed out ({type(exc).__name__})", sent=True
                ) from exc
            except httpx.TransportError as exc:
                raise FetchError(
                    f"{target.host} failed: {type(exc).__name__}: {exc}", sent=True
                ) from exc
            try:
                self._cookies.store(target, response.headers.get_list("set-cookie"))
                is_redirect = response.status_code in _REDIRECT_STATUSES
                if (is_redirect and "location" in response.headers) or method == "HEAD":
                    body = b""
                else:
                    body = self._read_body(response, target, max_bytes, started)
            finally:
                response.close()
            return response.status_code, httpx.Headers(response.headers), body, str(ip)
        raise FetchError(f"could not connect to {target.host}: {last_error}") from last_error

    def _read_body(
        self, response: httpx.Response, target: _Target, max_bytes: int, started: float
    ) -> bytes:
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > max_bytes:
            raise ResponseTooLargeError(
                f"{target.url} declares {declared} bytes, more than the {max_bytes}-byte cap"
            )
        received = bytearray()
        try:
            for chunk in _chunks(response):
                received += chunk
                if len(received) > max_bytes:
                    raise ResponseTooLargeError(
                        f"{target.url} sent more than the {max_bytes}-byte cap"
                    )
                if time.monotonic() - started > self.deadline:
                    raise FetchError(
                        f"{target.host} took longer than {self.deadline:g} s", sent=True
                    )
        except httpx.TimeoutException as exc:
            raise FetchError(f"{target.host} timed out ({type(exc).__name__})", sent=True) from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise FetchError(
                f"{target.host} failed: {type(exc).__name__}: {exc}", sent=True
            ) from exc
        return bytes(received)


def _chunks(response: httpx.Response) -> Iterator[bytes]:
    """The decoded body (gzip etc. undone, so the cap also bounds decompression bombs)."""
    yield from response.iter_bytes()
