"""The SSRF-guarded HTTP client, with an injected resolver and an injected connector.

Nothing here dials anything: names are resolved by :class:`FakeResolver` and requests are
answered by :class:`Recorder` (an ``httpx.MockTransport``). Every refusal asserts that the
connector saw no request (and, where the name must not even be looked up, that the resolver
was not called). PUBLIC is a real public address so the guard lets it through; that is safe
only because the MockTransport never opens a socket.
"""

from __future__ import annotations

import email.parser
import email.policy
import gzip
import ipaddress
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicmo.errors import PermanentChannelError, TransientChannelError, ValidationError
from aicmo.transports.netguard import address_refusal, is_reserved_name
from aicmo.transports.safe_http import (
    DEFAULT_USER_AGENT,
    FetchError,
    ResponseTooLargeError,
    RobotsDisallowedError,
    SafeHttpClient,
    SafeResponse,
    TooManyRedirectsError,
    UnsafeUrlError,
    check_address,
    default_resolver,
    parse_ipv4_number_host,
)

PUBLIC = "93.184.215.14"  # public, so allowed; never dialled (MockTransport only)
PUBLIC_2 = "93.184.215.15"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
SITE = "www.lead-site.net"
OTHER = "shop.other-lead.org"
EVIL = "rebind.attacker.net"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeResolver:
    """Answers from a table; a list of answers per name is served one call at a time."""

    def __init__(self, table: dict[str, list[list[str]]] | None = None) -> None:
        self.table = table or {SITE: [[PUBLIC]], OTHER: [[PUBLIC]]}
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        answers = self.table.get(host)
        if not answers:
            raise FetchError(f"could not resolve {host}")
        return answers.pop(0) if len(answers) > 1 else answers[0]


class Recorder:
    """The injected connector: records every request and answers from ``routes``.

    Routes are keyed by ``"host path"`` (the Host header and the path), so a test states
    what each site serves; anything else is a 404.
    """

    def __init__(self, routes: dict[str, httpx.Response | Handler] | None = None) -> None:
        self.routes = routes or {}
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        host = request.headers["host"]
        route = self.routes.get(f"{host} {request.url.path}")
        if route is None:
            return httpx.Response(404, text="not found")
        return route(request) if callable(route) else route

    @property
    def hosts(self) -> list[str]:
        return [request.headers["host"] for request in self.requests]


def make_client(
    recorder: Recorder, resolver: FakeResolver | None = None, **kwargs: Any
) -> SafeHttpClient:
    kwargs.setdefault("respect_robots", False)
    return SafeHttpClient(
        resolver=resolver or FakeResolver(), transport=recorder.transport, **kwargs
    )


def redirect(location: str, status: int = 302) -> httpx.Response:
    return httpx.Response(status, headers={"Location": location})


def assert_nothing_dialled(recorder: Recorder) -> None:
    assert recorder.requests == []


# --- refusals before any connection -----------------------------------------------------------

