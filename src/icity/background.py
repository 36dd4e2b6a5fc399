"""The platform's background work, run once per database: by `icity serve` (in its main
process, however many API workers it has) unless ICITY_BACKGROUND_IN_SERVER=false, or by
`icity worker`. Each task is a thread with start() and stop()."""

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
    ]
    if settings.redis_url:  # pushes taken by the API workers wake the work here at once
        tasks.append(RedisWakeups(settings.redis_url))
    if settings.mqtt_url:
        from icity.services.mqtt_ingest import MqttIngest

        tasks.append(MqttIngest(settings.mqtt_url, database_url=database_url))
    return tasks
