"""Template tags for the language switcher."""

from typing import Any

from django import template
from django.urls import translate_url

register = template.Library()


@register.simple_tag(takes_context=True)
def translated_path(context: dict[str, Any], language_code: str) -> str:
    """The current page's path and query in ``language_code`` (/om-nemkonto/ <-> /en/om-nemkonto/).

    Computed while rendering, where the page's own language is active, because Django's
    set_language cannot do it for a prefixed URL when prefix_default_language=False: it resolves
    ``next`` with the default language active, /en/... does not resolve, and it would send the
    visitor back to the English page. Paths that do not resolve are returned unchanged.
    """
    request = context.get("request")
    if request is None:
        return "/"
    return translate_url(request.get_full_path(), language_code)
