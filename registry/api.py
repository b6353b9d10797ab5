"""REST endpoints of the registry (API.md: Look-ups, Banks; issue 5).

Callers:

- authorities' and payment systems' clients (OAuth2, scopes ``resolve``/``payments``): look-ups;
- banks' clients (OAuth2, scope ``bank``): NemKonto reports;
- the telephony provider (``X-Telephony-Key``): the phone menu's activation;
- logged-in citizens and businesses (session): ``/me/...``;
- logged-in caseworkers (session): ``/caseworker/...``, the control list;
- operators (session): the print list of activation letters.

One APIView per operation; every write is one service call, so a refused request changes nothing
(except a wrong activation code, which must count). Errors are problem documents.
"""

import datetime
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import renderers, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from nemkonto.api_support import (
    CURSOR_PARAMETERS,
    StrictInputSerializer,
    cursor_pagination,
    paginated,
    problems,
    request_actor,
)
from nemkonto.csv_safe import csv_lines
from nemkonto.errors import NotFound, PermissionDenied, ValidationFailed
from registry import selectors
from registry.api_auth import (
    TELEPHONY_HEADER,
    BankClient,
    LookupClient,
    TelephonyProvider,
    request_client,
)
from registry.models import ActivationLetter, NemKonto, Recipient, SpecificAccount
from registry.services import (
    activation_activate,
    activation_activate_own,
    letters_mark,
    nemkonto_change_by_caseworker,
    nemkonto_delete,
    nemkonto_report_by_bank,
    nemkonto_set,
    specific_account_create,
    specific_account_delete,
    specific_account_update,
)
from registry.services.activation import VIA_PHONE
from registry.services.common import is_employee, own_recipient, recipient_find
from registry.services.resolve import (
    account_lookup,
    benefit_for,
    bulk_resolve,
    clean_purpose,
    client_authority,
    parse_bulk_recipients,
    specific_accounts_lookup,
)
from registry.services.specific import UNSET

TAG_LOOKUPS = "Look-ups"
TAG_BANKS = "Banks"
TAG_ACTIVATION = "Activation"
TAG_ME = "Citizens and businesses"
TAG_CASEWORKER = "Caseworkers"
TAG_OPERATORS = "Operators"


class ClientApi(APIView):
    authentication_classes = [OAuth2Authentication]


class UserApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]


