"""The platform's background work, run once per database: by `icity serve` (in its main
process, however many API workers it has) unless ICITY_BACKGROUND_IN_SERVER=false, or by
`icity worker` (several may run on one PostgreSQL database: each task claims its work there — harvests
under an advisory lock, webhooks and commands with leases and SKIP LOCKED, alarms under a row lock,
MQTT through a shared subscription). Each task is a thread with start() and stop()."""

from __future__ import annotations

from typing import Protocol

from icity.config import Settings


class BackgroundTask(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def background_tasks(settings: Settings, database_url: str | None = None) -> list[BackgroundTask]:
    import icity.ngsi_ld.notifications  # noqa: F401  the NGSI-LD door renders its subscriptions' notifications
    from icity.services.alarm_evaluator import AlarmEvaluator
    from icity.services.changes import ChangeLogPruner, RedisWakeups
    from icity.services.command_dispatcher import CommandDispatcher
    from icity.services.observation_retention import ObservationUpkeep
    from icity.services.openings import OpeningClock
    from icity.services.scheduler import HarvestScheduler
    from icity.services.webhooks import WebhookDispatcher

    tasks: list[BackgroundTask] = [
        HarvestScheduler(database_url),
        AlarmEvaluator(database_url),
        WebhookDispatcher(database_url),
        CommandDispatcher(database_url, settings.mqtt_url),  # HTTP commands need no broker
        ChangeLogPruner(database_url),
        OpeningClock(database_url),
        ObservationUpkeep(database_url),  # partitions ahead, retention
    ]
    if settings.redis_url:  # pushes taken by the API workers wake the work here at once
        tasks.append(RedisWakeups(settings.redis_url))
    if settings.mqtt_url:
        from icity.services.mqtt_ingest import SESSION_EXPIRY_S, MqttIngest

        client_id = f"icity-ingest-{settings.worker_id}" if settings.worker_id else None
        tasks.append(MqttIngest(settings.mqtt_url, database_url=database_url, client_id=client_id, session_expiry_s=SESSION_EXPIRY_S))
    simulator = demo_simulator(settings, database_url)
    if simulator is not None:
        tasks.append(simulator)
    return tasks


def demo_simulator(settings: Settings, database_url: str | None = None) -> BackgroundTask | None:
    """The demo's sensors, kept reporting (icity.demo.simulator): on the demo's database only, unless
    ICITY_DEMO_SIMULATOR=false. It pushes to the API where `icity serve` listens."""
    from icity.config import served_url
    from icity.db.engine import new_session
    from icity.demo.simulator import DemoSimulator, simulator_enabled

    if not settings.demo_simulator:
        return None
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with new_session(database_url) as session:
            if not simulator_enabled(session, settings.demo_simulator):
                return None
    except SQLAlchemyError:  # a database not yet migrated is no demo
        return None
    return DemoSimulator(database_url, served_url(settings.host, settings.port), settings.mqtt_url)