REFUSED_LITERALS = [
    ("http://127.0.0.1/", "loopback"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://100.64.0.1/", "CGNAT"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::1]/", "loopback"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fc00::1]/", "unique local"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("http://[64:ff9b::a00:1]/", "NAT64 form of 10.0.0.1"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://2130706433/", "127.0.0.1 is a loopback"),
    ("http://0177.0.0.1/", "denotes 127.0.0.1"),
    ("http://0x7f000001/", "127.0.0.1 is a loopback"),
    ("http://127.1/", "127.0.0.1 is a loopback"),
    ("http://0x7f.1/", "127.0.0.1 is a loopback"),
    ("http://0xa9.0xfe.0xa9.0xfe/", "cloud metadata"),
    ("http://2852039166/", "cloud metadata"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED_LITERALS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_non_public_addresses_are_refused_before_any_connection(
    url: str, why: str, method: str
) -> None:
    recorder, resolver = Recorder(), FakeResolver()
    with make_client(recorder, resolver) as client, pytest.raises(UnsafeUrlError) as err:
        client.request(method, url, data={"message": "hi"})
    assert why in str(err.value)
    assert str(err.value).startswith("refused:")
    assert_nothing_dialled(recorder)
    assert resolver.calls == []  # IP spellings are checked as IPs, never looked up as names


@pytest.mark.parametrize(
    "url",
    [
        "http://[fe80::1]/",
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fc00::1]/",
    ],
)
def test_allow_loopback_keeps_private_and_link_local_refused(url: str) -> None:
    recorder = Recorder()
    with make_client(recorder, allow_loopback=True) as client, pytest.raises(UnsafeUrlError):
        client.get(url)
    assert_nothing_dialled(recorder)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/", "http://[::1]:8000/", "http://2130706433:8000/"]
)
def test_allow_loopback_lets_loopback_through(url: str) -> None:
    recorder = Recorder(
        {
            "127.0.0.1:8000 /": httpx.Response(200, text="local v4"),
            "[::1]:8000 /": httpx.Response(200, text="local v6"),
        }
    )
    with make_client(recorder, allow_loopback=True) as client:
        response = client.get(url)
    [request] = recorder.requests
    expected = "::1" if "::1" in url else "127.0.0.1"
    assert request.url.host == expected
    assert response.text == ("local v6" if expected == "::1" else "local v4")


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    recorder = Recorder()
    resolver = FakeResolver({"intranet.lead-site.net": [["10.0.0.5"]]})
    with make_client(recorder, resolver) as client, pytest.raises(UnsafeUrlError) as err:
        client.get("https://intranet.lead-site.net/")
    assert "intranet.lead-site.net resolves to 10.0.0.5, a private address" in str(err.value)
    assert resolver.calls == [("intranet.lead-site.net", 443)]
    assert_nothing_dialled(recorder)


@pytest.mark.parametrize(
    "answers",
    [[PUBLIC, "10.0.0.5"], ["192.168.0.1", PUBLIC], [PUBLIC_V6, "::1"], [PUBLIC, "not-an-ip"]],
)
def test_any_bad_address_among_the_answers_refuses(answers: list[str]) -> None:
    recorder = Recorder({f"{SITE} /": httpx.Response(200)})
    resolver = FakeResolver({SITE: [answers]})
    with make_client(recorder, resolver) as client, pytest.raises(UnsafeUrlError):
        client.get(f"http://{SITE}/")
    assert_nothing_dialled(recorder)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pw@www.lead-site.net/",
        "http://user@www.lead-site.net/",
        "file:///etc/passwd",
        "ftp://www.lead-site.net/",
        "gopher://www.lead-site.net:70/_GET",
        "javascript:alert(1)",
        "http:///no-host",
        "http://bad_host name.net/",
        "http://1.2.3.4.5/",
        "http://www.lead-site.123/",
        "http://[fe80::1%25eth0]/",
        "http://www.lead-site.net:0/",
        "http://www.lead-site.net:70000/",
        "not a url at all",
    ],
)
def test_malformed_or_non_http_urls_are_refused_without_resolving(url: str) -> None:
    recorder, resolver = Recorder(), FakeResolver()
    with make_client(recorder, resolver) as client, pytest.raises(UnsafeUrlError):
        client.get(url)
    assert resolver.calls == []
    assert_nothing_dialled(recorder)


@pytest.mark.parametrize(
    "host",
    [
        "foo.example",
        "example",
        "x.test",
        "y.invalid",
        "localhost",
        "LOCALHOST.",
        "app.localhost",
        "example.com",
        "www.example.org",
    ],
)
def test_reserved_names_are_never_resolved(host: str) -> None:
    recorder = Recorder()
    resolver = FakeResolver({host.lower().rstrip("."): [[PUBLIC]]})
    with make_client(recorder, resolver) as client, pytest.raises(UnsafeUrlError) as err:
        client.get(f"http://{host}/contact")
    assert "reserved name" in str(err.value)
    assert resolver.calls == []
    assert_nothing_dialled(recorder)


