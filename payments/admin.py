from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from payments.models import BankClosure


@admin.register(BankClosure)
class BankClosureAdmin(admin.ModelAdmin):
    list_display = ("date", "reason", "created_by", "created_at")
    date_hierarchy = "date"
    search_fields = ("reason",)
    ordering = ("-date",)
    readonly_fields = ("created_by", "created_at")
    list_select_related = ("created_by",)

    def save_model(
        self, request: HttpRequest, obj: BankClosure, form: ModelForm, change: bool
    ) -> None:
        if not change and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
