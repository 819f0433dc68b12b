"""The HTTP collector: client apps post events, acknowledged once Kafka has them.

``learnstream collect`` serves :func:`create_app`; ``learnstream keys`` manages the write
keys. See docs/sending-events.md.
"""

from collector.batch import Client, Examined, examine
from collector.body import ParsedBody, parse_body, read_body
from collector.errors import (
    CollectorError,
    CollectorOverloaded,
    RequestRejected,
    UnknownWriteKey,
)
from collector.keys import WriteKey, create_key, list_keys, revoke_keys
from collector.producer import Producer, Record
from collector.service import Collector, create_app
from collector.store import Store

__all__ = [
    "Client",
    "Collector",
    "CollectorError",
    "CollectorOverloaded",
    "Examined",
    "ParsedBody",
    "Producer",
    "Record",
    "RequestRejected",
    "Store",
    "UnknownWriteKey",
    "WriteKey",
    "create_app",
    "create_key",
    "examine",
    "list_keys",
    "parse_body",
    "read_body",
    "revoke_keys",
]