def test_allow_loopback_resolves_localhost_but_no_other_reserved_name() -> None:
    recorder = Recorder({"localhost:8000 /": httpx.Response(200, text="ok")})
    resolver = FakeResolver({"localhost": [["127.0.0.1"]], "app.localhost": [["127.0.0.1"]]})
    with make_client(recorder, resolver, allow_loopback=True) as client:
        assert client.get("http://localhost:8000/").text == "ok"
        with pytest.raises(UnsafeUrlError):
            client.get("http://app.localhost:8000/")
    assert resolver.calls == [("localhost", 8000)]
    assert [str(r.url) for r in recorder.requests] == ["http://127.0.0.1:8000/"]


def test_localhost_resolving_to_a_private_address_is_refused_even_with_loopback() -> None:
    recorder = Recorder()
    resolver = FakeResolver({"localhost": [["10.0.0.1"]]})
    with (
        make_client(recorder, resolver, allow_loopback=True) as client,
        pytest.raises(UnsafeUrlError),
    ):
        client.get("http://localhost/")
    assert_nothing_dialled(recorder)


# --- redirects are checked again --------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("http://127.0.0.1/admin", "loopback"),
        ("http://169.254.169.254/latest/meta-data/iam/", "cloud metadata"),
        ("http://[::1]:8080/", "loopback"),
        ("http://intranet.lead-site.net/", "resolves to 192.168.0.10"),
        ("http://2130706433/", "loopback"),
        ("//0x7f.1/", "loopback"),
        ("https://foo.test/", "reserved name"),
        ("file:///etc/passwd", "not an http(s) URL"),
    ],
)
def test_a_redirect_to_a_refused_destination_stops_before_the_second_request(
    location: str, why: str
) -> None:
    recorder = Recorder({f"{SITE} /contact": redirect(location)})
    resolver = FakeResolver({SITE: [[PUBLIC]], "intranet.lead-site.net": [["192.168.0.10"]]})
    with make_client(recorder, resolver) as client, pytest.raises(UnsafeUrlError) as err:
        client.get(f"http://{SITE}/contact")
    assert why in str(err.value)
    assert len(recorder.requests) == 1
    assert recorder.hosts == [SITE]


def test_redirects_are_followed_and_recorded() -> None:
    recorder = Recorder(
        {
            f"{SITE} /old": redirect("/new?x=1", 301),
            f"{SITE} /new": redirect(f"https://{OTHER}/contact", 308),
            f"{OTHER} /contact": httpx.Response(200, text="form"),
        }
    )
    with make_client(recorder) as client:
        response = client.get(f"http://{SITE}/old")
    assert response.status_code == 200
    assert response.text == "form"
    assert response.url == f"https://{OTHER}/contact"
    assert response.redirects == [f"http://{SITE}/old", f"http://{SITE}/new?x=1"]
    assert recorder.hosts == [SITE, SITE, OTHER]


def test_too_many_redirects() -> None:
    recorder = Recorder({f"{SITE} /loop": redirect("/loop")})
    with make_client(recorder, max_redirects=3) as client, pytest.raises(TooManyRedirectsError):
        client.get(f"http://{SITE}/loop")
    assert len(recorder.requests) == 4  # the first request and three redirects


def test_a_redirect_without_location_is_returned_as_is() -> None:
    recorder = Recorder({f"{SITE} /": httpx.Response(302)})
    with make_client(recorder) as client:
        response = client.get(f"http://{SITE}/")
    assert response.status_code == 302
    assert response.redirects == []


