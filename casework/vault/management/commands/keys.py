"""`casework keys status` and `casework keys rotate`: see casework/vault/rotation.py for the steps."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.vault import rotation


class Command(BaseCommand):
    help = "Show the encryption keys, or rotate them without stopping the application."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        status = commands.add_parser("status", help="List master and data keys.")
        status.add_argument(
            "--values",
            action="store_true",
            help="Also count the stored values each data key encrypts (reads every table).",
        )
        rotate = commands.add_parser(
            "rotate",
            help="Rotate keys: --master, then --data; --retire later, as a separate step.",
        )
        rotate.add_argument(
            "--master",
            action="store_true",
            help="Add a new master key (key file) and re-wrap every data key under it.",
        )
        rotate.add_argument(
            "--data",
            action="store_true",
            help="Make new data keys (the instance's and each agency's) and re-encrypt every "
            "encrypted value with its owner's new key.",
        )
        rotate.add_argument(
            "--retire",
            action="store_true",
            help="Delete old data keys once no readable value needs them any more.",
        )
        rotate.add_argument(
            "--batch-size",
            type=int,
            default=rotation.BATCH_SIZE,
            help=f"Rows per transaction (default {rotation.BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "status":
            self._status(count_values=options["values"])
        else:
            self._rotate(
                master=options["master"],
                data=options["data"],
                retire=options["retire"],
                batch_size=options["batch_size"],
            )

    def _status(self, *, count_values: bool) -> None:
        primary, master_ids, data_keys = rotation.key_status()
        in_use = {key.master_key_id for key in data_keys}
        self.stdout.write("Master keys:")
        for master_id in master_ids:
            notes = ["primary"] if master_id == primary else []
            if master_id not in in_use:
                notes.append("wraps no data key")
            self.stdout.write(f"  {master_id}  {', '.join(notes)}".rstrip())
        counts = rotation.count_values_by_key() if count_values else None
        self.stdout.write("Data keys:")
        for key in data_keys:
            owner = f"agency {key.agency_code}" if key.agency_code else "instance"
            line = (
                f"  #{key.pk}  {key.purpose:<5}  {owner:<18}  wrapped by {key.master_key_id}  "
                f"created {key.created_at:%Y-%m-%d %H:%M}  "
                f"{'primary' if key.is_primary else 'old'}"
            )
            if counts is not None and key.purpose == "data":
                line += f"  {counts.get(key.pk, 0)} values"
            self.stdout.write(line)
        if counts is not None:
            known = {key.pk for key in data_keys}
            orphans = sum(n for key_id, n in counts.items() if key_id not in known)
            if orphans:
                self.stdout.write(
                    self.style.WARNING(f"{orphans} values use a key that no longer exists.")
                )

    def _rotate(self, *, master: bool, data: bool, retire: bool, batch_size: int) -> None:
        if not (master or data or retire):
            raise CommandError("Say what to rotate: --master, --data or --retire.")
        if retire and (master or data):
            raise CommandError(
                "--retire is a later, separate step: run it after the rotation has finished "
                "and app servers have reloaded their keys."
            )
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        if master:
            master_id, rewrapped = rotation.rotate_master_key()
            if rewrapped:
                self.stdout.write(f"Re-wrapped {rewrapped} data keys under master key {master_id}.")
            else:
                self.stdout.write(
                    self.style.WARNING(
                        f"Every data key is already wrapped by {master_id}: add a new primary "
                        "master key to CASEWORK_MASTER_KEYS first."
                    )
                )
            self.stdout.write(
                "Keep the old master keys until no backup wrapped with them is still needed."
            )
        if data:
            new_keys, report = rotation.rotate_data_keys(batch_size=batch_size)
            ids = ", ".join(f"#{key.pk}" for key in new_keys)
            self.stdout.write(f"Data keys {ids} are now primary.")
            for label, count in sorted(report.rewritten.items()):
                self.stdout.write(f"  {label}: {count} values re-encrypted")
            for label, count in sorted(report.unreadable.items()):
                self.stdout.write(
                    self.style.WARNING(f"  {label}: {count} values unreadable, left as they were")
                )
            if report.skipped_changed:
                self.stdout.write(
                    f"  {report.skipped_changed} rows changed meanwhile, left for --retire"
                )
            self.stdout.write(
                f"Run `casework keys rotate --retire` in {int(rotation.SETTLE_SECONDS)} seconds "
                "or later to delete the old data keys."
            )
        if retire:
            try:
                retired = rotation.retire_data_keys(batch_size=batch_size)
            except rotation.RotationError as error:
                raise CommandError(str(error)) from error
            if retired:
                ids = ", ".join(f"#{pk}" for pk in retired)
                self.stdout.write(f"Deleted old data keys {ids}.")
            else:
                self.stdout.write("No old data keys to retire.")
