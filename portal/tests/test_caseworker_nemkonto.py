"""A caseworker registers a new NemKonto at the recipient's request: the form, a confirmation,
then the pending change and its activation letter to print or download; the citizen activates
it with the code from that letter."""

import io

import pytest
from pypdf import PdfReader

from portal.tests.caseworker_fixtures import *  # noqa: F403
from portal.tests.caseworker_fixtures import PDF_STUB, code_in, error_fields, look_up, url
from registry.models import ActivationLetter, NemKonto
from registry.services import activation_activate_own
from registry.wording import standard_wording

pytestmark = pytest.mark.django_db

DANISH = {"kind": "danish", "reg": "3000", "number": "1234567", "iban": "", "bic": ""}
CODE = "12345678"


@pytest.fixture
def fixed_code(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every activation code is CODE (with the stub letter, which carries none)."""
    monkeypatch.setattr("registry.services.activation.generate_code", lambda: CODE)
    return CODE


@pytest.fixture
def client_at_recipient(logged_in, nemkonto_caseworker, person):
    """The NemKonto caseworker's client, with ``person`` looked up."""
    client = logged_in(nemkonto_caseworker)
    look_up(client, person)
    return client


def test_the_form_is_confirmed_before_anything_is_written(client_at_recipient, person):
    response = client_at_recipient.post(url("nemkonto_change", person.pk, language="en"), DANISH)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Confirm the new NemKonto" in html
    assert "3000-0001234567" in html  # normalised, to check with the recipient
    assert 'value="confirm"' in html
    assert NemKonto.objects.count() == 0

    # "Correct the account" goes back to the form with what was typed.
    back = client_at_recipient.post(
        url("nemkonto_change", person.pk, language="en"), {**DANISH, "step": "edit"}
    )
    assert "Confirm the new NemKonto" not in back.content.decode()
    assert back.context["form"]["reg"].value() == "3000"
    assert NemKonto.objects.count() == 0


def test_the_confirmed_change_waits_for_activation_and_shows_its_letter(
    client_at_recipient, person, nemkonto_caseworker
):
    response = client_at_recipient.post(
        url("nemkonto_change", person.pk), {**DANISH, "step": "confirm"}
    )
    version = NemKonto.objects.get()
    letter = ActivationLetter.objects.get()
    assert version.state == NemKonto.State.PENDING
    assert version.actor == nemkonto_caseworker
    assert version.account_kind == "danish"
    assert (version.reg, version.number) == ("3000", "0001234567")
    assert response.status_code == 302
    assert response["Location"] == url("letter", letter.pk)

    html = client_at_recipient.get(url("letter", letter.pk, language="en")).content.decode()
    assert "The new NemKonto ****4567 for Borger Testesen is registered." in html
    assert "It takes effect when the recipient activates it with the code in this letter." in html
    assert standard_wording() in html
    assert f'href="{url("letter_pdf", letter.pk, language="en")}"' in html
    assert f'href="{url("letter_pdf", letter.pk, language="en")}?download"' in html


def test_the_letter_is_printed_inline_or_downloaded_and_never_cached(client_at_recipient, person):
    client_at_recipient.post(url("nemkonto_change", person.pk), {**DANISH, "step": "confirm"})
    letter = ActivationLetter.objects.get()
    shown = client_at_recipient.get(url("letter_pdf", letter.pk))
    assert shown.status_code == 200
    assert shown["Content-Type"] == "application/pdf"
    assert shown["Content-Disposition"].startswith("inline")
    assert shown["Cache-Control"] == "no-store"
    # The browser's PDF viewer may show it (the site's policy forbids plugins elsewhere).
    assert "object-src 'self'" in shown["Content-Security-Policy"]
    assert shown.content == PDF_STUB
    downloaded = client_at_recipient.get(url("letter_pdf", letter.pk) + "?download")
    assert downloaded["Content-Disposition"] == (
        f'attachment; filename="aktiveringsbrev-{letter.pk}.pdf"'
    )


def test_only_the_author_gets_the_letter_and_only_while_it_waits(
    fixed_code, client_at_recipient, person, logged_in, full_caseworker, citizen
):
    client_at_recipient.post(url("nemkonto_change", person.pk), {**DANISH, "step": "confirm"})
    letter = ActivationLetter.objects.get()
    colleague = logged_in(full_caseworker)  # same authority, same profile: not their letter
    assert colleague.get(url("letter", letter.pk)).status_code == 404
    assert colleague.get(url("letter_pdf", letter.pk)).status_code == 404

    activation_activate_own(actor=citizen, code=fixed_code)
    assert NemKonto.objects.get().state == NemKonto.State.ACTIVE
    author = client_at_recipient
    assert author.get(url("letter", letter.pk)).status_code == 404
    assert author.get(url("letter_pdf", letter.pk)).status_code == 404


def test_a_bad_account_is_a_form_error_and_nothing_is_written(client_at_recipient, person):
    response = client_at_recipient.post(
        url("nemkonto_change", person.pk), {**DANISH, "reg": "12", "step": "confirm"}
    )
    assert response.status_code == 200
    assert error_fields(response) == {"reg"}
    assert NemKonto.objects.count() == 0
    missing = client_at_recipient.post(
        url("nemkonto_change", person.pk), {"kind": "iban", "iban": "", "step": "confirm"}
    )
    assert error_fields(missing)  # the account is missing
    assert NemKonto.objects.count() == 0


def test_the_present_nemkonto_again_is_refused_on_the_account(client_at_recipient, person):
    client_at_recipient.post(url("nemkonto_change", person.pk), {**DANISH, "step": "confirm"})
    version = NemKonto.objects.get()
    NemKonto.objects.filter(pk=version.pk).update(state="active", activated_at=version.created_at)
    response = client_at_recipient.post(
        url("nemkonto_change", person.pk, language="en"), {**DANISH, "step": "confirm"}
    )
    assert response.status_code == 200
    assert "The account is already the recipient&#x27;s NemKonto." in response.content.decode()
    assert NemKonto.objects.count() == 1


def test_the_waiting_change_is_shown_on_the_recipients_page(client_at_recipient, person):
    client_at_recipient.post(url("nemkonto_change", person.pk), {**DANISH, "step": "confirm"})
    letter = ActivationLetter.objects.get()
    html = client_at_recipient.get(url("recipient", person.pk, language="en")).content.decode()
    assert "A change to ****4567" in html
    assert "waits for the recipient's activation code" in html
    assert url("letter", letter.pk, language="en") in html


def test_without_the_nemkonto_profile_the_change_is_not_there(
    logged_in, specific_caseworker, person
):
    client = logged_in(specific_caseworker)
    look_up(client, person)
    assert client.get(url("nemkonto_change", person.pk)).status_code == 404
    response = client.post(url("nemkonto_change", person.pk), {**DANISH, "step": "confirm"})
    assert response.status_code == 404
    assert NemKonto.objects.count() == 0


def test_the_real_letter_carries_the_code_that_activates_the_change(
    real_letters, client_at_recipient, person, citizen
):
    client_at_recipient.post(url("nemkonto_change", person.pk), {**DANISH, "step": "confirm"})
    letter = ActivationLetter.objects.get()
    pdf = client_at_recipient.get(url("letter_pdf", letter.pk) + "?download").content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Pengene vil blive udbetalt til din NemKonto." in text
    assert "Borger Testesen" in text
    version = activation_activate_own(actor=citizen, code=code_in(text))
    assert version.state == NemKonto.State.ACTIVE
