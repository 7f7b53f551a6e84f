"""The one build step pyproject.toml cannot declare: compiling the message catalogues (.po → .mo).

The .mo files are not in the repository (they are built, and six branches editing the catalogues
would conflict on binary files). Without them an installed portal serves English under
<html lang="ja">. So every install compiles them: a normal install into the built package, an
editable install (`pip install -e .`, the README's way) into the source tree it runs from.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    """build_py, then every portal/translations/<locale>/LC_MESSAGES/messages.po compiled beside it."""

    def run(self):
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        source = Path(self.get_package_dir("portal")) / "translations"
        target = source if getattr(self, "editable_mode", False) else Path(self.build_lib) / "portal" / "translations"
        for po_file in sorted(source.glob("*/LC_MESSAGES/messages.po")):
            mo_file = target / po_file.relative_to(source).with_suffix(".mo")
            mo_file.parent.mkdir(parents=True, exist_ok=True)
            with po_file.open("rb") as handle:
                catalogue = read_po(handle)
            with mo_file.open("wb") as handle:
                write_mo(handle, catalogue, use_fuzzy=False)


setup(cmdclass={"build_py": BuildWithCatalogues})
