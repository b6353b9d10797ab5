from django.urls import path

from portal.caseworker import views

app_name = "caseworker"

urlpatterns = [
    path("", views.home, name="home"),
    path("opslag/", views.lookup, name="lookup"),
    path("modtagere/<int:pk>/", views.recipient, name="recipient"),
    path("modtagere/<int:pk>/nemkonto/", views.nemkonto_change, name="nemkonto_change"),
    path("modtagere/<int:pk>/specifikke-konti/ny/", views.specific_create, name="specific_create"),
    path(
        "modtagere/<int:pk>/specifikke-konti/<str:benefit>/",
        views.specific_change,
        name="specific_change",
    ),
    path(
        "modtagere/<int:pk>/specifikke-konti/<str:benefit>/slet/",
        views.specific_delete,
        name="specific_delete",
    ),
    path("aktiveringsbreve/<int:letter_id>/", views.letter, name="letter"),
    path("aktiveringsbreve/<int:letter_id>/brev.pdf", views.letter_pdf, name="letter_pdf"),
]