@pytest.mark.parametrize("status", [301, 302, 303])
def test_post_redirected_by_301_302_303_becomes_a_get_without_body(status: int) -> None:
    recorder = Recorder(
        {
            f"{SITE} /submit": redirect("/thanks", status),
            f"{SITE} /thanks": httpx.Response(200, text="thanks"),
        }
    )
    with make_client(recorder) as client:
        response = client.post(f"http://{SITE}/submit", data={"name": "Ana"})
    assert response.text == "thanks"
    assert [r.method for r in recorder.requests] == ["POST", "GET"]
    assert recorder.bodies == [b"name=Ana", b""]
    assert "content-type" not in recorder.requests[1].headers


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_keep_the_method_and_body(status: int) -> None:
    recorder = Recorder(
        {
            f"{SITE} /submit": redirect("/submit2", status),
            f"{SITE} /submit2": httpx.Response(200, text="got it"),
        }
    )
    with make_client(recorder) as client:
        client.post(f"http://{SITE}/submit", data=[("name", "Ana"), ("msg", "a b&c")])
    assert [r.method for r in recorder.requests] == ["POST", "POST"]
    assert recorder.bodies == [b"name=Ana&msg=a+b%26c"] * 2
    assert recorder.requests[1].headers["content-type"] == "application/x-www-form-urlencoded"


def test_a_cross_origin_redirect_drops_credentials_headers() -> None:
    recorder = Recorder(
        {
            f"{SITE} /": redirect(f"http://{OTHER}/"),
            f"{OTHER} /": httpx.Response(200),
        }
    )
    with make_client(recorder) as client:
        client.get(f"http://{SITE}/", headers={"Authorization": "Bearer x", "X-Keep": "1"})
    assert recorder.requests[0].headers["authorization"] == "Bearer x"
    assert "authorization" not in recorder.requests[1].headers
    assert recorder.requests[1].headers["x-keep"] == "1"


# --- connecting to the checked address --------------------------------------------------------


def test_https_request_goes_to_the_checked_ip_with_host_header_and_sni() -> None:
    recorder = Recorder({f"{SITE}:8443 /contact": httpx.Response(200, text="hello")})
    with make_client(recorder) as client:
        response = client.get(f"https://{SITE}:8443/contact?ref=1#top")
    [request] = recorder.requests
    assert request.url.scheme == "https"
    assert request.url.host == PUBLIC
    assert request.url.port == 8443
    assert request.url.raw_path == b"/contact?ref=1"
    assert request.headers["host"] == f"{SITE}:8443"
    assert request.extensions["sni_hostname"] == SITE
    assert request.headers["user-agent"] == DEFAULT_USER_AGENT
    assert request.headers["connection"] == "close"  # no pooled connection crosses names
    assert response.url == f"https://{SITE}:8443/contact?ref=1"
    assert response.address == PUBLIC


def test_http_default_port_host_header_and_no_sni() -> None:
    recorder = Recorder({f"{SITE} /": httpx.Response(200)})
    with make_client(recorder) as client:
        client.get(f"http://{SITE.upper()}./")
    [request] = recorder.requests
    assert str(request.url) == f"http://{PUBLIC}/"
    assert request.headers["host"] == SITE
    assert "sni_hostname" not in request.extensions


def test_an_ipv6_answer_is_dialled_in_brackets() -> None:
    recorder = Recorder({f"{SITE} /": httpx.Response(200)})
    resolver = FakeResolver({SITE: [[PUBLIC_V6]]})
    with make_client(recorder, resolver) as client:
        client.get(f"https://{SITE}/")
    assert str(recorder.requests[0].url) == f"https://[{PUBLIC_V6}]/"


def test_dns_rebinding_cannot_swap_the_address_after_the_check() -> None:
    recorder = Recorder({f"{EVIL} /": httpx.Response(200, text="public")})
    resolver = FakeResolver({EVIL: [[PUBLIC], ["127.0.0.1"]]})
    with make_client(recorder, resolver) as client:
        response = client.get(f"http://{EVIL}/")
        assert response.text == "public"
        assert resolver.calls == [(EVIL, 80)]  # one resolution per hop
        assert [r.url.host for r in recorder.requests] == [PUBLIC]
        with pytest.raises(UnsafeUrlError):  # the next request resolves (and checks) again
            client.get(f"http://{EVIL}/")
    assert len(recorder.requests) == 1


