"""An IMAP4rev1 server (RFC 3501) speaking the subset a support inbox poller uses.

Commands: CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN, UID FETCH <uid>
(BODY.PEEK[] / BODY[]), UID STORE <uid> +FLAGS (\\Seen), NOOP, LOGOUT.
Answers follow the RFC: untagged `*` data, a literal `{n}` for message bodies,
a tagged OK/NO/BAD. `drop_next(n)` closes the next n connections right after
the greeting (the server going away), for the retry tests.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import threading
from dataclasses import dataclass, field


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class ImapServer:
    def __init__(self, *, username: str = "support@ds1.test", password: str = "imap-pass",
                 uidvalidity: int = 1_767_225_600) -> None:
        self.username, self.password = username, password
        self.uidvalidity = uidvalidity
        self.messages: list[StoredMessage] = []
        self.commands: list[str] = []
        self._drops = 0
        self._next_uid = 1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------ scripting

    def deliver(self, raw: bytes) -> int:
        uid = self._next_uid
        self._next_uid += 1
        self.messages.append(StoredMessage(uid, raw))
        return uid

    def drop_next(self, connections: int) -> None:
        self._drops = connections

    def reset(self) -> None:
        self.messages.clear()
        self.commands.clear()
        self._drops = 0
        self._next_uid = 1

    # ------------------------------------------------------------ serving

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the IMAP contract server did not start within 10 s")

    def stop(self) -> None:
        assert self._loop is not None and self._server is not None and self._thread is not None
        server, loop = self._server, self._loop

        async def close() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(b"* OK [CAPABILITY IMAP4rev1] ds1 test IMAP ready\r\n")
            if self._drops > 0:
                self._drops -= 1
                writer.close()
                return
            authenticated = selected = False
            while line := await reader.readline():
                text = line.decode().rstrip("\r\n")
                self.commands.append(text)
                tag, _, rest = text.partition(" ")
                command, _, arguments = rest.partition(" ")
                command = command.upper()
                if command == "CAPABILITY":
                    writer.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                    writer.write(f"{tag} OK CAPABILITY completed\r\n".encode())
                elif command == "LOGIN":
                    user, password = shlex.split(arguments)
                    authenticated = (user, password) == (self.username, self.password)
                    writer.write((f"{tag} OK LOGIN completed\r\n" if authenticated else
                                  f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
                                 .encode())
                elif command == "SELECT" and authenticated:
                    selected = True
                    writer.write(self._select(tag))
                elif command == "UID" and selected:
                    writer.write(self._uid(tag, arguments))
                elif command == "NOOP":
                    writer.write(f"{tag} OK NOOP completed\r\n".encode())
                elif command == "LOGOUT":
                    writer.write(f"* BYE logging out\r\n{tag} OK LOGOUT completed\r\n".encode())
                    await writer.drain()
                    break
                else:
                    writer.write(f"{tag} BAD command unknown or not allowed now\r\n".encode())
                await writer.drain()
        finally:
            writer.close()

    def _select(self, tag: str) -> bytes:
        return (
            f"* {len(self.messages)} EXISTS\r\n* 0 RECENT\r\n"
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
            f"* OK [UIDVALIDITY {self.uidvalidity}] UIDs valid\r\n"
            f"* OK [UIDNEXT {self._next_uid}] Predicted next UID\r\n"
            f"{tag} OK [READ-WRITE] SELECT completed\r\n"
        ).encode()

    def _uid(self, tag: str, arguments: str) -> bytes:
        verb, _, rest = arguments.partition(" ")
        verb = verb.upper()
        if verb == "SEARCH" and rest.upper() == "UNSEEN":
            uids = " ".join(str(m.uid) for m in self.messages if "\\Seen" not in m.flags)
            return f"* SEARCH {uids}\r\n{tag} OK SEARCH completed\r\n".encode()
        found = re.match(r"(\d+) (.*)", rest)
        message = next((m for m in self.messages if found and m.uid == int(found.group(1))), None)
        if message is None or found is None:
            return f"{tag} OK {verb} completed\r\n".encode()  # RFC 3501: no such UID, no data
        sequence = self.messages.index(message) + 1
        if verb == "FETCH":
            if "BODY[]" in found.group(2).upper() and "PEEK" not in found.group(2).upper():
                message.flags.add("\\Seen")
            head = f"* {sequence} FETCH (UID {message.uid} BODY[] {{{len(message.raw)}}}\r\n"
            return head.encode() + message.raw + f")\r\n{tag} OK FETCH completed\r\n".encode()
        if verb == "STORE" and found.group(2).upper().startswith("+FLAGS"):
            message.flags.update(re.findall(r"\\\w+", found.group(2)))
            flags = " ".join(sorted(message.flags))
            return (f"* {sequence} FETCH (UID {message.uid} FLAGS ({flags}))\r\n"
                    f"{tag} OK STORE completed\r\n").encode()
        return f"{tag} BAD UID {verb} not supported\r\n".encode()
