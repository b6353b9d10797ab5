"""Template filters that render Django form widgets with dkfds (Det Fælles Designsystem) classes.

Used by ``templates/partials/field.html``::

    {% load dkfds %}
    {{ field|dkfds_widget }}               the widget, with form-input / form-select / form-checkbox
    {% for choice in field|dkfds_choices %} radio buttons or checkboxes of a multiple-choice field

Django itself adds ``required``, ``aria-invalid`` and ``aria-describedby`` (pointing at
``<id>_helptext`` and ``<id>_error``, the ids the partial gives the hint and the error message).
"""

from typing import Any

from django import forms, template
from django.forms.boundfield import BoundField, BoundWidget
from django.utils.safestring import SafeString

register = template.Library()


def _widget_class(widget: forms.Widget) -> str:
    """The dkfds class of one widget (for choice widgets: of each of its inputs)."""
    # CheckboxSelectMultiple is a RadioSelect, so it goes first.
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
        return "form-checkbox"
    if isinstance(widget, forms.RadioSelect):
        return "form-radio"
    if isinstance(widget, forms.Select):  # also SelectMultiple and NullBooleanSelect
        return "form-select"
    if isinstance(widget, forms.FileInput):
        return ""  # dkfds styles input[type=file] itself
    return "form-input"  # text, e-mail, number, date, password, textarea, ...


def _with_class(attrs: dict[str, Any], css_class: str) -> dict[str, Any]:
    """``attrs`` with ``css_class`` before the classes the widget already has."""
    classes = [css_class, *str(attrs.get("class", "")).split()]
    joined = " ".join(dict.fromkeys(c for c in classes if c))
    return {**attrs, "class": joined} if joined else attrs


@register.filter
def dkfds_kind(field: BoundField) -> str:
    """How the partial lays the field out: hidden, checkbox, choices, select, textarea or input."""
    widget = field.field.widget
    if widget.is_hidden:
        return "hidden"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "choices"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    return "input"


@register.filter
def dkfds_widget(field: BoundField) -> SafeString:
    """The field's widget rendered with its dkfds class added to the widget's own classes."""
    widget = field.field.widget
    return field.as_widget(attrs=_with_class(dict(widget.attrs), _widget_class(widget)))


@register.filter
def dkfds_choices(field: BoundField) -> list[BoundWidget]:
    """The options of a RadioSelect or CheckboxSelectMultiple, each input with its dkfds class."""
    widget = field.field.widget
    attrs = _with_class(dict(widget.attrs), _widget_class(widget))
    attrs = field.build_widget_attrs(attrs, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    return [
        BoundWidget(widget, data, field.form.renderer)
        for data in widget.subwidgets(field.html_name, field.value(), attrs=attrs)
    ]
