"""The banks' bulk NemKonto report under /api/v1/ (API.md, Banks; issue 5).

``nemkonto/bulk`` does not clash with ``nemkonto/<type>/<id>`` of ``registry.api_urls``: a type
there is 1 to 3 letters.
"""

from django.urls import path

from registry import bulk_api

urlpatterns = [
    path("nemkonto/bulk", bulk_api.BankBulkApi.as_view(), name="registry-bank-bulk"),
    path(
        "nemkonto/bulk/<int:job_id>",
        bulk_api.BankBulkJobApi.as_view(),
        name="registry-bank-bulk-job",
    ),
]
