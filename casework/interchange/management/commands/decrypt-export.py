"""`casework decrypt-export FILE.cwx [-o DIRECTORY] [--password …]`: open an encrypted export.

The files inside (cases.csv and surveys.csv, or export.xlsx) are written into DIRECTORY (default:
a folder named after the file). They hold personal data: keep them only as long as needed.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.interchange.container import ContainerError, open_container


class Command(BaseCommand):
    help = "Decrypt a .cwx export made with --with-names."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The .cwx file")
        parser.add_argument("-o", "--output", help="Directory to write the files into")
        parser.add_argument("--password", default="", help="Its password (asked if not given)")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["file"])
        if not source.is_file():
            raise CommandError(f"No file {source}.")
        password = options["password"] or os.environ.get("CASEWORK_EXPORT_PASSWORD", "")
        if not password:
            password = getpass.getpass("Password: ")
        try:
            files = open_container(source.read_bytes(), password)
        except ContainerError as error:
            raise CommandError(str(error.message)) from error
        target = Path(options["output"]) if options["output"] else source.with_suffix("")
        target.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            # Names come from inside the file: keep them inside the target directory.
            path = target / Path(name).name
            path.write_bytes(content)
            os.chmod(path, 0o600)
            self.stdout.write(str(path))
