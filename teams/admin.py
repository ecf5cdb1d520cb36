"""Staff make teams, add people to them and give them projects here."""

from django.contrib import admin

from teams.models import Project, Team


class ProjectInline(admin.TabularInline):
    model = Project
    fields = ("name", "chosen_take")
    raw_id_fields = ("chosen_take",)
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "member_count")
    search_fields = ("name", "members__username")
    filter_horizontal = ("members",)
    inlines = [ProjectInline]

    @admin.display(description="members")
    def member_count(self, team):
        return team.members.count()


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "owner", "created_at")
    list_filter = ("team",)
    search_fields = ("name",)
    raw_id_fields = ("owner", "chosen_take")
