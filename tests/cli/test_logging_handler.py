"""JsonLineHandler: one whole line per record, formatted before the handler's lock is taken."""

from __future__ import annotations

import io
import json
import logging
import threading

from bot.logging import JsonFormatter, JsonLineHandler


def _record(msg: str = "delivery", **fields: object) -> logging.LogRecord:
    record = logging.LogRecord("bot.intake", logging.INFO, __file__, 1, msg, (), None)
    record.fields = fields
    return record


def test_one_json_line_per_record() -> None:
    stream = io.StringIO()
    handler = JsonLineHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.handle(_record(delivery_id="d1", outcome="accepted"))
    handler.handle(_record(delivery_id="d2", outcome="duplicate"))
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["delivery_id"] for line in lines] == ["d1", "d2"]


def test_formatting_does_not_hold_the_lock() -> None:
    handler = JsonLineHandler(io.StringIO())
    held_while_formatting: list[bool] = []

    class Probe(JsonFormatter):
        def format(self, record: logging.LogRecord) -> str:
            # Another thread can take the lock while this one formats.
            result: list[bool] = []

            def try_lock() -> None:
                got = handler.lock.acquire(timeout=1)
                if got:
                    handler.lock.release()  # an RLock: released by the thread that took it
                result.append(got)

            probe = threading.Thread(target=try_lock)
            probe.start()
            probe.join()
            held_while_formatting.append(not result[0])
            return super().format(record)

    handler.setFormatter(Probe())
    handler.handle(_record())
    assert held_while_formatting == [False]


def test_a_failing_formatter_writes_nothing_and_does_not_raise(monkeypatch) -> None:
    stream = io.StringIO()
    handler = JsonLineHandler(stream)
    errors: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)

    class Broken(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            raise TypeError("boom")

    handler.setFormatter(Broken())
    assert handler.handle(_record()) is True
    assert stream.getvalue() == "" and len(errors) == 1


def test_httpx_request_lines_are_not_logged_at_info() -> None:
    import logging

    from bot.logging import configure_logging

    configure_logging("INFO")
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
    assert logging.getLogger("bot.reconcile").isEnabledFor(logging.INFO)
