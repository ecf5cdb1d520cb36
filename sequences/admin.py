"""Staff see sequences, their takes and their exports here; people make and change them on their
own pages."""

from django.contrib import admin

from sequences.models import Export, Sequence, SequenceTake


class TakeInline(admin.TabularInline):
    model = SequenceTake
    fields = ("position", "job", "trim_start", "trim_end", "fps", "length")
    readonly_fields = ("fps", "length")
    raw_id_fields = ("job",)
    extra = 0


class ExportInline(admin.StackedInline):
    model = Export
    fields = ("status", "progress", "file", "error", "requested_by", "queued_at", "started_at",
              "finished_at", "duration")
    readonly_fields = fields
    can_delete = False
    extra = 0


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "owner", "updated_at")
    list_filter = ("project__team",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("project", "owner")
    inlines = [TakeInline, ExportInline]
