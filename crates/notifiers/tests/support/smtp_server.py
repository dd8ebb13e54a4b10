"""A real SMTP server for the e-mail tests (aiosmtpd): STARTTLS required, AUTH PLAIN
required after TLS. Every message is parsed and written as JSON to OUTDIR/N.json.

Usage: smtp_server.py OUTDIR PORT CERT KEY USER PASSWORD [starttls|implicit [MECHS [SECRET]]]
("implicit": TLS from the first byte, as on port 465). MECHS: the AUTH mechanisms offered,
comma separated (default PLAIN; CRAM-MD5 checks the client's answer against SECRET). Each
record names the mechanism the client authenticated with.
"""
import email
import hashlib
import hmac
import email.policy
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

outdir, port, cert, key, user, password = sys.argv[1:7]
mode = sys.argv[7] if len(sys.argv) > 7 else "starttls"
mechs = (sys.argv[8] if len(sys.argv) > 8 else "PLAIN").split(",")
secret = sys.argv[9] if len(sys.argv) > 9 else ""
# Go's and Alertmanager's LOGIN clients expect these challenges.
SMTP.AuthLoginUsernameChallenge = "Username:"
SMTP.AuthLoginPasswordChallenge = "Password:"
count = 0


class Handler:
    async def auth_CRAM__MD5(self, server, args):
        challenge = f"<{os.getpid()}.{time.time_ns()}@fw.test>".encode()
        answer = await server.challenge_auth(challenge)
        if not isinstance(answer, bytes) or b" " not in answer:
            return AuthResult(success=False, handled=False)
        login, digest = answer.rsplit(b" ", 1)
        want = hmac.new(secret.encode(), challenge, hashlib.md5).hexdigest().encode()
        ok = login.decode() == user and hmac.compare_digest(digest, want)
        if ok:
            server.session.fw_mechanism = "CRAM-MD5"
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(login, b""))

    async def handle_DATA(self, server, session, envelope):
        global count
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            parts.append(
                {
                    "content_type": part.get_content_type(),
                    "charset": part.get_content_charset(),
                    "transfer_encoding": part.get("Content-Transfer-Encoding"),
                    "body": part.get_content(),
                }
            )
        content = envelope.content
        if isinstance(content, str):
            content = content.encode()
        raw_head, _, raw_body = content.partition(b"\r\n\r\n")
        boundary = (msg.get_boundary() or "").encode()
        if boundary:
            raw_body = raw_body.replace(boundary, b"BOUNDARY")
            raw_head = raw_head.replace(boundary, b"BOUNDARY")
        # Raw header lines (unfolded, sorted: Alertmanager writes its headers in Go's map
        # order), without the per-message Date and Message-Id.
        raw_headers = sorted(
            line
            for line in raw_head.decode("utf-8", "replace").replace("\r\n ", " ").split("\r\n")
            if not line.lower().startswith(("date:", "message-id:"))
        )
        record = {
            "raw_headers": raw_headers,
            "raw_body": raw_body.decode("utf-8", "replace"),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "helo": session.host_name,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "auth_mechanism": getattr(session, "fw_mechanism", None),
            "headers": {k: str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "parts": parts,
        }
        count += 1
        tmp = os.path.join(outdir, f"{count}.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(outdir, f"{count}.json"))
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    if ok:
        session.fw_mechanism = mechanism
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
# With implicit TLS aiosmtpd does not count the connection as TLS for AUTH; it is.
tls = (
    {"ssl_context": context, "auth_require_tls": False}
    if mode == "implicit"
    else {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
)
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=int(port),
    **tls,
    authenticator=authenticate,
    auth_required=True,
    auth_exclude_mechanism=[m for m in ("CRAM-MD5", "LOGIN", "PLAIN") if m not in mechs],
)
controller.start()
with open(os.path.join(outdir, "ready"), "w") as f:
    f.write("ready")
while True:
    time.sleep(3600)