class IsEmployee(BasePermission):
    """An active employee of an authority (the caseworker endpoints)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if not is_employee(request.user):
            raise PermissionDenied(
                _("This is for the authorities' caseworkers."), code="employees_only"
            )
        return True


class CaseworkerApi(UserApi):
    permission_classes = [IsEmployee]


# --- Shapes -------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="RecipientRef")
class RecipientSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["CPR", "CVR", "P", "SE"])
    id = serializers.CharField(max_length=11)


@extend_schema_serializer(component_name="AccountInput")
class AccountSerializer(serializers.Serializer[Any]):
    """``{"reg", "number"}`` or ``{"iban", "bic"}``; checked by the service (field paths)."""

    reg = serializers.CharField(required=False, allow_blank=True, max_length=10)
    number = serializers.CharField(required=False, allow_blank=True, max_length=20)
    iban = serializers.CharField(required=False, allow_blank=True, max_length=50)
    bic = serializers.CharField(required=False, allow_blank=True, max_length=11)


def recipient_ref(recipient: Recipient) -> dict[str, str]:
    return {"type": recipient.id_type, "id": recipient.id_number}


# --- Look-ups (scope resolve / payments) ----------------------------------------------------------


@extend_schema_serializer(component_name="AccountLookup")
class AccountLookupOutputSerializer(serializers.Serializer[Any]):
    recipient = RecipientSerializer()
    exists = serializers.BooleanField()
    account_kind = serializers.ChoiceField(choices=["specific", "nemkonto", "pending", "none"])
    account = serializers.CharField(allow_null=True, help_text="Masked: ****1234")
    reason = serializers.CharField()
    reason_code = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)


class RecipientAccountApi(ClientApi):
    permission_classes = [LookupClient]

    @extend_schema(
        operation_id="recipient_account_lookup",
        summary="Look up a recipient's account",
        description=(
            "Which account a payment from the client's authority (for `benefit`) would go to now, "
            "masked, and why. `purpose` is required: every look-up of a CPR number is written to "
            "the look-up log (also when the ID is not in the register, which answers 404)."
        ),
        tags=[TAG_LOOKUPS],
        parameters=[
            OpenApiParameter("benefit", str, description="The authority's benefit code"),
            OpenApiParameter("purpose", str, required=True, description="Why (logged)"),
        ],
        responses={200: AccountLookupOutputSerializer, **problems(401, 404, 422)},
    )
    def get(self, request: Request, id_type: str, id_number: str) -> Response:
        recipient, resolution = account_lookup(
            client=request_client(request),
            id_type=id_type,
            id_number=id_number,
            benefit_code=request.query_params.get("benefit"),
            purpose=request.query_params.get("purpose"),
        )
        return Response(
            {
                "recipient": recipient_ref(recipient),
                "exists": True,
                "account_kind": resolution.kind,
                "account": resolution.account.masked if resolution.account else None,
                "reason": resolution.reason,
                "reason_code": resolution.reason_code,
                "version": resolution.version_id,
            }
        )


@extend_schema_serializer(component_name="BulkResolveRequest")
class BulkResolveInputSerializer(serializers.Serializer[Any]):
    benefit = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    details = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Add the account (masked) where a payment would use your own specific account",
    )
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=200)
    recipients = RecipientSerializer(many=True, help_text="At most 10,000")


@extend_schema_serializer(component_name="BulkResolveResult")
class BulkResolveResultSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    id = serializers.CharField()
    result = serializers.ChoiceField(choices=["yes", "no", "unknown_id"])
    account_kind = serializers.CharField(required=False, help_text="Only with details")
    account = serializers.CharField(required=False, help_text="Only with details: masked")


@extend_schema_serializer(component_name="BulkResolveAnswer")
class BulkResolveOutputSerializer(serializers.Serializer[Any]):
    results = BulkResolveResultSerializer(many=True)


class BulkResolveApi(ClientApi):
    permission_classes = [LookupClient]

    @extend_schema(
        operation_id="bulk_resolve",
        summary="Would payments find an account? (up to 10,000 IDs)",
        description=(
            "Answers `yes` (a payment from the client's authority, for `benefit` if given, would "
            "find a specific account or NemKonto now), `no`, or `unknown_id` (not in the "
            "register) per ID, in the order given. With `details: true`, IDs whose payment would "
            "use one of the caller's own specific accounts also get `account_kind` and the "
            "masked `account`; nothing more is told about anyone. Any malformed ID fails the "
            "request (400/422, "
            "each error named `recipients[i].id`) and nothing is logged; otherwise one look-up "
            "log row is written per distinct CPR number."
        ),
        tags=[TAG_LOOKUPS],
        request=BulkResolveInputSerializer,
        responses={200: BulkResolveOutputSerializer, **problems(400, 401, 422)},
    )
    def post(self, request: Request) -> Response:
        # Validated by hand, not by the serializer above (documentation only): DRF's nested
        # serializers cost ~50 µs per item, too slow for 10,000 IDs within a second.
        data = request.data
        if not isinstance(data, dict):
            raise ValidationFailed(_("The body must be a JSON object."), field="", code="invalid")
        unknown = sorted(set(data) - {"benefit", "details", "purpose", "recipients"})
        if unknown:
            raise ValidationFailed(_("Unknown field."), field=unknown[0], code="unknown_field")
        if "recipients" not in data:
            raise ValidationFailed(
                _("This field is required."), field="recipients", code="required"
            )
        benefit_code = data.get("benefit")
        if benefit_code is not None and not isinstance(benefit_code, str):
            raise ValidationFailed(_("Give a benefit code."), field="benefit", code="invalid")
        details = data.get("details", False)
        if not isinstance(details, bool):
            raise ValidationFailed(_("Give true or false."), field="details", code="invalid")
        purpose = data.get("purpose")
        if purpose is not None and not isinstance(purpose, str):
            raise ValidationFailed(_("Give a text."), field="purpose", code="invalid")
        client = request_client(request)
        ids = parse_bulk_recipients(data["recipients"])
        benefit = benefit_for(client_authority(client), benefit_code)
        cleaned = clean_purpose(purpose, required=False, default="bulk resolve")
        answers = bulk_resolve(client=client, recipients=ids, benefit=benefit, purpose=cleaned)
        results = []
        for item, answer in zip(data["recipients"], answers, strict=True):
            row = {"type": item["type"], "id": item["id"], "result": answer.result}
            if details and answer.own_specific is not None:
                row["account_kind"] = "specific"
                row["account"] = answer.own_specific
            results.append(row)
        return Response({"results": results})


# --- Banks (scope bank) ---------------------------------------------------------------------------


@extend_schema_serializer(component_name="BankReport")
class BankReportInputSerializer(StrictInputSerializer):
    account = AccountSerializer()


@extend_schema_serializer(component_name="NemKontoVersionRef")
class VersionRefOutputSerializer(serializers.Serializer[Any]):
    recipient = RecipientSerializer()
    version = serializers.IntegerField()
    state = serializers.CharField()
    active_from = serializers.DateTimeField(allow_null=True)


def version_ref(version: NemKonto) -> dict[str, Any]:
    return {
        "recipient": recipient_ref(version.recipient),
        "version": version.pk,
        "state": version.state,
        "active_from": version.activated_at,
    }


class BankNemKontoApi(ClientApi):
    permission_classes = [BankClient]

    @extend_schema(
        operation_id="bank_nemkonto_report",
        summary="Report a customer's NemKonto",
        description=(
            "A bank reports its customer's new or changed NemKonto; it takes effect at once. The "
            "account must be one the bank holds. Reporting the current NemKonto again changes "
            "nothing (the same version is answered). Banks cannot touch specific accounts."
        ),
        tags=[TAG_BANKS],
        request=BankReportInputSerializer,
        responses={200: VersionRefOutputSerializer, **problems(400, 401, 404, 422)},
    )
    def put(self, request: Request, id_type: str, id_number: str) -> Response:
        data = BankReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = nemkonto_report_by_bank(
            actor=request_client(request),
            id_type=id_type,
            id_number=id_number,
            account=data.validated_data["account"],
        )
        return Response(version_ref(change.version))


# --- Activation -----------------------------------------------------------------------------------


@extend_schema_serializer(component_name="PhoneActivation")
class PhoneActivationInputSerializer(StrictInputSerializer):
    recipient = RecipientSerializer()
    code = serializers.CharField(max_length=20)


class PhoneActivationApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [TelephonyProvider]

    @extend_schema(
        operation_id="activation_phone",
        summary="Activate a NemKonto change (phone menu)",
        description=(
            "For the telephony provider, authenticated by the shared secret in the "
            f"`{TELEPHONY_HEADER}` header. The caller keyed in their ID and the code from the "
            "activation letter. A wrong code counts against the letter's attempts (422 "
            "`wrong_code`); an expired code (`code_expired`) or too many attempts "
            "(`too_many_attempts`) cancel the change; 404 `no_pending_change` when nothing waits."
        ),
        tags=[TAG_ACTIVATION],
        request=PhoneActivationInputSerializer,
        responses={200: VersionRefOutputSerializer, **problems(400, 404, 422)},
    )
    def post(self, request: Request) -> Response:
        data = PhoneActivationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = activation_activate(
            id_type=data.validated_data["recipient"]["type"],
            id_number=data.validated_data["recipient"]["id"],
            code=data.validated_data["code"],
            via=VIA_PHONE,
        )
        return Response(version_ref(version))


# --- Citizens and businesses (session) ----------------------------------------------------------


@extend_schema_serializer(component_name="MyNemKonto")
class MyNemKontoOutputSerializer(serializers.Serializer[Any]):
    recipient = RecipientSerializer()
    nemkonto = serializers.DictField(allow_null=True)
    waiting = serializers.DictField(allow_null=True)


def _my_nemkonto(recipient: Recipient) -> dict[str, Any]:
    current = selectors.nemkonto_at(recipient=recipient)
    waiting = selectors.nemkonto_waiting_at(recipient=recipient)
    return {
        "recipient": recipient_ref(recipient),
        "nemkonto": (
            {
                "version": current.pk,
                "account": current.stored_account.as_api(),
                "masked": current.masked_account,
                "channel": current.channel,
                "active_from": current.activated_at,
            }
            if current is not None
            else None
        ),
        "waiting": (
            {
                "version": waiting.pk,
                "masked": waiting.masked_account,
                "state": waiting.state,
                "channel": waiting.channel,
                "registered_at": waiting.created_at,
                "authority": waiting.authority.name if waiting.authority else None,
            }
            if waiting is not None
            else None
        ),
    }


@extend_schema_serializer(component_name="MyNemKontoChange")
class MyNemKontoInputSerializer(StrictInputSerializer):
    account = AccountSerializer()


class MyNemKontoApi(UserApi):
    """``/me/nemkonto``: GET reads, PUT creates or changes, DELETE deletes (citizens only)."""

    @extend_schema(
        operation_id="me_nemkonto_get",
        summary="My NemKonto",
        description="The logged-in citizen's or business's NemKonto (in full: it is theirs).",
        tags=[TAG_ME],
        responses={200: MyNemKontoOutputSerializer, **problems(404)},
    )
    def get(self, request: Request) -> Response:
        return Response(_my_nemkonto(own_recipient(request_actor(request))))

    @extend_schema(
        operation_id="me_nemkonto_set",
        summary="Create or change my NemKonto",
        description=(
            "Citizens only (businesses: your bank reports it). Takes effect at once; a foreign "
            "account is held for review first."
        ),
        tags=[TAG_ME],
        request=MyNemKontoInputSerializer,
        responses={200: MyNemKontoOutputSerializer, **problems(400, 404, 422)},
    )
    def put(self, request: Request) -> Response:
        data = MyNemKontoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = nemkonto_set(actor=request_actor(request), account=data.validated_data["account"])
        return Response(_my_nemkonto(change.version.recipient))

    @extend_schema(
        operation_id="me_nemkonto_delete",
        summary="Delete my NemKonto",
        description="Citizens only. Afterwards, payments to you fail until you register one.",
        tags=[TAG_ME],
        responses={204: None, **problems(404, 409)},
    )
    def delete(self, request: Request) -> Response:
        nemkonto_delete(actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_serializer(component_name="MyActivation")
class MyActivationInputSerializer(StrictInputSerializer):
    code = serializers.CharField(max_length=20)


class MyActivationApi(UserApi):
    @extend_schema(
        operation_id="me_activation",
        summary="Activate with code",
        description=(
            "The portal's 'activate with code': the logged-in citizen or business activates the "
            "change waiting for their own ID. Same answers as the phone menu."
        ),
        tags=[TAG_ME],
        request=MyActivationInputSerializer,
        responses={200: VersionRefOutputSerializer, **problems(400, 404, 422)},
    )
    def post(self, request: Request) -> Response:
        data = MyActivationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = activation_activate_own(
            actor=request_actor(request), code=data.validated_data["code"]
        )
        return Response(version_ref(version))


@extend_schema_serializer(component_name="SpecificAccount")
class SpecificAccountOutputSerializer(serializers.Serializer[Any]):
    recipient = serializers.SerializerMethodField()
    authority = serializers.CharField(source="authority.code")
    benefit = serializers.CharField(source="benefit.code")
    benefit_name = serializers.CharField(source="benefit.name")
    account = serializers.SerializerMethodField()
    masked = serializers.CharField(source="masked_account")
    locked = serializers.BooleanField()
    end_date = serializers.DateField(allow_null=True)
    version = serializers.IntegerField(source="pk")
    channel = serializers.CharField()
    registered_at = serializers.DateTimeField(source="created_at")

    def get_recipient(self, obj: SpecificAccount) -> dict[str, str]:
        return recipient_ref(obj.recipient)

    def get_account(self, obj: SpecificAccount) -> dict[str, str]:
        return obj.stored_account.as_api()


class MySpecificAccountListApi(UserApi):
    @extend_schema(
        operation_id="me_specific_accounts",
        summary="My specific accounts",
        tags=[TAG_ME],
        responses={200: SpecificAccountOutputSerializer(many=True), **problems(404)},
    )
    def get(self, request: Request) -> Response:
        accounts = selectors.specific_accounts_of_me(actor=request_actor(request))
        return Response(SpecificAccountOutputSerializer(accounts, many=True).data)


@extend_schema_serializer(component_name="MySpecificAccountChange")
class MySpecificAccountInputSerializer(StrictInputSerializer):
    account = AccountSerializer()


class MySpecificAccountApi(UserApi):
    """``/me/specific-accounts/{authority}/{benefit}``: PATCH changes, DELETE deletes."""

    @extend_schema(
        operation_id="me_specific_account_change",
        summary="Change my specific account",
        description="Citizens only, and only an unlocked one (403 `locked`).",
        tags=[TAG_ME],
        request=MySpecificAccountInputSerializer,
        responses={200: SpecificAccountOutputSerializer, **problems(400, 404, 409, 422)},
    )
    def patch(self, request: Request, authority_code: str, benefit_code: str) -> Response:
        actor = request_actor(request)
        found = selectors.specific_account_get_own(
            actor=actor, authority_code=authority_code, benefit_code=benefit_code
        )
        data = MySpecificAccountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = specific_account_update(
            actor=actor, specific_account=found, account=data.validated_data["account"]
        )
        return Response(SpecificAccountOutputSerializer(version).data)

    @extend_schema(
        operation_id="me_specific_account_delete",
        summary="Delete my specific account",
        description="Citizens only, and only an unlocked one (403 `locked`).",
        tags=[TAG_ME],
        responses={204: None, **problems(404, 409)},
    )
    def delete(self, request: Request, authority_code: str, benefit_code: str) -> Response:
        actor = request_actor(request)
        found = selectors.specific_account_get_own(
            actor=actor, authority_code=authority_code, benefit_code=benefit_code
        )
        specific_account_delete(actor=actor, specific_account=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_serializer(component_name="LookupLogEntry")
class LookupOutputSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    who = serializers.CharField(source="actor_label")
    authority = serializers.CharField(source="authority.name", allow_null=True, default=None)
    channel = serializers.CharField()
    purpose = serializers.CharField()
    result = serializers.CharField()


@extend_schema_serializer(component_name="ChangeEvent")
class ChangeOutputSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    object = serializers.CharField()
    event = serializers.CharField()
    channel = serializers.CharField()
    by = serializers.CharField()
    authority = serializers.CharField(allow_null=True)
    benefit = serializers.CharField(allow_null=True)
    account = serializers.CharField()
    version = serializers.IntegerField()


@extend_schema_serializer(component_name="MyActivity")
class MyActivityOutputSerializer(serializers.Serializer[Any]):
    lookups = LookupOutputSerializer(many=True)
    changes = ChangeOutputSerializer(many=True)


class MyLookupsApi(UserApi):
    LIMIT = 500

    @extend_schema(
        operation_id="me_lookups",
        summary="Who looked me up or changed my accounts",
        description=(
            "The logged-in person's look-up log (who looked them up by CPR number, when, why, "
            "through which channel) and every change of their NemKonto and specific accounts; "
            "newest first, at most 500 of each."
        ),
        tags=[TAG_ME],
        responses={200: MyActivityOutputSerializer, **problems(404)},
    )
    def get(self, request: Request) -> Response:
        actor = request_actor(request)
        lookups = selectors.lookups_of_me(actor=actor)[: self.LIMIT]
        changes = selectors.changes_of_me(actor=actor, limit=self.LIMIT)
        return Response(
            {
                "lookups": LookupOutputSerializer(lookups, many=True).data,
                "changes": ChangeOutputSerializer(changes, many=True).data,
            }
        )


# --- Caseworkers (session) ----------------------------------------------------------------------


@extend_schema_serializer(component_name="CaseworkerNemKontoChange")
class CaseworkerNemKontoInputSerializer(StrictInputSerializer):
    recipient = RecipientSerializer()
    account = AccountSerializer()


@extend_schema_serializer(component_name="PendingNemKonto")
class PendingNemKontoOutputSerializer(serializers.Serializer[Any]):
    recipient = RecipientSerializer()
    version = serializers.IntegerField()
    state = serializers.CharField()
    account = serializers.CharField(help_text="Masked")
    current = serializers.CharField(allow_null=True, help_text="The account in force until then")
    letter = serializers.DictField()


class CaseworkerNemKontoApi(CaseworkerApi):
    @extend_schema(
        operation_id="caseworker_nemkonto_change",
        summary="Register a new NemKonto at the recipient's request",
        description=(
            "Needs the NKS-Opdater-NemKonto profile on a unit of your authority. The change is "
            "pending: an activation letter with a code goes to the recipient's address, and the "
            "current account stays in force until the recipient activates it. The code is never "
            "shown to the caseworker."
        ),
        tags=[TAG_CASEWORKER],
        request=CaseworkerNemKontoInputSerializer,
        responses={202: PendingNemKontoOutputSerializer, **problems(400, 404, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        data = CaseworkerNemKontoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = nemkonto_change_by_caseworker(
            actor=request_actor(request),
            id_type=data.validated_data["recipient"]["type"],
            id_number=data.validated_data["recipient"]["id"],
            account=data.validated_data["account"],
        )
        return Response(
            {
                "recipient": recipient_ref(change.version.recipient),
                "version": change.version.pk,
                "state": change.version.state,
                "account": change.version.masked_account,
                "current": change.current.masked_account if change.current else None,
                "letter": {"id": change.letter.pk, "expires_at": change.letter.expires_at},
            },
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema_serializer(component_name="SpecificAccountCreate")
class SpecificAccountCreateInputSerializer(StrictInputSerializer):
    recipient = RecipientSerializer()
    benefit = serializers.CharField(max_length=30)
    account = AccountSerializer()
    locked = serializers.BooleanField(required=False, default=False)
    end_date = serializers.DateField(required=False, allow_null=True, default=None)


class CaseworkerSpecificAccountListApi(CaseworkerApi):
    @extend_schema(
        operation_id="caseworker_specific_accounts_list",
        summary="A recipient's specific accounts with your authority",
        description=(
            "Needs the NKS-Opdater-SpecKonto profile. `type` and `id` name the recipient; the "
            "look-up is logged (with `purpose` if given)."
        ),
        tags=[TAG_CASEWORKER],
        parameters=[
            OpenApiParameter("type", str, required=True),
            OpenApiParameter("id", str, required=True),
            OpenApiParameter("purpose", str),
        ],
        responses={200: SpecificAccountOutputSerializer(many=True), **problems(404, 422)},
    )
    def get(self, request: Request) -> Response:
        _recipient, accounts = specific_accounts_lookup(
            actor=request_actor(request),
            id_type=request.query_params.get("type", ""),
            id_number=request.query_params.get("id", ""),
            purpose=request.query_params.get("purpose"),
        )
        return Response(SpecificAccountOutputSerializer(accounts, many=True).data)


class CaseworkerSpecificAccountCreateApi(CaseworkerApi):
    @extend_schema(
        operation_id="caseworker_specific_account_create",
        summary="Create a specific account",
        description=(
            "For one of your authority's benefits, at the recipient's request; optionally locked "
            "(only the authority can then change it) and time-limited (removed after the end "
            "date). Needs the NKS-Opdater-SpecKonto profile."
        ),
        tags=[TAG_CASEWORKER],
        request=SpecificAccountCreateInputSerializer,
        responses={201: SpecificAccountOutputSerializer, **problems(400, 404, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        data = SpecificAccountCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        version = specific_account_create(
            actor=request_actor(request),
            id_type=values["recipient"]["type"],
            id_number=values["recipient"]["id"],
            benefit_code=values["benefit"],
            account=values["account"],
            locked=values["locked"],
            end_date=values["end_date"],
        )
        return Response(
            SpecificAccountOutputSerializer(version).data, status=status.HTTP_201_CREATED
        )


class CaseworkerSpecificAccountCollectionApi(
    CaseworkerSpecificAccountListApi, CaseworkerSpecificAccountCreateApi
):
    """``/caseworker/specific-accounts``: GET lists one recipient's, POST creates."""


