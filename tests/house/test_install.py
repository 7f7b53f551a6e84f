"""The README's production install serves Japanese: `pip install -e .` of a fresh checkout (no compiled
catalogues in it) into a fresh virtual environment compiles them, and /login is in Japanese.

Offline and quick: the checkout is a copy of this one's files without the ignored ones (so no .mo),
and the fresh environment borrows this one's installed libraries (a .pth line) and the system's build
tools instead of downloading them: `--no-deps --no-build-isolation`.
"""
from __future__ import annotations

import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]

CHECK = """
from portal import create_app
import portal
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + __import__("sys").argv[1], "SECRET_KEY": "x",
                  "PORTAL_INSECURE_HTTP": True})
page = app.test_client().get("/login").get_data(as_text=True)
print(portal.__file__)
print(page)
"""


def _fresh_checkout(target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPOSITORY,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPOSITORY / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def test_the_readme_install_compiles_the_catalogues_and_login_is_japanese(tmp_path):
    checkout, venv = tmp_path / "checkout", tmp_path / "venv"
    _fresh_checkout(checkout)
    assert not list(checkout.glob("portal/translations/*/LC_MESSAGES/*.mo"))
    # --system-site-packages: the build needs `wheel`, which the system has (Debian's python3-wheel).
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    packages = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    borrowed = site.getsitepackages() + [sysconfig.get_paths()["purelib"]]
    (Path(packages) / "borrowed.pth").write_text("\n".join(dict.fromkeys(borrowed)) + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "-e", str(checkout)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    assert sorted(p.parent.parent.name for p in checkout.glob("portal/translations/*/LC_MESSAGES/messages.mo")) == [
        "en", "ja"]
    served = subprocess.run([str(python), "-c", CHECK, str(tmp_path / "portal.sqlite3")], cwd=tmp_path,
                            capture_output=True, text=True)
    assert served.returncode == 0, served.stderr[-3000:]
    where, page = served.stdout.split("\n", 1)
    assert where.startswith(str(checkout))  # the installed copy answered, not this repository
    assert '<html lang="ja">' in page and "ログイン" in page and "Sign in" not in page
