"""The simulated school's test CA and server certificates, made with the `openssl` CLI.

EC P-256 throughout. The CA plays every public CA for the simulated internet: the agent, the
probes and the tests trust only it, so no real certificate is ever involved.
"""

from __future__ import annotations

import ipaddress
import os
import secrets

from netns import run

CA_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = {cn}
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

LEAF_EXTENSIONS = """\
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {sans}
"""


def _write(path: str, text: str, mode=0o644):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as f:
        f.write(text)


def _new_key(path: str):
    run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", path])
    os.chmod(path, 0o600)


def make_ca(directory: str, school_name: str) -> tuple[str, str]:
    """Creates ca.pem / ca.key in `directory`; returns their paths."""
    cnf, key, pem = (os.path.join(directory, n) for n in ("ca.cnf", "ca.key", "ca.pem"))
    _write(cnf, CA_CONFIG.format(cn=f"schoolnet simulated test CA ({school_name})"[:64]))
    _new_key(key)
    # Ten years: tests may move the clock forward (faketime) without the CA expiring.
    run(["openssl", "req", "-x509", "-config", cnf, "-key", key, "-sha256", "-days", "3650",
         "-out", pem])
    os.unlink(cnf)
    os.chmod(pem, 0o644)
    return pem, key


def make_server_cert(directory: str, stem: str, ca: tuple[str, str], names: list[str],
                     addresses: list[str]) -> tuple[str, str]:
    """Issues `stem`.pem / `stem`.key for the given DNS names and IP addresses (SANs); the first
    name (or address) is also the subject CN."""
    ca_pem, ca_key = ca
    key, csr, pem, ext = (os.path.join(directory, f"{stem}{s}")
                          for s in (".key", ".csr", ".pem", ".ext"))
    sans = [f"DNS:{n}" for n in names] + [f"IP:{ipaddress.IPv4Address(a)}" for a in addresses]
    _write(ext, LEAF_EXTENSIONS.format(sans=", ".join(sans)))
    _new_key(key)
    cn = (names or addresses)[0]
    run(["openssl", "req", "-new", "-key", key, "-subj", f"/CN={cn}", "-out", csr])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-sha256",
         "-days", "3650", "-set_serial", "0x" + secrets.token_hex(16), "-extfile", ext,
         "-extensions", "leaf", "-out", pem])
    os.unlink(csr)
    os.unlink(ext)
    os.chmod(pem, 0o644)
    return pem, key
