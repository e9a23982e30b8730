#!/usr/bin/env python3
"""Plant an aged certificate set for a certificate name, as if it had been issued
long ago: a self-signed EC certificate for NAMES, valid from DAYS_OLD days ago until
DAYS_LEFT days from now, written as CONFIG_DIR/archive/NAME/<n+1>/ with the usual
four files, then live/NAME is switched to it (rename of a symlink, like p11acme).
renew then finds it due by the one-third rule, while a freshly issued Pebble
certificate (5 years) is not.

usage: age_cert.py CONFIG_DIR NAME DAYS_OLD DAYS_LEFT DOMAIN...
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def main():
    conf, name, old, left = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    domains = sys.argv[5:]
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])])
    cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=old))
            .not_valid_after(now + datetime.timedelta(days=left))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), False)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    arch = os.path.join(conf, "archive", name)
    n = 1 + max([int(e) for e in os.listdir(arch) if e.isdigit()] or [0])
    d = os.path.join(arch, str(n))
    os.makedirs(d)
    for f, data, mode in (("cert.pem", pem, 0o644), ("chain.pem", b"", 0o644),
                          ("fullchain.pem", pem, 0o644),
                          ("privkey.pem", key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()), 0o600)):
        with open(os.open(os.path.join(d, f), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as fh:
            fh.write(data)
    live = os.path.join(conf, "live", name)
    tmp = live + ".aged.tmp"
    os.symlink("../archive/%s/%d" % (name, n), tmp)
    os.rename(tmp, live)
    print(n)


if __name__ == "__main__":
    main()