def test_a_failed_connection_falls_back_to_the_next_checked_address() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == PUBLIC:
            raise httpx.ConnectError("unreachable", request=request)
        return httpx.Response(200, text="second")

    seen: list[str] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return handler(request)

    client = SafeHttpClient(
        resolver=FakeResolver({SITE: [[PUBLIC, PUBLIC_2]]}),
        transport=httpx.MockTransport(recording),
        respect_robots=False,
    )
    with client:
        assert client.get(f"http://{SITE}/").text == "second"
    assert seen == [PUBLIC, PUBLIC_2]


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.ReadError("reset")]
)
def test_network_errors_are_transient_fetch_errors(error: httpx.TransportError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    client = SafeHttpClient(
        resolver=FakeResolver(), transport=httpx.MockTransport(handler), respect_robots=False
    )
    with client, pytest.raises(FetchError) as err:
        client.get(f"http://{SITE}/")
    assert isinstance(err.value, TransientChannelError)


def test_an_unresolvable_name_is_a_fetch_error() -> None:
    recorder = Recorder()
    with make_client(recorder, FakeResolver({})) as client, pytest.raises(FetchError):
        client.get("http://nxdomain.lead-site.net/")
    assert_nothing_dialled(recorder)


def test_check_url_resolves_and_checks_without_connecting() -> None:
    recorder = Recorder()
    resolver = FakeResolver({SITE: [[PUBLIC, PUBLIC_V6]]})
    with make_client(recorder, resolver) as client:
        addresses = client.check_url(f"https://{SITE}/")
    assert addresses == [ipaddress.ip_address(PUBLIC), ipaddress.ip_address(PUBLIC_V6)]
    assert_nothing_dialled(recorder)


# --- size cap and deadline --------------------------------------------------------------------


def test_a_declared_oversized_body_is_refused() -> None:
    recorder = Recorder({f"{SITE} /": httpx.Response(200, content=b"x" * 1001)})
    with make_client(recorder, max_bytes=1000) as client, pytest.raises(ResponseTooLargeError):
        client.get(f"http://{SITE}/")
    assert len(recorder.requests) == 1


def test_a_streamed_oversized_body_is_cut_at_the_cap() -> None:
    produced: list[int] = []

    def chunks() -> Iterator[bytes]:
        for index in range(1000):
            produced.append(index)
            yield b"y" * 100

    recorder = Recorder({f"{SITE} /": lambda request: httpx.Response(200, content=chunks())})
    with make_client(recorder, max_bytes=1000) as client, pytest.raises(ResponseTooLargeError):
        client.get(f"http://{SITE}/")
    assert len(produced) < 20  # reading stopped soon after the cap


def test_a_compressed_body_is_capped_after_decompression() -> None:
    bomb = gzip.compress(b"0" * 50_000)
    assert len(bomb) < 1000
    recorder = Recorder(
        {f"{SITE} /": httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})}
    )
    with make_client(recorder, max_bytes=10_000) as client, pytest.raises(ResponseTooLargeError):
        client.get(f"http://{SITE}/")


def test_a_body_at_the_cap_is_read_whole() -> None:
    recorder = Recorder({f"{SITE} /": httpx.Response(200, content=b"z" * 1000)})
    with make_client(recorder, max_bytes=1000) as client:
        assert client.get(f"http://{SITE}/").content == b"z" * 1000


def test_a_slow_body_hits_the_deadline() -> None:
    def slow() -> Iterator[bytes]:
        for _ in range(50):
            time.sleep(0.02)
            yield b"."

    recorder = Recorder({f"{SITE} /": lambda request: httpx.Response(200, content=slow())})
    with make_client(recorder, deadline=0.1) as client, pytest.raises(FetchError) as err:
        client.get(f"http://{SITE}/")
    assert "longer than" in str(err.value)


# --- cookies ----------------------------------------------------------------------------------


