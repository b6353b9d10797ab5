"""The portal's pages: language (Danish by default, English under /en/), content, assets.

The tests read the compiled catalogues (locale/*/LC_MESSAGES/django.mo): `make test` compiles them
first; by hand, run `manage.py compilemessages` before pytest.
"""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

DASH = "\u2013"  # the en dash of the titles
STANDARD_WORDING_DA = "Pengene vil blive udbetalt til din NemKonto."
STANDARD_WORDING_EN = "The money will be paid to your NemKonto."


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_front_page_is_danish_by_default(client):
    html = page(client, "/")
    assert '<html lang="da">' in html
    assert f"NemKonto {DASH} din konto til udbetalinger fra det offentlige" in html
    assert "Hvem er du?" in html
    for card in ("Borger", "Virksomhed", "Myndighed/sagsbehandler"):
        assert card in html
    assert "Kommer snart" not in html
    assert "Gå til sidens indhold" in html  # the skip link


def test_front_page_links_every_kind_of_user_to_the_login_and_to_the_about_page(client):
    html = page(client, "/")
    assert html.count(f'href="{reverse("portal:login-mitid")}"') == 1  # citizens
    assert html.count(f'href="{reverse("portal:login-mitid-erhverv")}"') == 2  # business, staff
    assert 'href="/om-nemkonto/"' in html


def test_front_page_is_english_under_en(client):
    html = page(client, "/en/")
    assert '<html lang="en">' in html
    assert f"NemKonto {DASH} your account for payments from the public sector" in html
    assert "Authority/caseworker" in html
    assert "din konto til udbetalinger" not in html
    # The English pages link to the English about page.
    assert 'href="/en/om-nemkonto/"' in html


def language_forms(html: str) -> dict[str, dict[str, str]]:
    """The language switcher's forms on a page: language code -> action, next, button."""
    switcher = html[html.index('<div class="nk-language">') :]
    switcher = switcher[: switcher.index("</ul>")]
    forms = {}
    for action, body in re.findall(
        r'<form action="([^"]+)" method="post">(.*?)</form>', switcher, re.S
    ):
        assert 'name="csrfmiddlewaretoken"' in body
        code = re.search(r'name="language" value="([^"]+)"', body)
        next_path = re.search(r'name="next" value="([^"]+)"', body)
        button = re.search(r"<button[^>]*>.*?</button>", body, re.S)
        assert code
        assert next_path
        assert button
        forms[code.group(1)] = {
            "action": action,
            "next": next_path.group(1),
            "button": button.group(0),
        }
    return forms


def test_language_switcher_is_a_form_per_language_without_javascript(client):
    forms = language_forms(page(client, "/om-nemkonto/"))
    assert set(forms) == {"da", "en"}
    assert {form["action"] for form in forms.values()} == {reverse("set_language")}
    assert forms["da"]["next"] == "/om-nemkonto/"
    assert forms["en"]["next"] == "/en/om-nemkonto/"
    assert 'aria-current="true"' in forms["da"]["button"]
    assert "Dansk</button>" in forms["da"]["button"]
    assert 'aria-current="true"' not in forms["en"]["button"]
    assert "English</button>" in forms["en"]["button"]


def test_switching_to_english_shows_english_and_sets_the_cookie(client):
    form = language_forms(page(client, "/"))["en"]
    response = client.post(form["action"], {"language": "en", "next": form["next"]})
    assert response.status_code == 302
    assert response["Location"] == "/en/"
    assert response.cookies["django_language"].value == "en"
    html = page(client, response["Location"])
    assert '<html lang="en">' in html
    assert "Who are you?" in html
    # With i18n_patterns(prefix_default_language=False) the unprefixed URLs are always Danish,
    # whatever the cookie says: the language is in the URL.
    assert '<html lang="da">' in page(client, "/")


def test_switching_back_to_danish_leaves_the_en_prefix(client):
    form = language_forms(page(client, "/en/om-nemkonto/?q=1"))["da"]
    assert form["next"] == "/om-nemkonto/?q=1"
    response = client.post(form["action"], {"language": "da", "next": form["next"]})
    assert response.status_code == 302
    assert response["Location"] == "/om-nemkonto/?q=1"
    assert response.cookies["django_language"].value == "da"
    assert "<h1>Om NemKonto</h1>" in page(client, response["Location"])


