"""A real SMTP server for tests (Debian's python3-aiosmtpd) on a free loopback port.

Prints `port=N`, then stores every message it accepts as DIR/<time>-<pid>-<n>.eml (the
bytes as received after SMTP dot-unstuffing; names sort in arrival order) beside a
.json with the envelope (mail_from, rcpt_tos). DIR/connections-<pid> holds how many SMTP
connections each worker process accepted. Recipients whose local part starts with
`tempfail` get `451 4.3.0 Mailbox temporarily unavailable`, with `reject`
`550 5.1.1 No such user here`. `--workers N` runs N processes on the one listening
socket (a Python process takes a few hundred messages per second).
"""
import argparse
import asyncio
import ctypes
import json
import os
import signal
import socket
import time

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("tempfail"):
            return "451 4.3.0 Mailbox temporarily unavailable"
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, "%020d-%d-%06d" % (time.time_ns(), os.getpid(), self.count))
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.content)
        os.rename(base + ".tmp", base + ".eml")  # a reader never sees half a message
        return "250 2.0.0 Message accepted for delivery"


class CountingSMTP(SMTP):
    connections = 0

    def connection_made(self, transport):
        CountingSMTP.connections += 1
        path = os.path.join(self.event_handler.directory, "connections-%d" % os.getpid())
        with open(path + ".tmp", "w") as f:
            f.write(str(CountingSMTP.connections))
        os.rename(path + ".tmp", path)
        super().connection_made(transport)


async def serve(sock, directory):
    handler = Handler(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: CountingSMTP(handler, decode_data=False, enable_SMTPUTF8=True, hostname="smtp-sink.test"),
        sock=sock)
    await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(512)
    sock.setblocking(False)
    parent = os.getpid()
    for _ in range(args.workers - 1):
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
            # A parent killed before the line above leaves this worker serving on the
            # port after an outage began; an orphan stops here instead.
            if os.getppid() != parent:
                os._exit(0)
            break
    else:
        # Only once the workers exist: a test that reads the port may kill us at once.
        print("port=%d" % sock.getsockname()[1], flush=True)
    asyncio.run(serve(sock, args.dir))


main()