def test_cookies_are_kept_per_host_name_not_per_ip() -> None:
    recorder = Recorder(
        {
            f"{SITE} /contact": httpx.Response(
                200,
                headers=[
                    ("Set-Cookie", "csrftoken=abc123; Path=/; SameSite=Lax"),
                    ("Set-Cookie", "scoped=1; Path=/contact"),
                ],
            ),
            f"{SITE} /contact/send": httpx.Response(200),
            f"{SITE} /other": httpx.Response(200),
            f"{OTHER} /contact": httpx.Response(200),  # same IP (PUBLIC), other site
        }
    )
    with make_client(recorder) as client:
        client.get(f"http://{SITE}/contact")
        client.post(f"http://{SITE}/contact/send", data={"csrfmiddlewaretoken": "abc123"})
        client.get(f"http://{SITE}/other")
        client.get(f"http://{OTHER}/contact")
        assert client.cookies(SITE) == {"csrftoken": "abc123", "scoped": "1"}
        assert client.cookies(OTHER) == {}
    cookies = [r.headers.get("cookie") for r in recorder.requests]
    assert cookies == [None, "scoped=1; csrftoken=abc123", "csrftoken=abc123", None]


def test_cookies_set_on_a_redirect_reach_the_next_hop_and_expire() -> None:
    recorder = Recorder(
        {
            f"{SITE} /login": httpx.Response(
                302, headers={"Location": "/home", "Set-Cookie": "session=s1; HttpOnly"}
            ),
            f"{SITE} /home": httpx.Response(200, headers={"Set-Cookie": "session=; Max-Age=0"}),
            f"{SITE} /after": httpx.Response(200),
        }
    )
    with make_client(recorder) as client:
        client.get(f"http://{SITE}/login")
        client.get(f"http://{SITE}/after")
    assert [r.headers.get("cookie") for r in recorder.requests] == [None, "session=s1", None]


def test_domain_cookies_reach_subdomains_but_not_other_sites() -> None:
    recorder = Recorder(
        {
            f"{SITE} /": httpx.Response(
                200,
                headers=[
                    ("Set-Cookie", "wide=1; Domain=.lead-site.net"),
                    ("Set-Cookie", "foreign=1; Domain=other-lead.org"),
                    ("Set-Cookie", "tld=1; Domain=net"),
                ],
            ),
        }
    )
    resolver = FakeResolver({SITE: [[PUBLIC]], "api.lead-site.net": [[PUBLIC]], OTHER: [[PUBLIC]]})
    with make_client(recorder, resolver) as client:
        client.get(f"http://{SITE}/")
        client.get("http://api.lead-site.net/")
        client.get(f"http://{OTHER}/")
    assert [r.headers.get("cookie") for r in recorder.requests] == [None, "wide=1", None]


def test_secure_cookies_are_sent_over_https_only() -> None:
    recorder = Recorder(
        {f"{SITE} /": httpx.Response(200, headers={"Set-Cookie": "s=1; Secure; Path=/"})}
    )
    with make_client(recorder) as client:
        client.get(f"https://{SITE}/")
        client.get(f"http://{SITE}/")
        client.get(f"https://{SITE}/")
    assert [r.headers.get("cookie") for r in recorder.requests] == [None, None, "s=1"]


# --- robots.txt -------------------------------------------------------------------------------

ROBOTS = "User-agent: *\nDisallow: /private\n\nUser-agent: aicmo\nDisallow: /no-aicmo\n"


def robots_site(robots: httpx.Response) -> Recorder:
    return Recorder(
        {
            f"{SITE} /robots.txt": robots,
            f"{SITE} /contact": httpx.Response(200, text="form"),
            f"{SITE} /no-aicmo": httpx.Response(200, text="secret"),
            f"{SITE} /jump": redirect("/no-aicmo"),
        }
    )


