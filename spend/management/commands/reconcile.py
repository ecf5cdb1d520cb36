"""`manage.py reconcile --since YYYY-MM-DD [--until YYYY-MM-DD] [--fix]`: put the ledger beside
ShortAPI's own account of every job in the range and list each disagreement; with --fix, write
the correcting entries and apply ShortAPI's final states. It exits non-zero while disagreements
remain unfixed or ShortAPI did not answer about a job."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from spend import reconcile


def day(value):
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date: write it as YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = "Compare the ledger and job statuses with ShortAPI; --fix writes the corrections."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, type=day, help="First day, YYYY-MM-DD.")
        parser.add_argument("--until", type=day, help="Last day, YYYY-MM-DD (default: today).")
        parser.add_argument("--fix", action="store_true",
                            help="Write a correction for each disagreement about money and move "
                                 "jobs to the final state ShortAPI reports.")

    def handle(self, *args, since, until, fix, **options):
        report, fixed = reconcile.run(since, until, apply=fix)
        self.stdout.write(f"Asked ShortAPI about {len(report.checked)} job(s) from {since} to "
                          f"{until or 'today'}.")
        for shortapi_job_id, why in report.unanswered:
            self.stdout.write(f"No answer about ShortAPI job {shortapi_job_id}: {why}")
        for finding in report.findings:
            done = " [fixed]" if finding in fixed else ""
            self.stdout.write(f"Disagreement: {finding}{done}")
        if not report.findings:
            self.stdout.write(self.style.SUCCESS("Nothing to fix: the ledger agrees with ShortAPI."))
        elif fixed:
            self.stdout.write(self.style.SUCCESS(f"Fixed {len(fixed)}; each correction is in the "
                                                 "ledger, marked as a reconciliation."))
        unfixed = [f for f in report.findings if f not in fixed]
        if unfixed and not fix:
            self.stdout.write(f"{len(report.to_fix)} can be fixed: run again with --fix.")
        if unfixed or report.unanswered:
            raise CommandError(f"{len(unfixed)} disagreement(s) remain and ShortAPI did not "
                               f"answer about {len(report.unanswered)} job(s).")
