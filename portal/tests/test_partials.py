"""The reusable template partials: messages as dkfds alerts, form fields in dkfds markup."""

import re

from django import forms
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.template.loader import render_to_string
from django.utils import translation


class ExampleForm(forms.Form):
    name = forms.CharField(label="Name", help_text="As on your health card.", max_length=20)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea)
    kind = forms.ChoiceField(
        label="Kind", choices=[("cpr", "CPR"), ("cvr", "CVR")], widget=forms.RadioSelect
    )
    bank = forms.ChoiceField(label="Bank", choices=[("", "-"), ("1", "One")])
    channels = forms.MultipleChoiceField(
        label="Channels",
        choices=[("mail", "Mail"), ("sms", "SMS")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    agree = forms.BooleanField(label="I agree")
    token = forms.CharField(widget=forms.HiddenInput, required=False)


def field_html(form: forms.Form, name: str) -> str:
    with translation.override("da"):
        return render_to_string("partials/field.html", {"field": form[name]})


def test_text_field_with_help_text_and_error():
    form = ExampleForm(data={"name": ""})
    assert not form.is_valid()
    html = field_html(form, "name")
    assert '<div class="form-group form-error">' in html
    assert '<label class="form-label" for="id_name">Name</label>' in html
    assert '<span class="form-hint" id="id_name_helptext">As on your health card.</span>' in html
    assert 'id="id_name_error"><span class="sr-only">Fejl: </span>' in html
    widget = re.search(r"<input[^>]*>", html)
    assert widget
    tag = widget.group(0)
    assert 'class="form-input"' in tag
    assert 'aria-invalid="true"' in tag
    assert 'aria-describedby="id_name_helptext id_name_error"' in tag
    assert 'maxlength="20"' in tag
    assert "required" in tag


def test_optional_textarea_and_select():
    form = ExampleForm()
    note = field_html(form, "note")
    assert '<span class="weight-normal"> (frivilligt)</span>' in note
    assert '<textarea name="note" cols="40" rows="10" class="form-input"' in note
    bank = field_html(form, "bank")
    assert '<select name="bank" class="form-select"' in bank


def test_radio_buttons_and_checkboxes_in_a_fieldset():
    form = ExampleForm(data={})
    form.is_valid()
    kind = field_html(form, "kind")
    assert '<fieldset aria-describedby="id_kind_error">' in kind
    assert '<legend class="form-label">Kind</legend>' in kind
    assert kind.count('class="form-group-radio"') == 2
    assert re.search(
        r'<input type="radio" name="kind" value="cpr" class="form-radio"[^>]*id="id_kind_0"', kind
    )
    assert '<label class="form-label" for="id_kind_0">CPR</label>' in kind
    channels = field_html(form, "channels")
    assert channels.count('class="form-group-checkbox"') == 2
    assert 'class="form-checkbox"' in channels
    agree = field_html(form, "agree")
    assert '<div class="form-group-checkbox">' in agree
    assert re.search(r'<input type="checkbox" name="agree" class="form-checkbox"', agree)


def test_hidden_field_is_only_the_input():
    html = field_html(ExampleForm(), "token").strip()
    assert html == '<input type="hidden" name="token" id="id_token">'


def test_error_summary_links_to_the_fields():
    form = ExampleForm(data={})
    form.is_valid()
    with translation.override("da"):
        html = render_to_string("partials/form_errors.html", {"form": form})
    assert 'data-module="error-summary"' in html
    assert "Der er et problem" in html
    assert 'href="#id_name"' in html
    assert 'href="#id_kind_0"' in html


def test_messages_become_dkfds_alerts():
    messages = [
        Message(constants.INFO, "Saved draft"),
        Message(constants.SUCCESS, "Account changed"),
        Message(constants.WARNING, "Check the account"),
        Message(constants.ERROR, "Could not save"),
        Message(constants.DEBUG, "Debug note"),
    ]
    with translation.override("da"):
        html = render_to_string("partials/messages.html", {"messages": messages})
    assert html.count('class="alert alert-info"') == 2
    assert 'class="alert alert-success"' in html
    assert 'class="alert alert-warning" role="alert"' in html
    assert 'class="alert alert-error" role="alert"' in html
    assert 'aria-label="Fejl"' in html
    assert '<p class="alert-text">Could not save</p>' in html