def test_robots_disallow_stops_the_fetch() -> None:
    recorder = robots_site(httpx.Response(200, text=ROBOTS))
    with make_client(recorder, respect_robots=True) as client:
        assert client.get(f"http://{SITE}/contact").text == "form"
        with pytest.raises(RobotsDisallowedError) as err:
            client.get(f"http://{SITE}/no-aicmo")
        with pytest.raises(RobotsDisallowedError):
            client.post(f"http://{SITE}/no-aicmo", data={"a": "b"})
        with pytest.raises(RobotsDisallowedError):
            client.get(f"http://{SITE}/jump")  # a redirect into a disallowed path
        assert client.robots_allows(f"http://{SITE}/contact")
        assert not client.robots_allows(f"http://{SITE}/no-aicmo?x=1")
    assert isinstance(err.value, PermanentChannelError)
    paths = [r.url.path for r in recorder.requests]
    assert paths == ["/robots.txt", "/contact", "/jump"]  # robots.txt fetched once


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (410, True), (403, True)])
def test_a_missing_robots_txt_allows_everything(status: int, allowed: bool) -> None:
    recorder = robots_site(httpx.Response(status))
    with make_client(recorder, respect_robots=True) as client:
        assert client.robots_allows(f"http://{SITE}/no-aicmo") is allowed
        assert client.get(f"http://{SITE}/no-aicmo").text == "secret"


@pytest.mark.parametrize("status", [500, 503, 429])
def test_an_unavailable_robots_txt_disallows_everything(status: int) -> None:
    recorder = robots_site(httpx.Response(status))
    with (
        make_client(recorder, respect_robots=True) as client,
        pytest.raises(RobotsDisallowedError),
    ):
        client.get(f"http://{SITE}/contact")
    assert [r.url.path for r in recorder.requests] == ["/robots.txt"]


def test_robots_txt_is_fetched_through_the_guard() -> None:
    recorder = robots_site(redirect("http://169.254.169.254/robots.txt"))
    with make_client(recorder, respect_robots=True) as client, pytest.raises(UnsafeUrlError):
        client.get(f"http://{SITE}/contact")
    assert [r.url.path for r in recorder.requests] == ["/robots.txt"]


def test_robots_are_not_fetched_for_a_refused_host() -> None:
    recorder, resolver = Recorder(), FakeResolver({SITE: [["10.0.0.1"]]})
    with (
        make_client(recorder, resolver, respect_robots=True) as client,
        pytest.raises(UnsafeUrlError),
    ):
        client.get(f"http://{SITE}/contact")
    assert_nothing_dialled(recorder)


def test_robots_rebinding_between_robots_and_page_is_caught() -> None:
    recorder = robots_site(httpx.Response(404))
    resolver = FakeResolver({SITE: [[PUBLIC], [PUBLIC], ["127.0.0.1"]]})
    with make_client(recorder, resolver, respect_robots=True) as client:
        client.get(f"http://{SITE}/contact")  # resolves for the page, then for robots.txt
        with pytest.raises(UnsafeUrlError):
            client.get(f"http://{SITE}/contact")
    assert [r.url.path for r in recorder.requests] == ["/robots.txt", "/contact"]


# --- bodies and responses ---------------------------------------------------------------------


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        fields[str(name)] = (part.get_filename(), payload)
    return fields


def test_files_are_posted_as_multipart() -> None:
    recorder = Recorder({f"{SITE} /upload": httpx.Response(200)})
    with make_client(recorder) as client:
        client.post(
            f"http://{SITE}/upload",
            data={"name": "Ana Müller"},
            files={"cv": ("cv.txt", b"line one\r\n", "text/plain")},
        )
    [request] = recorder.requests
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    fields = parse_multipart(content_type, recorder.bodies[0])
    assert fields == {
        "name": (None, "Ana Müller".encode()),
        "cv": ("cv.txt", b"line one\r\n"),
    }


def test_multipart_enctype_without_files_is_honoured() -> None:
    recorder = Recorder({f"{SITE} /f": httpx.Response(200)})
    with make_client(recorder) as client:
        client.post(f"http://{SITE}/f", data={"a": "1"}, enctype="multipart/form-data")
        with pytest.raises(ValidationError):
            client.post(
                f"http://{SITE}/f",
                files={"x": ("x", b"x")},
                enctype="application/x-www-form-urlencoded",
            )
        with pytest.raises(ValidationError):
            client.post(f"http://{SITE}/f", data={"a": "1"}, enctype="text/plain")
    assert len(recorder.requests) == 1
    fields = parse_multipart(recorder.requests[0].headers["content-type"], recorder.bodies[0])
    assert fields == {"a": (None, b"1")}


