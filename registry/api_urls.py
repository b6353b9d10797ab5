"""The registry's REST endpoints under /api/v1/ (API.md: Look-ups, Banks; issue 5)."""

from django.urls import path, register_converter

from registry import api


class IdTypeConverter:
    """A recipient ID type in a path: 1 to 3 letters (so ``nemkonto/bulk/...`` is not taken);
    the view names an unknown type in its error."""

    regex = "[A-Za-z]{1,3}"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


register_converter(IdTypeConverter, "idtype")

urlpatterns = [
    path(
        "recipients/<idtype:id_type>/<str:id_number>/account",
        api.RecipientAccountApi.as_view(),
        name="registry-recipient-account",
    ),
    path("resolve", api.BulkResolveApi.as_view(), name="registry-resolve"),
    path(
        "nemkonto/<idtype:id_type>/<str:id_number>",
        api.BankNemKontoApi.as_view(),
        name="registry-bank-nemkonto",
    ),
    path("activation", api.PhoneActivationApi.as_view(), name="registry-activation"),
    path("me/nemkonto", api.MyNemKontoApi.as_view(), name="registry-me-nemkonto"),
    path("me/activation", api.MyActivationApi.as_view(), name="registry-me-activation"),
    path(
        "me/specific-accounts",
        api.MySpecificAccountListApi.as_view(),
        name="registry-me-specific-accounts",
    ),
    path(
        "me/specific-accounts/<str:authority_code>/<str:benefit_code>",
        api.MySpecificAccountApi.as_view(),
        name="registry-me-specific-account",
    ),
    path("me/lookups", api.MyLookupsApi.as_view(), name="registry-me-lookups"),
    path(
        "caseworker/nemkonto",
        api.CaseworkerNemKontoApi.as_view(),
        name="registry-caseworker-nemkonto",
    ),
    path(
        "caseworker/specific-accounts",
        api.CaseworkerSpecificAccountCollectionApi.as_view(),
        name="registry-caseworker-specific-accounts",
    ),
    path(
        "caseworker/specific-accounts/<idtype:id_type>/<str:id_number>/<str:benefit>",
        api.CaseworkerSpecificAccountApi.as_view(),
        name="registry-caseworker-specific-account",
    ),
    path(
        "authorities/<str:code>/control-list.csv",
        api.ControlListApi.as_view(),
        name="registry-control-list",
    ),
    path("letters", api.LetterListApi.as_view(), name="registry-letters"),
    path("letters/mark", api.LettersMarkApi.as_view(), name="registry-letters-mark"),
    path("letters/<int:letter_id>/pdf", api.LetterPdfApi.as_view(), name="registry-letter-pdf"),
]