@extend_schema_serializer(component_name="SpecificAccountChange")
class SpecificAccountUpdateInputSerializer(StrictInputSerializer):
    account = AccountSerializer(required=False)
    locked = serializers.BooleanField(required=False)
    end_date = serializers.DateField(required=False, allow_null=True)


class CaseworkerSpecificAccountApi(CaseworkerApi):
    """``/caseworker/specific-accounts/{type}/{id}/{benefit}``: GET, PATCH, DELETE."""

    def _find(
        self, request: Request, id_type: str, id_number: str, benefit: str
    ) -> SpecificAccount:
        recipient = recipient_find(id_type, id_number)
        return selectors.specific_account_get_for_caseworker(
            actor=request_actor(request), recipient=recipient, benefit_code=benefit
        )

    @extend_schema(
        operation_id="caseworker_specific_account_get",
        summary="One specific account",
        description="The look-up is logged.",
        tags=[TAG_CASEWORKER],
        parameters=[OpenApiParameter("purpose", str)],
        responses={200: SpecificAccountOutputSerializer, **problems(404, 422)},
    )
    def get(self, request: Request, id_type: str, id_number: str, benefit: str) -> Response:
        _recipient, accounts = specific_accounts_lookup(
            actor=request_actor(request),
            id_type=id_type,
            id_number=id_number,
            purpose=request.query_params.get("purpose"),
        )
        found = next((a for a in accounts if a.benefit.code == benefit), None)
        if found is None:
            raise NotFound(
                _("There is no specific account for this recipient and benefit."),
                code="not_found",
            )
        return Response(SpecificAccountOutputSerializer(found).data)

    @extend_schema(
        operation_id="caseworker_specific_account_change",
        summary="Change a specific account",
        description="Account, lock and end date; a new version replaces the current one.",
        tags=[TAG_CASEWORKER],
        request=SpecificAccountUpdateInputSerializer,
        responses={200: SpecificAccountOutputSerializer, **problems(400, 404, 409, 422)},
    )
    def patch(self, request: Request, id_type: str, id_number: str, benefit: str) -> Response:
        found = self._find(request, id_type, id_number, benefit)
        data = SpecificAccountUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        version = specific_account_update(
            actor=request_actor(request),
            specific_account=found,
            account=values.get("account"),
            locked=values.get("locked"),
            end_date=values.get("end_date", UNSET),
        )
        return Response(SpecificAccountOutputSerializer(version).data)

    @extend_schema(
        operation_id="caseworker_specific_account_delete",
        summary="Delete a specific account",
        tags=[TAG_CASEWORKER],
        responses={204: None, **problems(404, 409, 422)},
    )
    def delete(self, request: Request, id_type: str, id_number: str, benefit: str) -> Response:
        found = self._find(request, id_type, id_number, benefit)
        specific_account_delete(actor=request_actor(request), specific_account=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Control lists ------------------------------------------------------------------------------


class CsvRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        # Only error documents come through here (the CSV itself is streamed by the view).
        return renderers.JSONRenderer().render(data)


CONTROL_COLUMNS = [
    "time",
    "object",
    "event",
    "recipient_type",
    "recipient_id",
    "benefit",
    "account",
    "locked",
    "end_date",
    "channel",
    "by",
    "version",
]


def _parse_day(value: str | None, field: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value or "")
    except ValueError:
        raise ValidationFailed(
            _("Give a date as YYYY-MM-DD."), field=field, code="invalid_date"
        ) from None


class ControlListApi(UserApi):
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="authority_control_list",
        summary="Control list (kontrolliste) as CSV",
        description=(
            "Every change in the period (dates inclusive) made by the authority's caseworkers, "
            "or to its specific accounts: NemKonto changes requested, activated and cancelled; "
            "specific accounts created, changed, deleted and expired. Accounts are masked. For "
            "the authority's local administrators and operators."
        ),
        tags=[TAG_CASEWORKER],
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, "The control list"),
            **problems(404, 422),
        },
    )
    def get(self, request: Request, code: str) -> StreamingHttpResponse:
        authority = selectors.control_list_authority(actor=request_actor(request), code=code)
        date_from = _parse_day(request.query_params.get("from"), "from")
        date_to = _parse_day(request.query_params.get("to"), "to")
        if date_to < date_from:
            raise ValidationFailed(
                _("The period ends before it begins."), field="to", code="invalid_period"
            )
        rows = selectors.control_list(authority=authority, date_from=date_from, date_to=date_to)
        cells = (
            [
                row.at.isoformat(),
                row.object,
                row.event,
                row.recipient_type,
                row.recipient_id,
                row.benefit,
                row.account,
                row.locked,
                row.end_date,
                row.channel,
                row.by,
                row.version,
            ]
            for row in rows
        )
        response = StreamingHttpResponse(
            csv_lines(CONTROL_COLUMNS, cells), content_type="text/csv; charset=utf-8"
        )
        name = f"kontrolliste-{authority.code}-{date_from}-{date_to}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# --- Letters (operators) --------------------------------------------------------------------------


