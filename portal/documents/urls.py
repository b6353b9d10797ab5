"""Printable documents, under /dokumenter/ (namespace ``portal:documents``)."""

from django.urls import path

from portal.documents import views

app_name = "documents"

urlpatterns = [
    path(
        "betalinger/<int:payment_id>/checkinformation.pdf",
        views.cheque_information,
        name="cheque-information",
    ),
    path(
        "aktiveringsbreve/<int:letter_id>/dokumentation.pdf",
        views.documentation_form,
        name="documentation-form",
    ),
]
