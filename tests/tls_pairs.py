"""Certificates and their keys for the HTTPS tests, made here with the openssl command (the
standard library reads them but cannot make them; the CI runner and Debian have openssl).
EC P-256 keys: made in milliseconds."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path


@functools.cache
def pair(name: str = "lab2", algorithm: str = "ec") -> tuple[str, str]:
    """(certificate PEM, unencrypted private key PEM), self-signed for `name`; cached per name."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise RuntimeError("the HTTPS tests need the openssl command (apt-get install openssl)")
    key_options = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if algorithm == "ec" else ["-newkey", "rsa:2048"]
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
        subprocess.run([openssl, "req", "-x509", *key_options, "-nodes", "-keyout", str(key), "-out", str(cert),
                        "-days", "2", "-subj", f"/CN={name}"], check=True, capture_output=True)
        return cert.read_text(encoding="ascii"), key.read_text(encoding="ascii")