def test_response_text_and_json() -> None:
    latin = SafeResponse(
        200,
        "http://x/",
        httpx.Headers({"content-type": "text/html; charset=ISO-8859-1"}),
        "café".encode("latin-1"),
    )
    assert latin.text == "café"
    bad = SafeResponse(200, "http://x/", httpx.Headers({}), b"\xff{}")
    assert bad.text == "\ufffd{}"
    assert SafeResponse(200, "u", httpx.Headers({}), b'{"a": [1]}').json() == {"a": [1]}
    with pytest.raises(ValueError, match="Expecting value"):
        bad.json()


# --- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7F.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0", "0.0.0.0"),
        ("93.184.215.14", "93.184.215.14"),
        ("93.184.215.14.", "93.184.215.14"),
        ("www.lead-site.net", None),
        ("0x.lead-site.net", None),
    ],
)
def test_numeric_host_spellings(host: str, expected: str | None) -> None:
    parsed = parse_ipv4_number_host(host)
    assert (str(parsed) if parsed else None) == expected


@pytest.mark.parametrize("host", ["1.2.3.256", "4294967296", "0189.1", "a.1", "1.2.3.4.5"])
def test_numeric_hosts_that_are_not_addresses_are_refused(host: str) -> None:
    with pytest.raises(UnsafeUrlError):
        parse_ipv4_number_host(host)


@given(st.integers(min_value=0x7F000000, max_value=0x7FFFFFFF), st.sampled_from(["d", "x", "o"]))
def test_every_spelling_of_a_loopback_address_is_refused(number: int, form: str) -> None:
    host = {"d": str(number), "x": hex(number), "o": "0" + format(number, "o")}[form]
    ip = parse_ipv4_number_host(host)
    assert ip == ipaddress.IPv4Address(number)
    with pytest.raises(UnsafeUrlError):
        check_address(ip)


@pytest.mark.parametrize(
    "address",
    [
        "198.18.0.1",
        "192.0.2.1",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.0.8",
        "fec0::1",
        "2001:db8::1",
        "2001::1",
        "2002:7f00:1::1",
        "2002:a00:1::1",
        "100::1",
        "::",
        "::7f00:1",
        "64:ff9b:1::1",
        "fd00:ec2::254",
        "4000::1",
    ],
)
def test_other_non_public_ranges_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None
    assert address_refusal(ipaddress.ip_address(address), allow_loopback=True) is not None


@pytest.mark.parametrize(
    "address", [PUBLIC, PUBLIC_V6, "::ffff:93.184.215.14", "64:ff9b::5db8:d70e", "1.1.1.1"]
)
def test_public_addresses_pass(address: str) -> None:
    check_address(ipaddress.ip_address(address))


def test_loopback_passes_only_when_allowed() -> None:
    for address in ("127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"):
        ip = ipaddress.ip_address(address)
        assert address_refusal(ip) is not None
        check_address(ip, allow_loopback=True)


@pytest.mark.parametrize(
    ("host", "reserved"),
    [
        ("foo.example", True),
        ("example", True),
        ("a.b.test", True),
        ("x.invalid", True),
        ("localhost", True),
        ("Foo.LocalHost.", True),
        ("example.net", True),
        ("www.example.com", True),
        ("notexample.com", False),
        ("www.lead-site.net", False),
        ("127.0.0.1", False),
        ("::1", False),
    ],
)
def test_is_reserved_name(host: str, reserved: bool) -> None:
    assert is_reserved_name(host) is reserved


def test_default_resolver_reads_numeric_hosts_without_dns() -> None:
    assert default_resolver("127.0.0.1", 80) == ["127.0.0.1"]


def test_errors_sit_in_the_aicmo_tree() -> None:
    assert issubclass(UnsafeUrlError, ValidationError)
    assert issubclass(FetchError, TransientChannelError)
    assert issubclass(RobotsDisallowedError, PermanentChannelError)
