// A subscription's live view: the API's own SSE stream (the session cookie is its credential),
// one line per changed entity, newest first. EventSource reconnects by itself with Last-Event-ID.
"use strict";

(function () {
  const list = document.getElementById("live-events");
  const state = document.getElementById("live-state");
  const empty = document.getElementById("live-empty");
  const KEPT = 50;
  const IDENTITY = new Set(["id", "type", "city", "informationSystem", "observedAt", "modifiedAt", "location", "@context"]);

  function summary(entity) {
    return Object.keys(entity)
      .filter((name) => !IDENTITY.has(name))
      .map((name) => {
        const value = entity[name];
        const shown = value !== null && typeof value === "object" ? ("value" in value ? value.value : JSON.stringify(value)) : value;
        return name + " = " + shown;
      })
      .join(", ");
  }

  function add(notification, eventId) {
    for (const entity of notification.data || []) {
      const item = document.createElement("li");
      item.dataset.entity = entity.id;
      item.dataset.eventId = eventId;
      const time = document.createElement("time");
      time.dateTime = notification.notifiedAt;
      time.textContent = notification.notifiedAt.slice(11, 19) + " UTC";
      const id = document.createElement("code");
      id.textContent = entity.id;
      const values = document.createElement("span");
      values.className = "values";
      values.textContent = summary(entity);
      item.append(time, " ", id, " ", values);
      list.prepend(item);
    }
    while (list.children.length > KEPT) list.lastElementChild.remove();
    empty.hidden = list.children.length > 0;
  }

  const source = new EventSource(list.dataset.url);
  source.addEventListener("open", () => { state.textContent = "Connected: waiting for changes."; });
  source.addEventListener("notification", (event) => add(JSON.parse(event.data), event.lastEventId));
  source.addEventListener("error", () => {
    // CLOSED: refused (paused, expired, signed out); otherwise EventSource tries again by itself
    state.textContent = source.readyState === EventSource.CLOSED ? "The stream is closed: reload the page." : "Reconnecting…";
  });
  window.addEventListener("pagehide", () => source.close());
})();
