"""Finding the contact page from a home page's links, then from common paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicmo.cam.forms import COMMON_CONTACT_PATHS, candidate_urls, find_contact_links

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "forms"
HOME = (FIXTURES / "home.html").read_text(encoding="utf-8")
BASE = "https://tidewater-architects.example/"


def test_home_page_contact_link_ranks_first_and_is_deduplicated() -> None:
    links = find_contact_links(HOME, BASE)

    assert [link.url for link in links] == [
        "https://tidewater-architects.example/contact-us/",
        "https://tidewater-architects.example/impressum",
    ]
    best = links[0]
    assert best.text == "Contact us"
    assert "link text 'contact us'" in best.reason
    assert "in navigation" in best.reason
    assert best.score > links[1].score
    assert "legal notice" in links[1].reason


def test_noise_links_are_dropped() -> None:
    urls = {link.url for link in find_contact_links(HOME, BASE)}

    assert not any("partner-engineering" in url or "facebook" in url for url in urls)
    assert not any(url.startswith(("mailto:", "tel:", "javascript:")) for url in urls)
    assert not any(url.endswith(".pdf") or "#" in url for url in urls)


def test_candidate_urls_put_links_first_then_common_paths_on_the_same_origin() -> None:
    urls = candidate_urls(HOME, BASE, limit=6)

    assert urls[:3] == [
        "https://tidewater-architects.example/contact-us/",
        "https://tidewater-architects.example/impressum",
        "https://tidewater-architects.example/contact",
    ]
    assert len(urls) == 6
    assert "https://tidewater-architects.example/contact-us" not in urls  # slash twin
    assert all(url.startswith(BASE) for url in urls)


def test_candidate_urls_without_links_are_the_common_paths() -> None:
    urls = candidate_urls("<html><body>Hello</body></html>", "https://x.example/home?a=1")

    assert urls[0] == "https://x.example/contact"
    assert "https://x.example/contact/" not in urls
    assert len(urls) == 8
    assert "/contact" in COMMON_CONTACT_PATHS and "/kontakt" in COMMON_CONTACT_PATHS


def test_candidate_urls_for_a_non_http_base_are_empty() -> None:
    assert candidate_urls("<a href='/contact'>Contact</a>", "file:///tmp/x.html") == []


@pytest.mark.parametrize(
    ("anchor", "path"),
    [
        ('<a href="/kontakt/">Kontakt</a>', "/kontakt/"),
        ('<a href="/es/contacto">Contáctenos</a>', "/es/contacto"),
        ('<a href="/contatti.html">Contatti</a>', "/contatti.html"),
        ('<a href="/nous-contacter">Nous contacter</a>', "/nous-contacter"),
        ('<a href="/start">Get in touch</a>', "/start"),
        ('<a href="/nl/neem-contact-op">Neem contact op</a>', "/nl/neem-contact-op"),
        ('<a href="/fale-conosco">Fale conosco</a>', "/fale-conosco"),
        ('<a href="/reach"><span class="icon"></span> Reach us</a>', "/reach"),
        (
            '<a href="/about/contact-form" aria-label="Write to us"><svg></svg></a>',
            "/about/contact-form",
        ),
    ],
)
def test_multilingual_contact_links(anchor: str, path: str) -> None:
    links = find_contact_links(f"<nav>{anchor}<a href='/blog'>Blog</a></nav>", "https://x.example/")

    assert [link.url for link in links] == [f"https://x.example{path}"]


def test_same_site_includes_www_and_subdomains_only() -> None:
    html = """<a href="https://www.x.example/contact">Contact</a>
      <a href="https://shop.x.example/kontakt">Kontakt</a>
      <a href="https://x.example.evil.example/contact">Contact</a>
      <a href="http://other.example/contact">Contact</a>"""
    urls = [link.url for link in find_contact_links(html, "https://x.example/")]

    assert urls == ["https://www.x.example/contact", "https://shop.x.example/kontakt"]


def test_links_resolve_against_base_href_and_skip_the_page_itself() -> None:
    html = """<base href="https://x.example/en/"><a href="contact">Contact</a>
      <a href="https://x.example/en/contact#form">Contact form</a>"""
    links = find_contact_links(html, "https://x.example/en/contact")
    assert links == []

    links = find_contact_links(html, "https://x.example/en/")
    assert [link.url for link in links] == ["https://x.example/en/contact"]


def test_links_in_the_pages_language_rank_first() -> None:
    html = '<a href="/en/contact/">Contact</a><a href="/de/kontakt/">Kontakt</a>'
    links = find_contact_links(html, "https://x.example/de/")

    assert links[0].url == "https://x.example/de/kontakt/"


def test_malformed_markup_and_odd_hrefs_do_not_raise() -> None:
    html = '<a href="http://[::1">Contact</a><a href=" /contact ">Contact</a><a>Contact</a><a'
    links = find_contact_links(html, "https://x.example/")

    assert [link.url for link in links] == ["https://x.example/contact"]
