# A private SMTP server for the SMTP transport's tests (Debian's
# python3-aiosmtpd): every mail accepted is written to DIR as <n>.eml; a
# recipient whose local part starts with "reject" gets 550, with "busy" 451.
import itertools, os, sys
from aiosmtpd.controller import Controller

host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
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

c = Controller(Handler(), hostname=host, port=port)
c.start()
print("ready", flush=True)
# Runs until the test closes stdin (or dies).
sys.stdin.read()
c.stop()
