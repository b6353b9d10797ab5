"""What the logged-in user may use, for templates: the navigation shows only those pages.

{% load portal_access %}{% user_functions as functions %}
{% if "update_nemkonto" in functions %}...{% endif %}
"""

from typing import Any

from django import template

from portal.access import functions_of

register = template.Library()


@register.simple_tag(takes_context=True)
def user_functions(context: Any) -> frozenset[str]:
    """The values of the functions the user holds on some unit, worked out once per request."""
    request = context.get("request")
    if request is None:
        return frozenset()
    held: frozenset[str] | None = getattr(request, "portal_functions", None)
    if held is None:
        held = frozenset(function.value for function in functions_of(request.user))
        request.portal_functions = held
    return held
