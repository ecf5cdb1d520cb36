"""Staff make teams, add people to them, name the members who approve the team's spend, and give
them projects here."""

from django import forms
from django.contrib import admin

from teams.models import Project, Team


class ProjectInline(admin.TabularInline):
    model = Project
    fields = ("name", "chosen_take")
    raw_id_fields = ("chosen_take",)
    extra = 0


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ("name", "members", "approvers")

    def clean(self):
        cleaned = super().clean()
        members = set(cleaned.get("members") or [])
        outsiders = [person.get_username() for person in cleaned.get("approvers") or []
                     if person not in members]
        if outsiders:
            self.add_error("approvers", f"Only members approve a team's spend: add "
                                        f"{', '.join(outsiders)} to the members, or untick them "
                                        "here.")
        return cleaned


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ("name", "member_count")
    search_fields = ("name", "members__username")
    filter_horizontal = ("members", "approvers")
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
