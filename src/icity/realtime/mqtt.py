"""The MQTT broker (Mosquitto), as the platform's background work uses it.

`BrokerConnection` is one paho MQTT 5 client subscribed to one topic filter — again after
every reconnection, which paho retries in the background — through a shared subscription
(``$share/<group>/…``) so that `icity serve` and `icity worker` each get a message once.
MQTT does not tell a subscriber who published: messages carry their provider token as the
MQTT 5 user property ``authorization: Bearer icp_…`` (`bearer_token`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)


def broker_address(url: str) -> dict[str, Any]:
    """mqtt://[user[:password]@]host[:port] (1883), or mqtts:// (TLS, 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"ICITY_MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883, not {parts.scheme or url!r}")
    return {
        "host": parts.hostname,
        "port": parts.port or (8883 if parts.scheme == "mqtts" else 1883),
        "tls": parts.scheme == "mqtts",
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }


def bearer_token(message: mqtt.MQTTMessage) -> str | None:
    """The provider token a message carries as the MQTT 5 user property authorization = 'Bearer icp_…'."""
    token = None
    for name, value in getattr(message.properties, "UserProperty", None) or []:
        if name.lower() == "authorization":
            scheme, _, credentials = value.strip().partition(" ")
            token = credentials.strip() if scheme.lower() == "bearer" else None
    return token


def publish_properties(token: str) -> Properties:
    """Publish properties carrying a provider token (tests, tools written in Python)."""
    properties = Properties(PacketTypes.PUBLISH)
    properties.UserProperty = ("authorization", f"Bearer {token}")
    return properties


class BrokerConnection:
    """A client subscribed to `topic` (shared by `share_group`); `on_message` is called from paho's
    network thread and must return quickly; `on_connected` after each (re)subscription request."""

    def __init__(
        self,
        url: str,
        topic: str,
        on_message: Callable[[mqtt.MQTTMessage], None],
        *,
        share_group: str | None,
        client_name: str,
        client_id: str | None = None,
        receive_maximum: int | None = None,
        on_connected: Callable[[], None] | None = None,
        manual_ack: bool = False,
        session_expiry_s: int | None = None,
    ) -> None:
        self.address = broker_address(url)
        self.subscription = f"$share/{share_group}/{topic}" if share_group else topic
        self.subscribed = threading.Event()
        self._unsubscribed = threading.Event()
        self.receive_maximum = receive_maximum
        # persistent session (needs a stable client_id): the broker keeps what this client has not
        # acknowledged, and what its share of the subscription gets while it is away, for session_expiry_s
        self.session_expiry_s = session_expiry_s
        self.generation = 0  # +1 at each connection: an acknowledgement belongs to the connection it came on
        self._on_message_handler = on_message
        self._on_connected = on_connected
        self._stopping = False
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"{client_name}-{uuid.uuid4().hex[:12]}", protocol=mqtt.MQTTv5,
            manual_ack=manual_ack,
        )
        if self.address["username"]:
            self._client.username_pw_set(self.address["username"], self.address["password"])
        if self.address["tls"]:
            self._client.tls_set()
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_subscribe = self._subscribed
        self._client.on_unsubscribe = lambda *_args: self._unsubscribed.set()
        self._client.on_message = self._message

    def start(self) -> None:
        """Connect in the background, retrying until the broker answers."""
        properties = Properties(PacketTypes.CONNECT)
        if self.receive_maximum:
            properties.ReceiveMaximum = self.receive_maximum
        if self.session_expiry_s:
            properties.SessionExpiryInterval = self.session_expiry_s
        self._client.connect_async(
            self.address["host"], self.address["port"], keepalive=30, properties=properties,
            clean_start=not self.session_expiry_s,
        )  # fmt: skip
        self._client.loop_start()

    def unsubscribe(self, timeout_s: float = 5.0) -> None:
        """Ask the broker to send nothing more (a clean stop of a persistent session): every message it
        sent before its answer has arrived once this returns."""
        if self._client.is_connected():
            self._unsubscribed.clear()
            self._client.unsubscribe(self.subscription)
            self._unsubscribed.wait(timeout_s)

    def stop(self) -> None:
        """Disconnect; a persistent session ends too (a clean stop has acknowledged what it stored; a
        session left behind would keep taking its share of the messages for nobody until it expires)."""
        self._stopping = True
        properties = None
        if self.session_expiry_s:
            properties = Properties(PacketTypes.DISCONNECT)
            properties.SessionExpiryInterval = 0
        self._client.disconnect(properties=properties)
        self._client.loop_stop()

    def wait_subscribed(self, timeout_s: float = 10.0) -> bool:
        return self.subscribed.wait(timeout_s)

    def is_connected(self) -> bool:
        return self._client.is_connected()

    def ack(self, mid: int, qos: int, generation: int) -> None:
        """Acknowledge a message taken with manual_ack (once it is stored). A message of an earlier
        connection is not acknowledged: its packet id may now name another one, and the broker sends
        it again on this connection (persistent session) anyway."""
        if qos > 0 and generation == self.generation:
            self._client.ack(mid, qos)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> mqtt.MQTTMessageInfo:
        return self._client.publish(topic, payload, qos=qos)

    # -- paho's network thread ----------------------------------------------------------------

    def _connected(self, client, _userdata, _flags, reason_code, _properties) -> None:
        host, port = self.address["host"], self.address["port"]
        if reason_code.is_failure:
            log.warning("MQTT broker %s:%s refused the connection: %s", host, port, reason_code)
            return
        self.generation += 1
        log.info("MQTT: connected to %s:%s, subscribing to %s", host, port, self.subscription)
        client.subscribe(self.subscription, qos=1)  # again after each reconnection
        if self._on_connected is not None:
            self._on_connected()

    def _subscribed(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("MQTT: the broker refused the subscription to %s: %s", self.subscription, reason_codes)
            return
        self.subscribed.set()

    def _disconnected(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self.subscribed.clear()
        if not self._stopping and reason_code != 0:
            log.warning("MQTT: lost the broker (%s); reconnecting", reason_code)

    def _message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        try:
            self._on_message_handler(message)
        except Exception:  # a publisher must never stop the network loop
            log.exception("MQTT: could not read a message on %s", getattr(message, "topic", "?"))