def test_about_page_has_the_standard_wording_cut_off_and_duty(client):
    assert reverse("portal:about") == "/om-nemkonto/"
    html = page(client, "/om-nemkonto/")
    assert '<html lang="da">' in html
    assert f"<title>Om NemKonto {DASH} NemKonto</title>" in html
    assert STANDARD_WORDING_DA in html
    assert "før kl. 06.00 på en bankdag" in html
    assert "den følgende bankdag" in html
    assert "Hold din NemKonto opdateret" in html
    assert 'aria-current="page"' in html  # breadcrumbs


def test_about_page_informs_businesses_and_authorities_with_every_return_code(client):
    html = page(client, "/om-nemkonto/")
    assert "For virksomheder" in html
    assert "For offentlige myndigheder" in html
    assert "Supporttider" in html
    for code in (0, 1, 2, 7, 8, 9):
        assert f"<tr><td>{code}</td>" in html
    assert "Afvist: modtager-ID&#x27;et findes ikke i CPR- eller CVR-registret." in html


def test_about_page_in_english(client):
    html = page(client, "/en/om-nemkonto/")
    assert '<html lang="en">' in html
    assert STANDARD_WORDING_EN in html
    assert "before 06:00 on a bank day" in html


def test_footer_points_to_our_own_information_page(client):
    html = page(client, "/")
    footer = html[html.index("<footer>") :]
    assert STANDARD_WORDING_DA in footer
    assert 'Du kan læse mere på <a href="/om-nemkonto/">Om NemKonto</a>.' in footer
    assert "Tilgængelighed" in footer
    assert "Kontakt" in footer


def test_admin_login_has_the_danish_operations_title(client):
    html = page(client, reverse("admin:login"))
    assert '<html lang="da"' in html
    assert f"NemKonto {DASH} drift" in html
    assert "Django" not in html.split("<body", 1)[1].split("</header>", 1)[0]


def test_admin_login_in_english(client):
    html = page(client, "/en/admin/login/")
    assert "NemKonto operations" in html


def test_pages_load_dkfds_and_the_files_exist(client):
    html = page(client, "/")
    assert '<link rel="stylesheet" href="/static/dkfds/css/dkfds.min.css">' in html
    assert '<script defer src="/static/dkfds/js/dkfds.min.js"></script>' in html
    assert '<script defer src="/static/nemkonto/js/nemkonto.js"></script>' in html
    for name in (
        "dkfds/css/dkfds.min.css",
        "dkfds/js/dkfds.min.js",
        "dkfds/img/all-svg-icons.svg",
        "nemkonto/css/nemkonto.css",
        "nemkonto/js/nemkonto.js",
    ):
        assert finders.find(name), f"{name} is missing: run scripts/build_assets.sh"


def test_every_url_in_the_dkfds_stylesheet_resolves():
    found = finders.find("dkfds/css/dkfds.min.css")
    assert found, "run scripts/build_assets.sh"
    css = Path(found)
    refs = set(re.findall(r"url\(([\"']?)([^)\"']+)\1\)", css.read_text()))
    relative = {ref for _, ref in refs if not ref.startswith(("data:", "http", "/", "#"))}
    assert relative, "expected font and icon references"
    missing = [ref for ref in relative if not (css.parent / ref.split("#")[0]).is_file()]
    assert not missing


def test_header_shows_the_signed_in_user_with_a_log_out_form(rf):
    # A stand-in user, so that this test does not depend on the accounts app's user rules.
    user = SimpleNamespace(
        is_authenticated=True,
        is_anonymous=False,
        get_full_name=lambda: "Sara Sagsbehandler",
        get_username=lambda: "sara",
    )
    request = rf.get("/")
    request.user = user
    html = render_to_string("portal/home.html", {"user": user}, request=request)
    header = html[: html.index("</header>")]
    assert "Sara Sagsbehandler" in header
    assert f'<form class="nk-logout" action="{reverse("portal:logout")}" method="post">' in header
    assert "Log af</button>" in header


def test_login_page_offers_mitid_and_mitid_erhverv(client):
    html = page(client, reverse("portal:login"))
    assert "Log ind på NemKonto" in html
    assert f'href="{reverse("portal:login-mitid")}">Log ind med MitID</a>' in html
    assert f'href="{reverse("portal:login-mitid-erhverv")}">Log ind med MitID Erhverv</a>' in html
    assert f'href="{reverse("admin:index")}"' in html  # operators keep the admin's log-in
    assert "_auth_user_id" not in client.session
