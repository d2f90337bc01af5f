#!/usr/bin/env python3
"""A real SMTP server for tests (the sign-in server's mail goes here).

Listens on 127.0.0.1 (aiosmtpd, from PyPI: tools/py-env.sh makes a venv with
it) and writes every message it receives to DIR as <n>.eml (the raw RFC 5322
bytes, n = 1, 2, ...) with <n>.json beside it: {"from": ..., "to": [...]}
from the SMTP envelope. Each file is written under a temporary name and
renamed, so a reader never sees half a file; the .json is renamed first, so
once <n>.eml exists both are complete.

After it is listening it prints exactly one line, `ready <port>`, to stdout.
Exits cleanly (status 0) on SIGTERM or SIGINT.

Usage: python tools/smtp-sink.py --port N --dir D     (--port 0: a free port)
"""
import argparse
import asyncio
import json
import os
import re
import signal
import sys
import threading

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.lock = threading.Lock()
        # Continue after what is already in the folder: never overwrite.
        nums = [int(m.group(1)) for f in os.listdir(directory)
                if (m := re.fullmatch(r"(\d+)\.(eml|json)", f))]
        self.next = max(nums, default=0) + 1

    def _write(self, name, data):
        tmp = os.path.join(self.dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.dir, name))

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = self.next
            self.next += 1
        meta = {"from": envelope.mail_from, "to": list(envelope.rcpt_tos)}
        self._write(f"{n}.json", json.dumps(meta).encode())
        self._write(f"{n}.eml", envelope.original_content or envelope.content)
        return "250 OK"


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    handler = Sink(args.dir)
    loop = asyncio.get_running_loop()
    # decode_data=False keeps the message bytes exactly as sent.
    server = await loop.create_server(
        lambda: SMTP(handler, decode_data=False, hostname="smtp-sink"),
        host="127.0.0.1", port=args.port)
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready {port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