@extend_schema_serializer(component_name="ActivationLetter")
class LetterOutputSerializer(serializers.Serializer[ActivationLetter]):
    id = serializers.IntegerField()
    status = serializers.CharField()
    addressee = serializers.CharField()
    authority = serializers.CharField(source="nemkonto.authority.name")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    printed_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    pdf = serializers.SerializerMethodField()

    def get_pdf(self, obj: ActivationLetter) -> str:
        from django.urls import reverse

        return reverse("registry-letter-pdf", args=[obj.pk])


class LetterListApi(UserApi):
    pagination_class = cursor_pagination("created_at")

    @extend_schema(
        operation_id="letters_list",
        summary="Activation letters to print",
        description="Operators only. `status`: unprinted, printed or sent.",
        tags=[TAG_OPERATORS],
        parameters=[OpenApiParameter("status", str), *CURSOR_PARAMETERS],
        responses={200: LetterOutputSerializer(many=True), **problems(422)},
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in ActivationLetter.Status.values:
            raise ValidationFailed(
                _("The status must be unprinted, printed or sent."),
                field="status",
                code="invalid_choice",
            )
        letters = selectors.letter_list(actor=request_actor(request), status=wanted)
        return paginated(self, request, letters, LetterOutputSerializer)


@extend_schema_serializer(component_name="LettersMark")
class LettersMarkInputSerializer(StrictInputSerializer):
    ids = serializers.ListField(child=serializers.IntegerField(), max_length=1000)
    status = serializers.ChoiceField(choices=["printed", "sent"])


@extend_schema_serializer(component_name="LettersMarked")
class LettersMarkOutputSerializer(serializers.Serializer[Any]):
    changed = serializers.IntegerField()


class LettersMarkApi(UserApi):
    @extend_schema(
        operation_id="letters_mark",
        summary="Mark letters printed or sent",
        tags=[TAG_OPERATORS],
        request=LettersMarkInputSerializer,
        responses={200: LettersMarkOutputSerializer, **problems(400, 422)},
    )
    def post(self, request: Request) -> Response:
        data = LettersMarkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = letters_mark(
            actor=request_actor(request),
            letter_ids=data.validated_data["ids"],
            status=data.validated_data["status"],
        )
        return Response({"changed": changed})


class LetterPdfApi(UserApi):
    @extend_schema(
        operation_id="letter_pdf",
        summary="Download an activation letter (PDF)",
        description="Operators only: the letter carries the activation code.",
        tags=[TAG_OPERATORS],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, "The letter"),
            **problems(404),
        },
    )
    def get(self, request: Request, letter_id: int) -> FileResponse:
        letter = selectors.letter_get(actor=request_actor(request), letter_id=letter_id)
        if not letter.pdf:
            raise NotFound(_("The letter has no PDF."), code="not_found")
        return FileResponse(
            letter.pdf.open("rb"),
            content_type="application/pdf",
            filename=f"aktiveringsbrev-{letter.pk}.pdf",
        )
