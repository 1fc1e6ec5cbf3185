"""Release packaging (issue 25): FyneApp.toml read by the fyne CLI's rules (`metadata.py`)
and the Linux tarball `fyne package -os linux` makes, unpacked and installed as users do
(`linux.py`). The checks that use them are in checks/package.py."""
