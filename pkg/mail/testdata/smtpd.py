# A private SMTP server for the SMTP transport's tests (Debian's
# python3-aiosmtpd): every mail accepted is written to DIR as <n>.eml; a
# recipient whose local part starts with "reject" gets 550, with "busy" 451.
# With three more arguments, USER:PASSWORD CERT.pem KEY.pem, the server
# offers STARTTLS with that certificate and requires it, then AUTH (PLAIN or
# LOGIN) with exactly those credentials: 535 to any other, 530 to mail
# before AUTH, as a provider's submission port does.
import itertools, os, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
creds = sys.argv[4].split(":", 1) if len(sys.argv) > 4 else None
counter = itertools.count(1)

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(counter)
        tmp = os.path.join(out, "%d.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(out, "%d.eml" % n))
        return "250 Message accepted"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and creds is not None and \
        auth_data.login.decode() == creds[0] and auth_data.password.decode() == creds[1]
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

kwargs = {}
if creds is not None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(sys.argv[5], sys.argv[6])
    if len(sys.argv) > 7 and sys.argv[7] == "implicit":
        # aiosmtpd counts only STARTTLS as TLS; this connection is TLS from its first byte.
        kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False, ssl_context=tls)
    else:
        kwargs = dict(authenticator=authenticator, auth_required=True, tls_context=tls, require_starttls=True)
c = Controller(Handler(), hostname=host, port=port, **kwargs)
c.start()
print("ready", flush=True)
# Runs until the test closes stdin (or dies).
sys.stdin.read()
c.stop()
